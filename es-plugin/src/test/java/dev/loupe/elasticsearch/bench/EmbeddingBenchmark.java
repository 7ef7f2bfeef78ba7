package dev.loupe.elasticsearch.bench;

import static dev.loupe.elasticsearch.bench.OverheadBenchmark.bulkAll;
import static dev.loupe.elasticsearch.bench.OverheadBenchmark.loadAverage;
import static dev.loupe.elasticsearch.bench.OverheadBenchmark.processCpuSeconds;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeFuture;
import dev.loupe.Options;
import dev.loupe.RetrievalInput;
import dev.loupe.elasticsearch.bench.OverheadBenchmark.BenchConfig;
import dev.loupe.elasticsearch.bench.OverheadBenchmark.Run;
import dev.loupe.elasticsearch.models.ModelConfig;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.elasticsearch.common.settings.Settings;

/**
 * {@code scripts/bench-es-overhead --mode embed}: images/s through an {@code image_embedding}
 * pipeline into a {@code dense_vector} field against {@link LoupeEngine#embedAll} on the same
 * images (same checkpoint, same engine options from the same node settings), then the latency
 * of sequential kNN searches whose query vector the node embeds ({@code loupe_text_embedding})
 * against the same kNN with the vector given, and the Java API's {@code embed} of the same
 * texts. Order as in the caption mode: Java API, Elasticsearch, Java API again.
 */
final class EmbeddingBenchmark {
  private EmbeddingBenchmark() {}

  /** The name the node serves the model under (there is no default model in this mode). */
  static final String MODEL = "embedder";
  static final String QUERY_INSTRUCTION = "Retrieve images that match the user's query.";
  /** Untimed queries first on each path: JIT, HTTP connections, the instruction's prefix cache. */
  static final int WARMUP_QUERIES = 5;

  private static final String[] COLOURS = {"red", "green", "blue", "yellow", "purple", "orange", "white", "black"};
  private static final String[] SHAPES = {"circle", "square", "triangle", "star", "rectangle", "hexagon"};

  static void run(BenchConfig config) throws Exception {
    // Warm-up images are distinct from the timed ones, so no timed image hits the vision cache.
    int warmupCount = Math.min(config.images(), 2 * config.maxRunning());
    List<byte[]> all = BenchImages.distinct(config.imageDir(), warmupCount + config.images());
    List<byte[]> warmup = all.subList(0, warmupCount);
    List<byte[]> images = all.subList(warmupCount, all.size());
    List<String> texts = queryTexts(WARMUP_QUERIES + config.queries());
    System.out.printf("embedding benchmark: %d distinct images from %s (+%d warm-up), model %s as [%s]%n",
        images.size(), config.imageDir(), warmupCount, config.model(), MODEL);
    System.out.printf("  max_pixels %d, loupe.batch.max_running %d, loupe.threads %d, %d concurrent bulks of %d; "
        + "%d kNN queries (+%d warm-up)%n", config.maxPixels(), config.maxRunning(), config.threads(),
        config.concurrentBulks(), config.bulkSize(), config.queries(), WARMUP_QUERIES);
    System.out.printf("  load average before: %.2f%n", loadAverage());

    Settings settings = config.nodeSettings(images.size());
    Options options = ModelConfig.of(MODEL, config.model(), settings).engineOptions(settings);
    JavaRun javaFirst = javaApi(config, options, warmup, images, texts);
    EsRun es = elasticsearch(config, settings, javaFirst, warmup, images, texts);
    JavaRun javaSecond = javaApi(config, options, warmup, images, texts);
    double java = (javaFirst.run().imagesPerSecond() + javaSecond.run().imagesPerSecond()) / 2;
    double javaCpu = (javaFirst.run().cpuSecondsPerImage() + javaSecond.run().cpuSecondsPerImage()) / 2;
    List<Double> javaText = new ArrayList<>(javaFirst.textMs());
    javaText.addAll(javaSecond.textMs());

    System.out.println();
    System.out.printf("Java API         : %.2f images/s (runs: %.2f, %.2f), %.4f CPU s per image%n",
        java, javaFirst.run().imagesPerSecond(), javaSecond.run().imagesPerSecond(), javaCpu);
    System.out.printf("Elasticsearch    : %.2f images/s, %.4f CPU s per image (the node's whole process)%n",
        es.run().imagesPerSecond(), es.run().cpuSecondsPerImage());
    System.out.printf("ratio ES / Java  : %.3f images/s (overhead %.1f%%); CPU per image %.3f%n",
        es.run().imagesPerSecond() / java, 100 * (1 - es.run().imagesPerSecond() / java),
        es.run().cpuSecondsPerImage() / javaCpu);
    System.out.printf("query latency, %d sequential queries each (k 10, num_candidates 50, %d docs):%n",
        config.queries(), images.size());
    System.out.printf("  kNN + loupe_text_embedding : %s%n", Latency.of(es.builderMs()));
    System.out.printf("  kNN + query_vector         : %s%n", Latency.of(es.vectorMs()));
    System.out.printf("  Java API embed(text)       : %s (both runs)%n", Latency.of(javaText));
    System.out.printf("load average after: %.2f%n", loadAverage());
  }

