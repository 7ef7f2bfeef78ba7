package dev.loupe.elasticsearch.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.Caption;
import dev.loupe.CaptionRequest;
import dev.loupe.ImageInput;
import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.Prompt;
import dev.loupe.SamplingParams;
import dev.loupe.elasticsearch.models.ModelConfig;
import dev.loupe.PromptPreset;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsCluster;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.elasticsearch.common.settings.Settings;

/**
 * End-to-end images/s through Elasticsearch ({@code _bulk} with an {@code image_caption}
 * pipeline on a real node) against the same images through the Java API in this JVM: same
 * checkpoint, same engine options (built from the same node settings by
 * {@link ModelConfig#engineOptions}), same prompt, greedy decoding, same pixel budget.
 * Order: Java API, Elasticsearch, Java API again (the machine may be shared: the two Java
 * runs bracket the node's). Prints both rates and the ratio. Run with
 * {@code scripts/bench-es-overhead} (README, "Benchmarks"). Pixels 0 = the checkpoint's
 * preprocessor defaults, on both paths. {@code --mode embed} runs {@link EmbeddingBenchmark}
 * instead.
 */
public final class OverheadBenchmark {
  private OverheadBenchmark() {}

  public static void main(String[] args) throws Exception {
    BenchConfig config = BenchConfig.parse(args);
    if (config.mode().equals("embed")) {
      EmbeddingBenchmark.run(config);
      return;
    }
    List<byte[]> images = BenchImages.distinct(config.imageDir(), config.images());
    System.out.printf("overhead benchmark: %d distinct images from %s, model %s%n", images.size(), config.imageDir(), config.model());
    System.out.printf("  greedy, max_new_tokens %d, pixels [%d, %d], loupe.batch.max_running %d, loupe.threads %d, "
        + "%d concurrent bulks of %d%n", config.maxNewTokens(), config.minPixels(), config.maxPixels(), config.maxRunning(),
        config.threads(), config.concurrentBulks(), config.bulkSize());
    System.out.printf("  load average before: %.2f%n", loadAverage());

    Settings settings = config.nodeSettings(images.size());
    Options options = ModelConfig.of(ModelConfig.DEFAULT, config.model(), settings).engineOptions(settings);
    Run javaFirst = javaApi(config, options, images);
    Run es = elasticsearch(config, settings, images);
    Run javaSecond = javaApi(config, options, images);
    double java = (javaFirst.imagesPerSecond() + javaSecond.imagesPerSecond()) / 2;
    double javaCpu = (javaFirst.cpuSecondsPerImage() + javaSecond.cpuSecondsPerImage()) / 2;

    System.out.println();
    System.out.printf("Java API         : %.2f images/s (runs: %.2f, %.2f), %.3f CPU s per image%n",
        java, javaFirst.imagesPerSecond(), javaSecond.imagesPerSecond(), javaCpu);
    System.out.printf("Elasticsearch    : %.2f images/s, %.3f CPU s per image (the node's whole process)%n",
        es.imagesPerSecond(), es.cpuSecondsPerImage());
    System.out.printf("ratio ES / Java  : %.3f images/s (overhead %.1f%%); CPU per image %.3f%n",
        es.imagesPerSecond() / java, 100 * (1 - es.imagesPerSecond() / java), es.cpuSecondsPerImage() / javaCpu);
    System.out.printf("load average after: %.2f%n", loadAverage());
  }

  /** One timed pass: throughput, and CPU time per image (steadier than wall time on a shared machine). */
  record Run(double imagesPerSecond, double cpuSecondsPerImage) {}

