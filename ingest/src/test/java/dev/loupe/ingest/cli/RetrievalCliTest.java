package dev.loupe.ingest.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.RetrievalInput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `loupe embed`, and `loupe index` + `loupe search --mode vector|hybrid` as a person runs them. */
class RetrievalCliTest {
  static final Path REPO = CliTest.REPO;
  static final Path EMBED = REPO.resolve("testdata/golden/models/tiny-tied-embed");
  static final Path ROCKET = CliTest.IMAGES.resolve("rocket.jpg");
  static final Path SHAPE = CliTest.IMAGES.resolve("gen_nonsquare_150x97.png");

  static float[] vector(JsonNode line) {
    JsonNode values = line.get("embedding");
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) out[i] = (float) values.get(i).asDouble();
    return out;
  }

  @Test
  void embedPrintsTheApisUnitVectorsInInputOrder() throws IOException {
    CliTest.Run run = CliTest.run("embed", "--model", EMBED.toString(), "--threads", "2", "--text", "a red circle",
        ROCKET.toString(), SHAPE.toString());
    assertEquals(0, run.exit(), run.err());
    List<JsonNode> lines = run.lines();
    assertEquals(3, lines.size());
    assertEquals("a red circle", lines.get(0).get("text").asText());
    assertEquals(ROCKET.toString(), lines.get(1).get("path").asText());
    assertEquals(SHAPE.toString(), lines.get(2).get("path").asText());
    try (LoupeEngine engine = Loupe.open(EMBED, Options.defaults().withThreads(2))) {
      float[] image = engine.embed(EmbedRequest.of(RetrievalInput.image(ImageInput.ofFile(ROCKET)))).join();
      float[] text = engine.embed(EmbedRequest.of(RetrievalInput.text("a red circle"))
          .withInstruction(dev.loupe.ingest.ImageEmbeddings.QUERY_INSTRUCTION)).join();
      assertArrayEquals(text, vector(lines.get(0)), 1e-6f);
      assertArrayEquals(image, vector(lines.get(1)), 1e-6f);
    }
    double norm = 0;
    for (float v : vector(lines.get(2))) norm += v * v;
    assertEquals(1.0, norm, 1e-5);
  }

  @Test
  void vectorSearchNeedsAModelAndAnIndexWithVectors(@TempDir Path dir) {
    Path plain = dir.resolve("plain");
    assertEquals(0, CliTest.run("index", "--model", CliTest.SHAPES.toString(), "--threads", "2", "--preset", "caption",
        "--lucene", plain.toString(), SHAPE.toString()).exit());
    CliTest.Run noModel = CliTest.run("search", "--lucene", plain.toString(), "--mode", "vector", "circle");
    assertEquals(ExitCodes.ERROR, noModel.exit());
    assertTrue(noModel.err().contains("needs --embedding-model"), noModel.err());
    CliTest.Run noVectors = CliTest.run("search", "--lucene", plain.toString(), "--mode", "hybrid",
        "--embedding-model", EMBED.toString(), "circle");
    assertEquals(ExitCodes.ERROR, noVectors.exit());
    assertTrue(noVectors.err().contains("has no image vectors"), noVectors.err());
  }

  @Test
  void hybridSearchReturnsEachIndexedImageOnceInFusedOrder(@TempDir Path dir) throws IOException {
    Path index = dir.resolve("index");
    CliTest.Run indexed = CliTest.run("index", "--model", CliTest.SHAPES.toString(), "--embedding-model", EMBED.toString(),
        "--threads", "2", "--preset", "caption", "--lucene", index.toString(), ROCKET.toString(), SHAPE.toString());
    assertEquals(0, indexed.exit(), indexed.err());
    // The query is embedded as text, so this only proves the plumbing: both images come back,
    // each once, with the fused scores in decreasing order.
    CliTest.Run hybrid = CliTest.run("search", "--lucene", index.toString(), "--mode", "hybrid",
        "--embedding-model", EMBED.toString(), "--threads", "2", "rocket");
    assertEquals(0, hybrid.exit(), hybrid.err());
    List<JsonNode> hits = hybrid.lines();
    assertEquals(2, hits.size());
    assertTrue(hits.get(0).get("score").asDouble() >= hits.get(1).get("score").asDouble());
  }

  /**
   * The demo's promise: with the trained embedding model, paraphrases using words no caption
   * contains (examples/queries.json: "a crimson disc", "a navy box", ...) find their image.
   */
  @Test
  void paraphrasedQueriesFindTheirExampleImages(@TempDir Path dir) throws IOException {
    Path model = REPO.resolve("models/shapes-embed-tiny");
    Path index = dir.resolve("shapes");
    CliTest.Run indexed = CliTest.run("index", "--model", CliTest.SHAPES.toString(), "--embedding-model", model.toString(),
        "--threads", "2", "--max-new-tokens", "48", "--lucene", index.toString(), CliTest.EXAMPLES.toString());
    assertEquals(0, indexed.exit(), indexed.err());
    JsonNode queries = CliTest.JSON.readTree(REPO.resolve("examples/queries.json").toFile()).get("queries");
    int vectorTop1 = 0, hybridTop3 = 0;
    for (JsonNode q : queries) {
      String expected = q.get("expected").get(0).asText();
      List<String> vector = paths(CliTest.run("search", "--lucene", index.toString(), "--mode", "vector",
          "--embedding-model", model.toString(), "--threads", "2", "--limit", "3", q.get("query").asText()));
      List<String> hybrid = paths(CliTest.run("search", "--lucene", index.toString(), "--mode", "hybrid",
          "--embedding-model", model.toString(), "--threads", "2", "--limit", "3", q.get("query").asText()));
      vectorTop1 += vector.get(0).endsWith("/" + expected) ? 1 : 0;
      hybridTop3 += hybrid.stream().anyMatch(p -> p.endsWith("/" + expected)) ? 1 : 0;
    }
    assertEquals(queries.size(), vectorTop1, "vector search: top hit is the expected image");
    assertEquals(queries.size(), hybridTop3, "hybrid search: the expected image in the top 3");
  }

  static List<String> paths(CliTest.Run run) throws IOException {
    assertEquals(0, run.exit(), run.err());
    return run.lines().stream().map(l -> l.get("path").asText()).toList();
  }
}
