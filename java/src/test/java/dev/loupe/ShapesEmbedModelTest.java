package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The trained tiny embedding model (models/shapes-embed-tiny) through Loupe: its vectors are
 * HF transformers' on the held-out scenes (testdata/shapes-embed, made by
 * tools/shapes-embed/evaluate.py), its text -> image rankings are HF's, and retrieval by
 * meaning works: paraphrases with words the captions never use find their scenes.
 */
class ShapesEmbedModelTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path REPO = TESTDATA.getParent();
  static final Path MODEL = REPO.resolve("models/shapes-embed-tiny");
  static final Path HELDOUT = TESTDATA.resolve("shapes-embed");

  static float[] floats(JsonNode values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) out[i] = (float) values.get(i).asDouble();
    return out;
  }

  static double dot(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) sum += (double) a[i] * b[i];
    return sum;
  }

  static List<Integer> top(float[] query, List<float[]> images, int k) {
    return IntStream.range(0, images.size()).boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> -dot(query, images.get(i))))
        .limit(k)
        .toList();
  }

  @Test
  void vectorsAndRankingsAreHfsAndParaphrasesFindTheirScenes() throws IOException {
    JsonNode data = new ObjectMapper().readTree(HELDOUT.resolve("retrieval.json").toFile());
    try (LoupeEngine engine = Loupe.open(MODEL, Options.defaults().withThreads(2).withCpuBf16Activations("exact"))) {
      assertTrue(engine.capabilities().embeddingModel());
      List<String> files = new ArrayList<>();
      List<EmbedRequest> imageRequests = new ArrayList<>();
      for (JsonNode image : data.get("images")) {
        files.add(image.get("file").asText());
        imageRequests.add(EmbedRequest.of(RetrievalInput.image(ImageInput.ofBytes(Files.readAllBytes(HELDOUT.resolve(image.get("file").asText()))))));
      }
      List<float[]> images = new ArrayList<>();
      for (LoupeFuture<float[]> f : engine.embedAll(imageRequests)) images.add(f.join());
      for (int i = 0; i < images.size(); i++) {
        double cosine = dot(images.get(i), floats(data.get("images").get(i).get("embedding")));
        assertTrue(cosine > 0.99999, files.get(i) + ": cosine with HF " + cosine);
      }
      int hits = 0, hfHits = 0, queries = 0;
      for (JsonNode q : data.get("queries")) {
        float[] vector =
            engine.embed(EmbedRequest.of(RetrievalInput.text(q.get("text").asText())).withInstruction(q.get("instruction").asText())).join();
        assertTrue(dot(vector, floats(q.get("embedding"))) > 0.99999, q.get("text").asText());
        List<String> loupeTop = top(vector, images, 5).stream().map(files::get).toList();
        List<String> hfTop = new ArrayList<>();
        q.get("hf_top5").forEach(h -> hfTop.add(h.get("file").asText()));
        assertEquals(hfTop, loupeTop, q.get("text").asText());
        Set<String> relevant = new HashSet<>();
        q.get("relevant").forEach(r -> relevant.add(r.asText()));
        hits += loupeTop.stream().anyMatch(relevant::contains) ? 1 : 0;
        hfHits += hfTop.stream().anyMatch(relevant::contains) ? 1 : 0;
        queries++;
      }
      assertEquals(hfHits, hits);
      // The card reports recall@5 over 200 held-out scenes (95 % on paraphrases); this smaller
      // exported set must stay above 85 %.
      assertTrue(hits >= 0.85 * queries, "recall@5 " + hits + "/" + queries);
    }
  }
}