  /** Captions every image through the Java API, at most max_running in flight as the plugin does. */
  static Run javaApi(BenchConfig config, Options options, List<byte[]> images) throws Exception {
    try (LoupeEngine engine = Loupe.open(config.model(), options)) {
      runJava(engine, config, images.subList(0, Math.min(images.size(), config.maxRunning())));  // warm-up
      long start = System.nanoTime();
      double cpuStart = processCpuSeconds();
      List<Caption> captions = runJava(engine, config, images);
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpu = processCpuSeconds() - cpuStart;
      long tokens = captions.stream().mapToLong(c -> c.tokenIds().size()).sum();
      System.out.printf("  Java API: %d images in %.2f s (%.1f CPU s), %d tokens generated; native latency ms (mean) vision %.1f, "
          + "prefill %.1f, decode %.1f, total %.1f%n", captions.size(), seconds, cpu, tokens,
          mean(captions, t -> t.vision()), mean(captions, t -> t.prefill()), mean(captions, t -> t.decode()),
          mean(captions, t -> t.total()));
      return new Run(images.size() / seconds, cpu / images.size());
    }
  }

  private static double mean(List<Caption> captions, java.util.function.ToDoubleFunction<Caption.Timings> stage) {
    return captions.stream().mapToDouble(c -> stage.applyAsDouble(c.timings())).average().orElse(0);
  }

  private static List<Caption> runJava(LoupeEngine engine, BenchConfig config, List<byte[]> images) throws Exception {
    Prompt prompt = PromptPreset.CAPTION.prompt();
    SamplingParams sampling = SamplingParams.greedy(config.maxNewTokens());
    Semaphore window = new Semaphore(config.maxRunning());
    List<CompletableFuture<Caption>> futures = new ArrayList<>();
    for (byte[] image : images) {
      window.acquire();
      CompletableFuture<Caption> future =
          engine.submit(CaptionRequest.of(ImageInput.ofBytes(image), prompt, sampling).withPixels(config.minPixels(), config.maxPixels()));
      future.whenComplete((caption, error) -> window.release());
      futures.add(future);
    }
    List<Caption> captions = new ArrayList<>();
    for (CompletableFuture<Caption> future : futures) {
      captions.add(future.get());
    }
    return captions;
  }

  /** Indexes every image with {@code _bulk} through an image_caption pipeline on one node. */
  static Run elasticsearch(BenchConfig config, Settings settings, List<byte[]> images) throws Exception {
    ClusterSpec spec = ClusterSpec.nodes(1).model(config.model()).heap("1g");
    for (String key : settings.keySet()) {
      spec = spec.setting(key, settings.get(key));
    }
    try (EsCluster cluster = EsCluster.start(spec)) {
      EsClient client = cluster.client().withTimeout(Duration.ofMinutes(30));
      Map<String, Object> processor = new java.util.HashMap<>(Map.of(
          "field", "image", "preset", "caption", "max_new_tokens", config.maxNewTokens(), "remove_binary", true));
      if (config.minPixels() > 0) processor.put("min_pixels", config.minPixels());
      if (config.maxPixels() > 0) processor.put("max_pixels", config.maxPixels());
      client.put("/_ingest/pipeline/bench", Map.of("processors", List.of(Map.of("image_caption", processor))));
      List<String> encoded = images.stream().map(b -> Base64.getEncoder().encodeToString(b)).toList();
      // Warm-up: a full round of work, so the node's own start-up activity (system templates,
      // JIT) has settled before the timed run, as the Java API's JVM has.
      bulkAll(client, config, "warmup", encoded.subList(0, Math.min(encoded.size(), 2 * config.maxRunning())));
      long start = System.nanoTime();
      double cpuStart = cluster.node(0).cpuSeconds();
      bulkAll(client, config, "bench", encoded);
      double seconds = (System.nanoTime() - start) / 1e9;
      double cpu = cluster.node(0).cpuSeconds() - cpuStart;
      JsonNode node = client.get("/_loupe/stats").path("nodes").elements().next();
      System.out.printf("  Elasticsearch: %d images in %.2f s (node process %.1f CPU s); node latency ms (mean, warm-up "
          + "included) %s%n", images.size(), seconds, cpu, node.path("models").path(ModelConfig.DEFAULT).path("latency_ms"));
      return new Run(images.size() / seconds, cpu / images.size());
    }
  }

