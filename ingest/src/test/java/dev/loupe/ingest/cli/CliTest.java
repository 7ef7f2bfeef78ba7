package dev.loupe.ingest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The CLI as a person meets it: help, exit codes, output order, what is skipped, search answers. */
class CliTest {
  static final Path REPO = Path.of(System.getProperty("loupe.testdata")).getParent();
  static final Path SHAPES = REPO.resolve("models/shapes-tiny");
  static final Path EXAMPLES = REPO.resolve("examples/images");
  static final Path TINY = REPO.resolve("testdata/golden/models/tiny-tied");
  static final Path IMAGES = REPO.resolve("testdata/images");
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path shared;
  static Path shapesIndex;
  static Map<String, String> truth;

  record Run(int exit, String out, String err) {
    List<JsonNode> lines() throws IOException {
      List<JsonNode> out = new ArrayList<>();
      for (String line : this.out.strip().split("\n")) if (!line.isBlank()) out.add(JSON.readTree(line));
      return out;
    }
  }

  static Run run(String... args) {
    CommandLine cli = LoupeCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @BeforeAll
  static void indexTheShapes() throws IOException {
    truth = new TreeMap<>();
    JSON.readTree(EXAMPLES.resolve("captions.json").toFile()).fields()
        .forEachRemaining(e -> truth.put(e.getKey(), e.getValue().asText()));
    shapesIndex = shared.resolve("shapes-index");
    Run index = run("index", "--model", SHAPES.toString(), "--lucene", shapesIndex.toString(), "--threads", "2",
        "--max-new-tokens", "48", "--preset", "caption", EXAMPLES.toString());
    assertEquals(0, index.exit(), index.err());
  }

  @ParameterizedTest
  @ValueSource(strings = {"caption", "bulk", "index", "search", "embed", "options"})
  void everySubcommandPrintsHelpWithExitCodesAndExitsZero(String command) {
    for (String flag : List.of("--help", "-h")) {
      Run help = run(command, flag);
      assertEquals(0, help.exit(), command + " " + flag + ": " + help.err());
      assertTrue(help.out().startsWith("Usage: loupe " + command), help.out());
      assertTrue(help.out().contains("Exit codes:"), help.out());
      assertTrue(help.out().contains("3   the run finished but some images failed"), help.out());
    }
    assertEquals(0, run("--help").exit());
  }

  @Test
  void helpShowsTheDefaults() {
    String caption = run("caption", "--help").out().replaceAll("\\s+", " ");
    assertTrue(caption.contains("--max-new-tokens=<maxNewTokens> most tokens per text; a cut text has finish_reason \"length\" (default: 128)"), caption);
    assertTrue(caption.contains("(back-pressure) (default: 16)"), caption);
    assertTrue(caption.contains("Default preset: caption."), caption);
    assertTrue(run("bulk", "--help").out().contains("Default presets: caption,keywords."));
    assertTrue(run("index", "--help").out().contains("Default presets: caption,keywords,ocr."));
    assertTrue(run("search", "--help").out().replaceAll("\\s+", " ").contains("most hits to print (default: 10)"));
  }

  @Test
  void optionsListsTheNativeCatalogAndCaptionTakesAnyOfThem() {
    Run options = run("options");
    assertEquals(0, options.exit(), options.err());
    assertTrue(options.out().lines().anyMatch(l -> l.matches("max_batch_tokens +int32 +8192 +new tokens per prefill step")), options.out());
    assertTrue(options.out().contains("(rounded | exact)"), options.out());
    assertTrue(options.out().contains("(fast | generic)"), options.out());
    Run bad = run("caption", "--model", TINY.toString(), "--engine-option", "max_batch=1", IMAGES.resolve("rocket.jpg").toString());
    assertEquals(1, bad.exit());
    assertTrue(bad.err().contains("unknown option 'max_batch'"), bad.err());
  }

  @Test
  void badUsageExitsTwo() {
    Run bad = run("caption", "--model", TINY.toString(), "--no-such-option", "x.png");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("Unknown option: '--no-such-option'"), bad.err());
  }

  @Test
  void outputFollowsInputOrderWithFinishReasonsAndNamesWhatWasSkipped(@TempDir Path dir) throws IOException {
    Path folder = dir.resolve("photos");
    Files.createDirectories(folder);
    // Sorted first but slowest: many more visual tokens than the shapes, and a longer text.
    Files.copy(IMAGES.resolve("gen_photo_400x300.jpg"), folder.resolve("a_photo.jpg"));
    for (String name : truth.keySet()) Files.copy(EXAMPLES.resolve(name), folder.resolve(name));
    Files.writeString(folder.resolve("readme.txt"), "not an image");
    Files.write(folder.resolve("clip.mp4"), new byte[] {0, 0, 0, 24, 'f', 't', 'y', 'p'});

    Run run = run("caption", "--model", SHAPES.toString(), "--threads", "2", "--max-new-tokens", "48", folder.toString());
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> lines = run.lines();
    List<String> expectedOrder = new ArrayList<>(List.of("a_photo.jpg"));
    expectedOrder.addAll(truth.keySet());
    assertEquals(expectedOrder, lines.stream().map(l -> Path.of(l.get("path").asText()).getFileName().toString()).toList());
    for (JsonNode line : lines.subList(1, lines.size())) {
      String name = Path.of(line.get("path").asText()).getFileName().toString();
      assertEquals(truth.get(name), line.get("caption").asText(), name);
      assertEquals("stop", line.get("finish_reason").get("caption").asText(), line.toString());
    }
    assertTrue(run.err().contains("skipped 1 non-image file: " + folder.resolve("readme.txt")), run.err());
    assertTrue(run.err().contains("skipped 1 video (videos are not supported by `caption` yet): " + folder.resolve("clip.mp4")),
        run.err());

    Run cut = run("caption", "--model", SHAPES.toString(), "--threads", "2", "--max-new-tokens", "2",
        folder.resolve("shapes_02.jpg").toString());
    JsonNode line = cut.lines().get(0);
    assertEquals("length", line.get("finish_reason").get("caption").asText(), line.toString());
    assertEquals(2, line.get("loupe").get("generated_tokens").asInt());
  }

