package dev.loupe.ingest.cli;

import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.Prompt;
import dev.loupe.PromptPreset;
import dev.loupe.SamplingParams;
import dev.loupe.ingest.CaptionPipeline;
import dev.loupe.ingest.Documents;
import dev.loupe.ingest.ImageCaptions;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.RunStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every generating subcommand shares: the model, the prompts, sampling, limits. */
final class ModelOptions {
  @Option(names = "--model", required = true, description = "Qwen3-VL checkpoint directory")
  Path model;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
  String device;

  @Option(names = "--threads", defaultValue = "0", description = "CPU threads, 0 = all cores (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(
      names = "--cpu-bf16-activations",
      defaultValue = "",
      description = "cpu: rounded (bf16, as PyTorch runs a bf16 checkpoint; the default) or exact (fp32-upcast numerics, slower)")
  String cpuBf16Activations;

  @Option(names = "--int8-weights", description = "cpu: quantise the text decoder to int8 at load (faster decoding)")
  boolean int8Weights;

  @Option(names = "--no-decode-graphs", description = "cuda: launch every kernel of each decode step instead of replaying CUDA graphs")
  boolean noDecodeGraphs;

  @Option(
      names = "--engine-option",
      paramLabel = "NAME=VALUE",
      description = "any other runtime option by its native name, e.g. max_batch_tokens=4096 (repeatable; `./loupe options` lists them)")
  Map<String, String> engineOptions = new LinkedHashMap<>();

  @Option(
      names = "--preset",
      split = ",",
      description = "caption, description, keywords, ocr, tags (repeatable or comma-separated; default: the command's, named above)")
  List<String> presets;

  @Option(names = "--prompt", description = "custom prompt text, output as field \"custom\" (instead of, or in addition to, presets)")
  String prompt;

  @Option(
      names = "--json-schema",
      paramLabel = "FILE",
      description = "constrain the --prompt answer to this JSON Schema (llguidance): it is always valid JSON for it")
  Path jsonSchema;

  @Option(names = "--system", description = "system prompt")
  String system;

  @Option(names = "--max-new-tokens", defaultValue = "128", description = "most tokens per text; a cut text has finish_reason \"length\" (default: ${DEFAULT-VALUE})")
  int maxNewTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy, reproducible (default: ${DEFAULT-VALUE})")
  float temperature;

  @Option(names = "--max-pixels", defaultValue = "0", description = "resize budget per image, 0 = the checkpoint's (default: ${DEFAULT-VALUE})")
  long maxPixels;

  @Option(names = "--window", defaultValue = "16", description = "requests in flight at once (back-pressure) (default: ${DEFAULT-VALUE})")
  int window;

  @Option(names = "--timeout-ms", defaultValue = "0", description = "per-request deadline, 0 = none (default: ${DEFAULT-VALUE})")
  long timeoutMs;

  LoupeEngine open() {
    return Loupe.open(model, engineOptions());
  }

  /** Where a captioning command puts each image's results. */
  interface ResultSink {
    void write(ImageCaptions result) throws IOException;
  }

  /**
   * What caption, bulk and index share: caption the listed images through one engine with the
   * command's presets (unless others were asked for), name each failure on {@code err}, hand
   * every result to {@code sink} in input order, and count the run for its summary.
   */
  RunStats captionAll(ImageFiles.Listing listing, String defaultPresets, PrintWriter err, ResultSink sink)
      throws InterruptedException {
    RunStats stats = new RunStats(err, listing);
    try (LoupeEngine engine = open()) {
      new CaptionPipeline(engine, prompts(defaultPresets), sampling(), timeout(), window)
          .run(
              listing.images(),
              result -> {
                if (!result.ok()) err.println("\n" + result.path() + ": " + result.error());
                try {
                  sink.write(result);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
                stats.record(result);
              });
    }
    return stats;
  }

  Options engineOptions() {
    if (!cpuBf16Activations.isEmpty() && !Options.CPU_BF16_ACTIVATIONS.contains(cpuBf16Activations)) {
      throw new IllegalArgumentException("--cpu-bf16-activations must be rounded or exact, not '" + cpuBf16Activations + "'");
    }
    Options options =
        Options.defaults()
            .withDevice(device)
            .withThreads(threads)
            .withInt8TextWeights(int8Weights)
            .withDecodeGraphs(!noDecodeGraphs);
    if (!cpuBf16Activations.isEmpty()) options = options.withCpuBf16Activations(cpuBf16Activations);
    if (maxPixels > 0) options = options.withPixels(Math.min(65536, maxPixels), maxPixels);
    for (Map.Entry<String, String> option : engineOptions.entrySet()) {
      options = options.with(option.getKey(), option.getValue());
    }
    return options;
  }

  /**
   * Prompts by output field name; the command's default presets (comma-separated, as its
   * help shows them) when neither presets nor a prompt were asked for.
   */
  Map<String, Prompt> prompts(String defaultPresets) {
    Map<String, Prompt> out = new LinkedHashMap<>();
    List<String> names = presets != null ? presets : prompt != null ? List.of() : List.of(defaultPresets.split(","));
    List<PromptPreset> chosen = names.stream().map(ModelOptions::preset).toList();
    for (PromptPreset preset : chosen) out.put(preset.optionName(), withSystem(preset.prompt()));
    if (jsonSchema != null && prompt == null) {
      throw new IllegalArgumentException("--json-schema constrains the --prompt answer: give --prompt too (preset tags has its own schema)");
    }
    if (prompt != null) {
      if (prompt.isBlank()) throw new IllegalArgumentException("--prompt needs text");
      out.put(Documents.CUSTOM_FIELD, withSystem(Prompt.of(prompt).withJsonSchema(readSchema())));
    }
    return out;
  }

  private String readSchema() {
    if (jsonSchema == null) return null;
    try {
      return Files.readString(jsonSchema);
    } catch (IOException e) {
      throw new IllegalArgumentException("--json-schema: cannot read " + jsonSchema + ": " + e.getMessage());
    }
  }

  private static PromptPreset preset(String name) {
    return PromptPreset.byName(name.trim().toLowerCase(Locale.ROOT))
        .orElseThrow(() -> new IllegalArgumentException("unknown preset '" + name + "' (" + PromptPreset.names() + ")"));
  }

  private Prompt withSystem(Prompt p) {
    return system == null ? p : p.withSystemPrompt(system);
  }

  SamplingParams sampling() {
    return temperature == 0
        ? SamplingParams.greedy(maxNewTokens)
        : SamplingParams.sampled(temperature, 20, 0.8f, maxNewTokens, 0);
  }

  Duration timeout() {
    return timeoutMs > 0 ? Duration.ofMillis(timeoutMs) : null;
  }
}