  static void bulkAll(EsClient client, BenchConfig config, String index, List<String> encoded) throws Exception {
    ExecutorService senders = Executors.newFixedThreadPool(config.concurrentBulks());
    try {
      List<Future<JsonNode>> answers = new ArrayList<>();
      for (int start = 0; start < encoded.size(); start += config.bulkSize()) {
        BulkBody body = new BulkBody();
        for (int i = start; i < Math.min(start + config.bulkSize(), encoded.size()); i++) {
          body.index(index, Integer.toString(i), Map.of("n", i, "image", encoded.get(i)));
        }
        answers.add(senders.submit(() -> client.bulk("/_bulk?pipeline=bench", body)));
      }
      for (Future<JsonNode> answer : answers) {
        JsonNode result = answer.get();
        if (result.path("errors").asBoolean()) {
          throw new IllegalStateException("bulk items failed (raise loupe.queue.size?): " + result);
        }
      }
    } finally {
      senders.shutdownNow();
    }
  }

  static double processCpuSeconds() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
  }

  static double loadAverage() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** Command-line options; every one has a default that runs in about a minute on a small CPU box. */
  record BenchConfig(
      String mode, Path model, Path imageDir, int images, int maxNewTokens, long minPixels, long maxPixels, int maxRunning, int threads,
      int bulkSize, int concurrentBulks, int queries) {

    static BenchConfig parse(String[] args) throws IOException {
      Map<String, String> values = new java.util.HashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (!args[i].startsWith("--") || i + 1 >= args.length) {
          throw new IllegalArgumentException("usage: --name value ... (got " + String.join(" ", args) + ")");
        }
        values.put(args[i].substring(2), args[++i]);
      }
      String mode = values.getOrDefault("mode", "caption");
      if (!mode.equals("caption") && !mode.equals("embed")) {
        throw new IllegalArgumentException("--mode is caption or embed, got " + mode);
      }
      // Options only one mode reads: refused in the other rather than silently ignored.
      List<String> otherMode = mode.equals("embed") ? List.of("max-new-tokens", "min-pixels") : List.of("queries");
      for (String option : otherMode) {
        if (values.containsKey(option)) throw new IllegalArgumentException("--" + option + " does not apply to --mode " + mode);
      }
      Path root = TestPaths.testdata().getParent();
      Path shapes = root.resolve("models/shapes-tiny");
      Path defaultModel = mode.equals("embed") ? root.resolve("models/shapes-embed-tiny")
          : shapes.resolve("config.json").toFile().exists() ? shapes : TestPaths.tinyModel();
      Path examples = root.resolve("examples/images");
      Path defaultImages = examples.toFile().isDirectory() ? examples : TestPaths.testdata().resolve("images");
      BenchConfig config = new BenchConfig(
          mode,
          Path.of(values.getOrDefault("model", defaultModel.toString())).toAbsolutePath(),
          Path.of(values.getOrDefault("images", defaultImages.toString())).toAbsolutePath(),
          Integer.parseInt(values.getOrDefault("count", "96")),
          Integer.parseInt(values.getOrDefault("max-new-tokens", "16")),
          Long.parseLong(values.getOrDefault("min-pixels", "0")),
          Long.parseLong(values.getOrDefault("max-pixels", "0")),
          Integer.parseInt(values.getOrDefault("max-running", "16")),
          Integer.parseInt(values.getOrDefault("threads", "0")),
          Integer.parseInt(values.getOrDefault("bulk-size", "16")),
          Integer.parseInt(values.getOrDefault("concurrent-bulks", "2")),
          Integer.parseInt(values.getOrDefault("queries", "200")));
      values.keySet().removeAll(List.of("mode", "queries", "model", "images", "count", "max-new-tokens", "min-pixels", "max-pixels", "max-running",
          "threads", "bulk-size", "concurrent-bulks"));
      if (!values.isEmpty()) {
        throw new IllegalArgumentException("unknown options " + values.keySet());
      }
      return config;
    }

    /** The node settings both paths use: the Java API gets its options from them too. */
    Settings nodeSettings(int imageCount) {
      return Settings.builder()
          .put("loupe.batch.max_running", maxRunning)
          .put("loupe.threads", threads)
          .put("loupe.queue.size", imageCount)  // nothing is rejected: the benchmark measures throughput
          .build();
    }
  }
}