  /** A pass's throughput, its text-embedding latencies and the query vectors (for the kNN baseline). */
  record JavaRun(Run run, int dims, List<Double> textMs, List<float[]> queryVectors) {}

  record EsRun(Run run, List<Double> builderMs, List<Double> vectorMs) {}

  /** Embeds every image at once (the engine batches them), then each text alone, in order. */
  static JavaRun javaApi(BenchConfig config, Options options, List<byte[]> warmup, List<byte[]> images, List<String> texts)
      throws Exception {
    try (LoupeEngine engine = Loupe.open(config.model(), options)) {
      int dims = engine.capabilities().embeddingSize();
      embedImages(engine, config, warmup);
      long start = System.nanoTime();
      double cpuStart = processCpuSeconds();
      List<float[]> vectors = embedImages(engine, config, images);
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpu = processCpuSeconds() - cpuStart;
      if (vectors.stream().anyMatch(v -> v.length != dims)) {
        throw new IllegalStateException("an image embedding is not " + dims + "-dimensional");
      }
      System.out.printf("  Java API: %d images in %.2f s (%.1f CPU s), %d dims%n", images.size(), seconds, cpu, dims);
      List<Double> textMs = new ArrayList<>();
      List<float[]> queryVectors = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        long queryStart = System.nanoTime();
        queryVectors.add(engine.embed(EmbedRequest.of(RetrievalInput.text(texts.get(i))).withInstruction(QUERY_INSTRUCTION)).get());
        if (i >= WARMUP_QUERIES) textMs.add((System.nanoTime() - queryStart) / 1e6);
      }
      return new JavaRun(new Run(images.size() / seconds, cpu / images.size()), dims, textMs, queryVectors);
    }
  }

  private static List<float[]> embedImages(LoupeEngine engine, BenchConfig config, List<byte[]> images) throws Exception {
    List<EmbedRequest> requests = images.stream()
        .map(b -> EmbedRequest.of(RetrievalInput.image(ImageInput.ofBytes(b))).withMaxPixels(config.maxPixels()))
        .toList();
    List<float[]> vectors = new ArrayList<>();
    for (LoupeFuture<float[]> future : engine.embedAll(requests)) vectors.add(future.get());
    return vectors;
  }

  /**
   * Indexes every image through an image_embedding pipeline on a node that serves the model by
   * name only, then times each text's kNN search with the node embedding the query, interleaved
   * with the same search given the Java API's vector for that text (so both see the same load).
   */
  static EsRun elasticsearch(
      BenchConfig config, Settings settings, JavaRun java, List<byte[]> warmup, List<byte[]> images, List<String> texts)
      throws Exception {
    ClusterSpec spec = ClusterSpec.nodes(1).model(null).namedModel(MODEL, config.model()).heap("1g");
    for (String key : settings.keySet()) {
      spec = spec.setting(key, settings.get(key));
    }
    try (EsCluster cluster = EsCluster.start(spec)) {
      EsClient client = cluster.client().withTimeout(Duration.ofMinutes(30));
      Map<String, Object> mapping = Map.of("mappings", Map.of("properties", Map.of(
          "n", Map.of("type", "integer"),
          "embedding", Map.of("type", "dense_vector", "dims", java.dims(), "similarity", "dot_product"))));
      client.put("/warmup", mapping);
      client.put("/bench", mapping);
      Map<String, Object> processor = new HashMap<>(Map.of("field", "image", "model", MODEL, "remove_binary", true));
      if (config.maxPixels() > 0) processor.put("max_pixels", config.maxPixels());
      client.put("/_ingest/pipeline/bench", Map.of("processors", List.of(Map.of("image_embedding", processor))));
      bulkAll(client, config, "warmup", base64(warmup));
      long start = System.nanoTime();
      double cpuStart = cluster.node(0).cpuSeconds();
      bulkAll(client, config, "bench", base64(images));
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpu = cluster.node(0).cpuSeconds() - cpuStart;
      client.post("/bench/_refresh", null);
      long indexed = client.get("/bench/_count").path("count").asLong();
      if (indexed != images.size()) {
        throw new IllegalStateException("indexed " + indexed + " of " + images.size() + " documents");
      }
      JsonNode model = client.get("/_loupe/stats").path("nodes").elements().next().path("models").path(MODEL);
      System.out.printf("  Elasticsearch: %d images in %.2f s (node process %.1f CPU s); node latency ms (mean, warm-up "
          + "included) %s%n", images.size(), seconds, cpu, model.path("latency_ms"));

      List<Double> builderMs = new ArrayList<>();
      List<Double> vectorMs = new ArrayList<>();
      for (int i = 0; i < texts.size(); i++) {
        double builder = timedKnn(client, Map.of("query_vector_builder", Map.of("loupe_text_embedding",
            Map.of("model", MODEL, "text", texts.get(i), "instruction", QUERY_INSTRUCTION))));
        double vector = timedKnn(client, Map.of("query_vector", java.queryVectors().get(i)));
        if (i >= WARMUP_QUERIES) {
          builderMs.add(builder);
          vectorMs.add(vector);
        }
      }
      return new EsRun(new Run(images.size() / seconds, cpu / images.size()), builderMs, vectorMs);
    }
  }

  /** One {@code _search} with a kNN over the embeddings, {@code query} giving its vector; wall ms. */
  private static double timedKnn(EsClient client, Map<String, Object> query) {
    Map<String, Object> knn = new HashMap<>(Map.of("field", "embedding", "k", 10, "num_candidates", 50));
    knn.putAll(query);
    long start = System.nanoTime();
    JsonNode answer = client.post("/bench/_search", Map.of("knn", knn));
    double ms = (System.nanoTime() - start) / 1e6;
    if (answer.path("hits").path("hits").isEmpty()) {
      throw new IllegalStateException("kNN search found nothing: " + answer);
    }
    return ms;
  }

  private static List<String> base64(List<byte[]> images) {
    return images.stream().map(b -> Base64.getEncoder().encodeToString(b)).toList();
  }

  /** Distinct query texts (colour and shape pairs plus a counter), so no cache serves one. */
  static List<String> queryTexts(int count) {
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      texts.add(String.format("a %s %s next to a %s %s, picture %d", COLOURS[i % COLOURS.length], SHAPES[i % SHAPES.length],
          COLOURS[(i / COLOURS.length + 3) % COLOURS.length], SHAPES[(i / SHAPES.length + 1) % SHAPES.length], i));
    }
    return texts;
  }

  /** Nearest-rank percentiles and the mean of some millisecond timings. */
  record Latency(double p50, double p99, double mean) {
    static Latency of(List<Double> ms) {
      double[] sorted = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      return new Latency(rank(sorted, 0.50), rank(sorted, 0.99), Arrays.stream(sorted).average().orElse(0));
    }

    private static double rank(double[] sorted, double quantile) {
      return sorted.length == 0 ? 0 : sorted[Math.max(0, (int) Math.ceil(quantile * sorted.length) - 1)];
    }

    @Override
    public String toString() {
      return String.format("p50 %.2f ms, p99 %.2f ms, mean %.2f ms", p50, p99, mean);
    }
  }
}