  @Test
  void aVideoArgumentFailsWithItsReasonAndExitsThree(@TempDir Path dir) throws IOException {
    Path clip = Files.write(dir.resolve("clip.webm"), new byte[] {0x1a, 0x45, (byte) 0xdf, (byte) 0xa3});
    Run run = run("caption", "--model", TINY.toString(), "--threads", "2", "--max-new-tokens", "2",
        IMAGES.resolve("rocket.jpg").toString(), clip.toString());
    assertEquals(3, run.exit(), run.err());
    List<JsonNode> lines = run.lines();
    assertEquals(2, lines.size());
    assertTrue(lines.get(0).has("caption"), lines.get(0).toString());
    assertEquals("unsupported: videos are not supported by `caption` yet", lines.get(1).get("error").asText());
    assertTrue(run.err().contains(clip + ": unsupported: videos are not supported by `caption` yet"), run.err());
  }

  static Set<String> hitNames(Run run) throws IOException {
    return run.lines().stream().map(l -> Path.of(l.get("path").asText()).getFileName().toString())
        .collect(Collectors.toCollection(TreeSet::new));
  }

  static Set<String> captionsWith(List<String> words, boolean all) {
    return truth.entrySet().stream()
        .filter(e -> {
          Set<String> captionWords = new HashSet<>(Arrays.asList(e.getValue().toLowerCase(Locale.ROOT).split("[^a-z]+")));
          return all ? captionWords.containsAll(words) : words.stream().anyMatch(captionWords::contains);
        })
        .map(Map.Entry::getKey)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void searchWordsMustAllMatchUnlessAny() throws IOException {
    Set<String> both = captionsWith(List.of("red", "star"), true);
    Set<String> either = captionsWith(List.of("red", "star"), false);
    assertTrue(both.size() >= 1 && either.size() > both.size(), both + " " + either);
    Run all = run("search", "--lucene", shapesIndex.toString(), "--limit", "100", "red star");
    assertEquals(0, all.exit(), all.err());
    assertEquals(both, hitNames(all));
    Run any = run("search", "--lucene", shapesIndex.toString(), "--limit", "100", "--any", "red star");
    assertEquals(either, hitNames(any));
  }

  @Test
  void searchSaysWhenNothingMatched() {
    Run none = run("search", "--lucene", shapesIndex.toString(), "zebra giraffe");
    assertEquals(0, none.exit());
    assertEquals("", none.out());
    assertTrue(none.err().contains("loupe: no hits for zebra giraffe (every word must match; --any for any word)"), none.err());
  }

  @Test
  void searchWithoutAnIndexSaysHowToMakeOneAndCreatesNothing(@TempDir Path dir) {
    Path missing = dir.resolve("no-index-here");
    Run run = run("search", "--lucene", missing.toString(), "red");
    assertEquals(1, run.exit());
    assertEquals("loupe: no Loupe index at " + missing + " (create one with `./loupe index`)", run.err().strip());
    assertFalse(Files.exists(missing));
  }

  @Test
  void theShippedEntryPointPrintsNoLuceneVectorWarning() throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process process =
        // The JVM flags are the ones ./loupe launches the CLI with.
        new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), LoupeCli.class.getName(),
                "search", "--lucene", shapesIndex.toString(), "circle")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, process.exitValue(), err);
    assertEquals("", err.strip(), "stderr of a search with hits");
  }

  @Test
  void bulkIdsDoNotDependOnHowTheFolderWasNamed(@TempDir Path dir) throws IOException {
    Path folder = Files.createDirectories(dir.resolve("photos/cats"));
    Files.copy(IMAGES.resolve("gen_tiny_30x20.png"), folder.resolve("tiny.png"));
    List<String> ids = new ArrayList<>();
    for (Path argument : List.of(dir.resolve("photos"), dir.resolve("photos/cats/../../photos/."), folder.resolve("tiny.png"))) {
      Path ndjson = dir.resolve("bulk-" + ids.size() + ".ndjson");
      Run run = run("bulk", "--model", TINY.toString(), "--index", "pets", "-o", ndjson.toString(), "--threads", "2",
          "--max-new-tokens", "2", "--preset", "caption", argument.toString());
      assertEquals(0, run.exit(), run.err());
      ids.add(JSON.readTree(Files.readAllLines(ndjson).get(0)).get("index").get("_id").asText());
    }
    assertEquals(Arrays.asList("photos/cats/tiny.png", "photos/cats/tiny.png", "tiny.png"), ids);
  }
}
