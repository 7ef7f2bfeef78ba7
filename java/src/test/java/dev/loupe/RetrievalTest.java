package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * Embeddings and reranker scores through the Java API equal the Qwen3-VL-Embedding /
 * Reranker reference (golden kit, testdata/golden/embedding), with the typed errors of
 * captioning.
 */
class RetrievalTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path GOLDEN = TESTDATA.resolve("golden");
  static final Path REPO = TESTDATA.getParent();

  static Options exact() {
    return Options.defaults().withThreads(2).withCpuBf16Activations("exact");
  }

  static RetrievalInput input(JsonNode side) throws IOException {
    List<ImageInput> images = new ArrayList<>();
    if (side.has("images")) for (JsonNode p : side.get("images")) images.add(ImageInput.ofBytes(Files.readAllBytes(REPO.resolve(p.asText()))));
    if (side.has("image")) images.add(ImageInput.ofBytes(Files.readAllBytes(REPO.resolve(side.get("image").asText()))));
    return new RetrievalInput(images, side.hasNonNull("text") ? side.get("text").asText() : null);
  }

  /** A float32 tensor of a golden safetensors file. */
  static float[] tensor(Path file, String name) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int headerLength = (int) buffer.getLong(0);
    JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
    JsonNode offsets = header.get(name).get("data_offsets");
    int begin = 8 + headerLength + offsets.get(0).asInt(), end = 8 + headerLength + offsets.get(1).asInt();
    float[] out = new float[(end - begin) / 4];
    for (int i = 0; i < out.length; i++) out[i] = buffer.getFloat(begin + 4 * i);
    return out;
  }

  @Test
  void embeddingsEqualTheReferenceInBothCheckpointLayouts() throws IOException {
    JsonNode manifest = new ObjectMapper().readTree(GOLDEN.resolve("embedding/manifest.json").toFile());
    for (String model : List.of("tiny-tied-embed", "tiny-untied-nohead")) {
      try (LoupeEngine engine = Loupe.open(GOLDEN.resolve("models/" + model), exact())) {
        ModelCapabilities caps = engine.capabilities();
        assertTrue(caps.embeddingModel(), model);
        List<EmbedRequest> requests = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        for (JsonNode c : manifest.get("embedding_cases")) {
          if (!c.get("model").asText().equals(model)) continue;
          EmbedRequest request = EmbedRequest.of(input(c));
          if (c.get("instruction").isTextual()) request = request.withInstruction(c.get("instruction").asText());
          requests.add(request);
          expected.add(tensor(GOLDEN.resolve("embedding/" + c.get("name").asText() + "." + model + ".safetensors"), "embedding"));
        }
        List<LoupeFuture<float[]>> futures = engine.embedAll(requests);  // batched together
        for (int i = 0; i < futures.size(); i++) {
          float[] vector = futures.get(i).join();
          assertEquals(caps.embeddingSize(), vector.length);
          assertArrayEquals(expected.get(i), vector, 1e-5f, model + " case " + i);
        }
      }
    }
  }

  @Test
  void rerankScoresEqualTheReference() throws IOException {
    JsonNode rerank = new ObjectMapper().readTree(GOLDEN.resolve("embedding/manifest.json").toFile()).get("rerank");
    try (LoupeEngine engine = Loupe.open(GOLDEN.resolve("models/tiny-reranker"), exact())) {
      assertTrue(engine.capabilities().canScore());
      for (JsonNode c : rerank.get("cases")) {
        List<RetrievalInput> documents = new ArrayList<>();
        List<Double> expected = new ArrayList<>();
        for (JsonNode pair : c.get("pairs")) {
          documents.add(input(pair.get("document")));
          expected.add(pair.get("score").asDouble());
        }
        String instruction = c.get("instruction").isTextual() ? c.get("instruction").asText() : null;
        double[] scores = engine.rerank(input(c.get("query")), documents, instruction).join();
        for (int i = 0; i < scores.length; i++) assertEquals(expected.get(i), scores[i], 1e-5, c.get("name").asText() + " " + i);
      }
    }
  }

  @Test
  void badRequestsFailWithTypedErrors() {
    try (LoupeEngine engine = Loupe.open(GOLDEN.resolve("models/tiny-untied-nohead"), exact())) {
      assertFalse(engine.capabilities().canGenerate());
      CompletionException small =
          assertThrows(CompletionException.class, () -> engine.embed(EmbedRequest.of(RetrievalInput.text("x")).withDimensions(8)).join());
      assertInstanceOf(InvalidRequestException.class, small.getCause());
      CompletionException bad =
          assertThrows(
              CompletionException.class,
              () -> engine.embed(EmbedRequest.of(RetrievalInput.image(ImageInput.ofBytes(new byte[] {1, 2, 3})))).join());
      assertInstanceOf(BadImageException.class, bad.getCause());
      CompletionException caption =
          assertThrows(CompletionException.class, () -> engine.caption(ImageInput.ofBytes(new byte[] {1}), Prompt.of("hi"), null).join());
      assertInstanceOf(InvalidRequestException.class, caption.getCause());
      CompletionException score =
          assertThrows(
              CompletionException.class,
              () -> engine.rerank(RetrievalInput.text("q"), List.of(RetrievalInput.text("d")), null).join());
      assertInstanceOf(InvalidRequestException.class, score.getCause());
    }
  }

  @Test
  void resizeBudgetAndDeadlineReachTheEngine() throws IOException {
    byte[] rocket = Files.readAllBytes(TESTDATA.resolve("images/rocket.jpg"));
    RetrievalInput image = RetrievalInput.image(ImageInput.ofBytes(rocket));
    try (LoupeEngine engine = Loupe.open(GOLDEN.resolve("models/tiny-tied-embed"), exact())) {
      float[] reference = engine.embed(EmbedRequest.of(image)).join();
      float[] small = engine.embed(EmbedRequest.of(image).withMaxPixels(4 * 32 * 32)).join();
      assertEquals(reference.length, small.length);
      assertFalse(java.util.Arrays.equals(reference, small), "fewer image tokens, another vector");
      assertArrayEquals(small, engine.embed(EmbedRequest.of(image).withMaxPixels(4 * 32 * 32)).join(), 1e-6f);
      assertThrows(InvalidRequestException.class, () -> EmbedRequest.of(image).withMaxPixels(-1));
    }
    try (LoupeEngine engine = Loupe.open(GOLDEN.resolve("models/tiny-reranker"), exact())) {
      List<RetrievalInput> documents = List.of(RetrievalInput.text("a rocket"), image);
      double[] plain = engine.rerank(RetrievalInput.text("rocket"), documents, null).join();
      double[] request =
          engine.rerank(RerankRequest.of(RetrievalInput.text("rocket"), documents).withTimeout(java.time.Duration.ofMinutes(1))).join();
      assertArrayEquals(plain, request, 1e-5);  // the second pass reuses cached prefixes: bf16 rounding differs
      // Twenty image pairs cannot all finish within 1 ms of their submission.
      List<RetrievalInput> many = java.util.Collections.nCopies(20, image);
      CompletionException late =
          assertThrows(
              CompletionException.class,
              () -> engine.rerank(RerankRequest.of(RetrievalInput.text("rocket"), many).withTimeout(java.time.Duration.ofMillis(1))).join());
      assertInstanceOf(RequestTimeoutException.class, late.getCause());
    }
  }
}
