package dev.loupe;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How {@link Loupe#open} loads a model. Immutable; start from {@link #defaults()}. The options,
 * their types and defaults are the native library's ({@link #descriptions()}, read from the
 * catalog the native build generates), so Java never restates them: {@link #with(String,
 * Object)} sets any option by its native name, the typed withers are shorthands for the
 * common ones. Zero means "the native default" for the memory and pixel settings.
 *
 * <p>CPU numerics: {@code cpu_bf16_activations} is how linears with bf16 weights take their
 * activations, {@code "rounded"} (bf16, as PyTorch computes a bf16 checkpoint: the fast path),
 * {@code "exact"} (what the fp32-upcast model computes). {@code int8_text_weights} quantises the
 * text decoder's linears to int8 at load (weight-only, one scale per output row): half the
 * weight bytes per decoded token.
 *
 * <p>GPU: {@code decode_graphs} (default on) replays each text-only decode step as a CUDA graph
 * recorded once per batch size and context bucket, one launch instead of hundreds; off, every
 * step launches its kernels. The CPU ignores it.
 */
public final class Options {
  private static final String CATALOG = "options.tsv";
  private static final Map<String, OptionDescription> DESCRIPTIONS = readCatalog();

  /** The accepted values of {@link #cpuBf16Activations()}. */
  public static final Set<String> CPU_BF16_ACTIVATIONS = Set.copyOf(DESCRIPTIONS.get("cpu_bf16_activations").choices());

  private static final Options DEFAULTS = new Options(defaultValues());

  private final Map<String, String> values;  // every option, in text form, in catalog order

  private Options(Map<String, String> values) {
    this.values = Collections.unmodifiableMap(values);
  }

  public static Options defaults() {
    return DEFAULTS;
  }

  /** Every option the native library takes, in its order. */
  public static List<OptionDescription> descriptions() {
    return List.copyOf(DESCRIPTIONS.values());
  }

  /** This with option {@code name} (native name, e.g. {@code "max_running"}) set to {@code value}. */
  public Options with(String name, Object value) {
    OptionDescription description = DESCRIPTIONS.get(name);
    if (description == null) {
      throw new IllegalArgumentException("unknown option '" + name + "' (" + String.join(", ", DESCRIPTIONS.keySet()) + ")");
    }
    Map<String, String> changed = new LinkedHashMap<>(values);
    changed.put(name, description.textOf(value));
    return new Options(changed);
  }

  /** The value of option {@code name} in text form. */
  public String value(String name) {
    String value = values.get(name);
    if (value == null) throw new IllegalArgumentException("unknown option '" + name + "'");
    return value;
  }

  public Options withDevice(String value) { return with("device", value); }
  public Options withThreads(int value) { return with("threads", value); }
  public Options withKvCacheBytes(long value) { return with("kv_cache_bytes", value); }
  public Options withMaxRunning(int value) { return with("max_running", value); }
  public Options withQueueLimit(int value) { return with("queue_limit", value); }
  public Options withPrefixCache(boolean value) { return with("prefix_cache", value); }
  /** {@code "rounded"}, {@code "exact"} or {@code ""}; see the class comment. */
  public Options withCpuBf16Activations(String value) { return with("cpu_bf16_activations", value); }
  public Options withInt8TextWeights(boolean value) { return with("int8_text_weights", value); }
  public Options withDecodeGraphs(boolean value) { return with("decode_graphs", value); }

  /** Default resize budget in pixels (Qwen's min_pixels / max_pixels). */
  public Options withPixels(long min, long max) {
    return with("min_pixels", min).with("max_pixels", max);
  }

  public Options withImageLimits(long maxBytes, long maxPixelsDecoded, int maxImages) {
    return with("max_encoded_bytes", maxBytes).with("max_decoded_pixels", maxPixelsDecoded).with("max_images_per_request", maxImages);
  }

  public String device() { return value("device"); }
  public int threads() { return Integer.parseInt(value("threads")); }
  public long kvCacheBytes() { return Long.parseLong(value("kv_cache_bytes")); }
  public int maxRunning() { return Integer.parseInt(value("max_running")); }
  public int queueLimit() { return Integer.parseInt(value("queue_limit")); }
  public int maxPromptTokens() { return Integer.parseInt(value("max_prompt_tokens")); }
  public boolean prefixCache() { return Boolean.parseBoolean(value("prefix_cache")); }
  public long minPixels() { return Long.parseLong(value("min_pixels")); }
  public long maxPixels() { return Long.parseLong(value("max_pixels")); }
  public long maxImageBytes() { return Long.parseLong(value("max_encoded_bytes")); }
  public long maxDecodedPixels() { return Long.parseLong(value("max_decoded_pixels")); }
  public int maxImagesPerRequest() { return Integer.parseInt(value("max_images_per_request")); }
  public String cpuBf16Activations() { return value("cpu_bf16_activations"); }
  public boolean int8TextWeights() { return Boolean.parseBoolean(value("int8_text_weights")); }
  public boolean decodeGraphs() { return Boolean.parseBoolean(value("decode_graphs")); }

  /** The form the native library parses: one "name=value" line per option. */
  String nativeLines() {
    StringBuilder out = new StringBuilder();
    values.forEach((name, value) -> out.append(name).append('=').append(value).append('\n'));
    return out.toString();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Options o && values.equals(o.values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return "Options" + values;
  }

  private static Map<String, String> defaultValues() {
    Map<String, String> out = new LinkedHashMap<>();
    DESCRIPTIONS.forEach((name, description) -> out.put(name, description.defaultValue()));
    return out;
  }

  // name<TAB>type<TAB>default<TAB>choices joined by '|'<TAB>doc, written by cpp/tools/options-catalog.
  private static Map<String, OptionDescription> readCatalog() {
    InputStream in = Options.class.getResourceAsStream(CATALOG);
    if (in == null) {
      throw new IllegalStateException("dev/loupe/" + CATALOG + " is missing from the loupe-runtime jar (built with libloupe)");
    }
    Map<String, OptionDescription> out = new LinkedHashMap<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        String[] fields = line.split("\t", -1);
        if (fields.length != 5) throw new IllegalStateException("malformed options catalog line: " + line);
        List<String> choices = fields[3].isEmpty() ? List.of() : Arrays.asList(fields[3].split("\\|", -1));
        out.put(fields[0], new OptionDescription(fields[0], fields[1], fields[2], choices, fields[4]));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Collections.unmodifiableMap(out);
  }
}
