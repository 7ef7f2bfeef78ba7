package dev.loupe.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.ingest.cli.LoupeCli;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `loupe index` over the sample shape images with the trained model, then searches that only
 * work if the captions are right: a phrase query finds exactly the images that show it.
 */
class ShapesCaptionTest {
  static final Path REPO = Path.of(System.getProperty("loupe.testdata")).getParent();
  static final Path MODEL = REPO.resolve("models/shapes-tiny");
  static final Path EXAMPLES = REPO.resolve("examples/images");

  static Map<String, String> trueCaptions() throws IOException {
    Map<String, String> truth = new TreeMap<>();
    new ObjectMapper().readTree(EXAMPLES.resolve("captions.json").toFile()).fields()
        .forEachRemaining(e -> truth.put(e.getKey(), e.getValue().asText()));
    return truth;
  }

  static Set<String> hits(Path index, String query) throws IOException {
    return LuceneCaptionIndex.search(index, query, 100, false).stream()
        .map(h -> Path.of(h.path()).getFileName().toString())
        .collect(Collectors.toSet());
  }

  @Test
  void phraseSearchFindsExactlyTheImagesThatShowIt(@TempDir Path dir) throws IOException {
    Path index = dir.resolve("index");
    assertEquals(0, LoupeCli.run("index", "--model", MODEL.toString(), "--lucene", index.toString(), "--threads", "2",
        "--max-new-tokens", "48", EXAMPLES.toString()));
    Map<String, String> truth = trueCaptions();
    assertEquals(truth.size(), LuceneCaptionIndex.count(index));
    for (String phrase : Set.of("red circle", "blue", "triangle", "star")) {
      Set<String> expected = truth.entrySet().stream()
          .filter(e -> e.getValue().toLowerCase().contains(phrase))
          .map(Map.Entry::getKey)
          .collect(Collectors.toSet());
      assertFalse(expected.isEmpty(), "no sample image shows " + phrase);
      assertEquals(expected, hits(index, "caption:\"" + phrase + "\""), phrase);
    }
  }
}
