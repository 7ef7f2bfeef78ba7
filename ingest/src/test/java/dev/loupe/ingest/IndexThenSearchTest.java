package dev.loupe.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.ingest.cli.LoupeCli;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.store.FSDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `loupe index` over the sample images with the tiny random model, then `loupe search`. */
class IndexThenSearchTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path TINY = TESTDATA.resolve("golden/models/tiny-tied");
  static final Path IMAGES = TESTDATA.resolve("images");

  static List<String> terms(String text) throws IOException {
    try (StandardAnalyzer analyzer = new StandardAnalyzer();
        TokenStream stream = analyzer.tokenStream("caption", text)) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      stream.reset();
      List<String> out = new java.util.ArrayList<>();
      while (stream.incrementToken()) out.add(term.toString());
      stream.end();
      return out;
    }
  }

  @Test
  void indexHoldsOneDocumentPerImageAndFindsItsCaption(@TempDir Path dir) throws IOException {
    Path lucene = dir.resolve("index");
    List<Path> images = ImageFiles.expand(List.of(IMAGES)).images().stream().map(ImageFiles.ImageFile::path).toList();
    assertTrue(images.size() >= 10, "sample images: " + images.size());
    int exit =
        LoupeCli.run(
            "index", "--model", TINY.toString(), "--lucene", lucene.toString(), "--threads", "2",
            "--max-new-tokens", "8", "--max-pixels", "40960", IMAGES.toString());
    assertEquals(0, exit);

    Set<String> paths = new HashSet<>();
    try (FSDirectory directory = FSDirectory.open(lucene);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      assertEquals(images.size(), reader.numDocs());
      var stored = reader.storedFields();
      String searchedPath = null;
      String word = null;
      for (int doc = 0; doc < reader.maxDoc() && word == null; doc++) {
        var document = stored.document(doc);
        paths.add(document.get("path"));
        assertFalse(document.get("caption") == null, "caption field of " + document.get("path"));
        assertFalse(document.get("keywords") == null);
        assertFalse(document.get("ocr") == null);
        List<String> words = terms(document.get("caption"));
        if (!words.isEmpty()) {
          word = words.get(0);
          searchedPath = document.get("path");
        }
      }
      for (int doc = 0; doc < reader.maxDoc(); doc++) paths.add(stored.document(doc).get("path"));
      assertTrue(word != null, "no caption with a searchable word");

      List<LuceneCaptionIndex.Hit> hits = LuceneCaptionIndex.search(lucene, "caption:" + QueryParser.escape(word), 1000, false);
      String expected = searchedPath;
      assertTrue(hits.stream().anyMatch(h -> h.path().equals(expected)), word + " did not find " + expected);
    }
    for (Path image : images) assertTrue(paths.contains(image.toAbsolutePath().normalize().toString()), image + " not indexed");
  }

  @Test
  void captionCommandPrintsOneJsonLinePerImage(@TempDir Path dir) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream original = System.out;
    int exit;
    picocli.CommandLine cli = new picocli.CommandLine(new LoupeCli());
    java.io.StringWriter out = new java.io.StringWriter();
    cli.setOut(new java.io.PrintWriter(out));
    exit =
        cli.execute(
            "caption", "--model", TINY.toString(), "--threads", "2", "--max-new-tokens", "6", "--max-pixels", "40960",
            "--preset", "caption,ocr", IMAGES.resolve("rocket.jpg").toString(), IMAGES.resolve("chelsea.jpg").toString());
    assertEquals(0, exit);
    String[] lines = out.toString().strip().split("\n");
    assertEquals(2, lines.length);
    ObjectMapper json = new ObjectMapper();
    Set<String> seen = new HashSet<>();
    for (String line : lines) {
      JsonNode doc = json.readTree(line);
      seen.add(Path.of(doc.get("path").asText()).getFileName().toString());
      assertTrue(doc.has("caption") && doc.has("ocr"), line);
      assertTrue(doc.get("loupe").get("generated_tokens").asInt() > 0, line);
    }
    assertEquals(Set.of("rocket.jpg", "chelsea.jpg"), seen);
  }

  @Test
  void bulkCommandWritesActionAndDocumentPairs(@TempDir Path dir) throws IOException {
    Path ndjson = dir.resolve("bulk.ndjson");
    int exit =
        LoupeCli.run(
            "bulk", "--model", TINY.toString(), "--index", "photos", "-o", ndjson.toString(), "--threads", "2",
            "--max-new-tokens", "4", "--max-pixels", "40960", IMAGES.resolve("rocket.jpg").toString());
    assertEquals(0, exit);
    List<String> lines = Files.readAllLines(ndjson, StandardCharsets.UTF_8);
    assertEquals(2, lines.size());
    ObjectMapper json = new ObjectMapper();
    assertEquals("photos", json.readTree(lines.get(0)).get("index").get("_index").asText());
    JsonNode doc = json.readTree(lines.get(1));
    assertTrue(doc.has("caption") && doc.has("keywords"), lines.get(1));
  }
}
