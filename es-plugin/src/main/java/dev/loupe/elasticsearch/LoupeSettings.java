package dev.loupe.elasticsearch;

import dev.loupe.Options;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Setting.Property;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;

/**
 * Node settings of the plugin (elasticsearch.yml only). The model and every resource limit
 * come from the node's configuration, never from a pipeline: whoever can define pipelines
 * must not be able to point the node at arbitrary files or lift its limits.
 */
public final class LoupeSettings {
  private LoupeSettings() {}

  private static final Pattern DEVICE = Pattern.compile("cpu|cuda(:\\d+)?");

  /**
   * Checkpoint directory of the model named {@code default}; relative paths resolve against the
   * node's config directory.
   */
  public static final Setting<String> MODEL_PATH = Setting.simpleString("loupe.model.path", Property.NodeScope);

  /** {@code cpu} or {@code cuda:N}. */
  public static final Setting<String> DEVICE_SETTING = deviceSetting("loupe.device");

  private static Setting<String> deviceSetting(String key) {
    return Setting.simpleString(
        key,
        "cpu",
        value -> {
          if (!DEVICE.matcher(value).matches()) {
            throw new IllegalArgumentException("[" + key + "] must be [cpu] or [cuda:N], got [" + value + "]");
          }
        },
        Property.NodeScope);
  }

  /** CPU threads of the native runtime; 0 = every core. */
  public static final Setting<Integer> THREADS = Setting.intSetting("loupe.threads", 0, 0, Property.NodeScope);

  /** Memory budget of the KV-cache pool; 0 = the runtime's default share of free memory. */
  public static final Setting<ByteSizeValue> KV_CACHE_SIZE =
      Setting.byteSizeSetting("loupe.kv_cache.size", ByteSizeValue.ZERO, Property.NodeScope);

  /** Documents generating at once (one batch in the engine). */
  public static final Setting<Integer> MAX_RUNNING = Setting.intSetting("loupe.batch.max_running", 16, 1, 1024, Property.NodeScope);

  /** Documents waiting for a batch slot; more are rejected ("queue is full") so clients back off. */
  public static final Setting<Integer> QUEUE_SIZE = Setting.intSetting("loupe.queue.size", 1024, 1, 1_000_000, Property.NodeScope);

  /** Per-document deadline from arrival at the processor to the caption; -1 = none. */
  public static final Setting<TimeValue> TIMEOUT =
      Setting.timeSetting("loupe.timeout", TimeValue.timeValueMinutes(5), TimeValue.MINUS_ONE, Property.NodeScope);

  /** Largest encoded image accepted. */
  public static final Setting<ByteSizeValue> IMAGE_MAX_BYTES =
      Setting.byteSizeSetting(
          "loupe.image.max_bytes",
          ByteSizeValue.ofBytes(Options.defaults().maxImageBytes()),
          ByteSizeValue.ofBytes(1),
          ByteSizeValue.ofGb(1),
          Property.NodeScope);

  /** Largest decoded image (width x height, checked from the header before decoding). */
  public static final Setting<Long> IMAGE_MAX_PIXELS =
      Setting.longSetting("loupe.image.max_pixels", Options.defaults().maxDecodedPixels(), 1, Property.NodeScope);

  /**
   * Resize budget: the default {@code max_pixels} an image is resized to before the vision
   * tower, and the most a processor's {@code max_pixels} may ask for. 0 = the checkpoint's
   * preprocessor_config.json, and processors are bounded only by the runtime's limits.
   */
  public static final Setting<Long> IMAGE_MAX_RESIZE_PIXELS =
      Setting.longSetting("loupe.image.max_resize_pixels", 0, 0, Property.NodeScope);

  /**
   * CPU: how linears with bf16 weights take their activations. {@code rounded} (bf16, as
   * PyTorch computes a bf16 checkpoint) is the fast path; {@code exact} computes what the
   * fp32-upcast model does, about 1.5x slower.
   */
  public static final Setting<String> CPU_BF16_ACTIVATIONS =
      Setting.simpleString(
          "loupe.cpu.bf16_activations",
          "rounded",
          value -> {
            if (!value.equals("rounded") && !value.equals("exact")) {
              throw new IllegalArgumentException(
                  "[loupe.cpu.bf16_activations] must be [rounded] or [exact], got [" + value + "]");
            }
          },
          Property.NodeScope);

  /**
   * CPU: quantise the text decoder's linears to int8 at load (weight-only, one scale per
   * output row): about half the weight bytes per generated token, so faster decoding on
   * memory-bound nodes, at a small accuracy cost.
   */
  public static final Setting<Boolean> CPU_INT8_WEIGHTS =
      Setting.boolSetting("loupe.cpu.int8_weights", false, Property.NodeScope);

  /**
   * CUDA: text-only decode steps replay a CUDA graph recorded once per batch size and context
   * bucket (one launch per step instead of hundreds). {@code false} launches every kernel each
   * step: the switch to reach for if a driver misbehaves with graphs.
   */
  public static final Setting<Boolean> CUDA_DECODE_GRAPHS =
      Setting.boolSetting("loupe.cuda.decode_graphs", true, Property.NodeScope);

  private static final String MODELS_PREFIX = "loupe.models.";

  /**
   * More models, by name: {@code loupe.models.<name>.path} (relative to the config directory),
   * and optionally the model's own {@code device}, {@code threads}, {@code kv_cache.size},
   * {@code batch.max_running} and {@code queue.size}, which otherwise are the node-wide ones.
   */
  public static final Setting.AffixSetting<String> MODEL_PATHS =
      Setting.affixKeySetting(MODELS_PREFIX, "path", key -> Setting.simpleString(key, Property.NodeScope));

  public static final Setting.AffixSetting<String> MODEL_DEVICES =
      Setting.affixKeySetting(MODELS_PREFIX, "device", LoupeSettings::deviceSetting);

  public static final Setting.AffixSetting<Integer> MODEL_THREADS =
      Setting.affixKeySetting(MODELS_PREFIX, "threads", key -> Setting.intSetting(key, 0, 0, Property.NodeScope));

  public static final Setting.AffixSetting<ByteSizeValue> MODEL_KV_CACHE_SIZES =
      Setting.affixKeySetting(
          MODELS_PREFIX, "kv_cache.size", key -> Setting.byteSizeSetting(key, ByteSizeValue.ZERO, Property.NodeScope));

  public static final Setting.AffixSetting<Integer> MODEL_MAX_RUNNING =
      Setting.affixKeySetting(
          MODELS_PREFIX, "batch.max_running", key -> Setting.intSetting(key, 16, 1, 1024, Property.NodeScope));

  public static final Setting.AffixSetting<Integer> MODEL_QUEUE_SIZES =
      Setting.affixKeySetting(
          MODELS_PREFIX, "queue.size", key -> Setting.intSetting(key, 1024, 1, 1_000_000, Property.NodeScope));

  /** Every per-model setting: a model is named by any of them (and then needs its path). */
  public static final List<Setting.AffixSetting<?>> PER_MODEL =
      List.of(MODEL_PATHS, MODEL_DEVICES, MODEL_THREADS, MODEL_KV_CACHE_SIZES, MODEL_MAX_RUNNING, MODEL_QUEUE_SIZES);

  /** Runtime options that have a setting of their own above (named here so loupe.engine.* refuses them). */
  private static final Map<String, String> OWN_SETTING =
      Map.ofEntries(
          Map.entry("device", DEVICE_SETTING.getKey()),
          Map.entry("threads", THREADS.getKey()),
          Map.entry("kv_cache_bytes", KV_CACHE_SIZE.getKey()),
          Map.entry("max_running", MAX_RUNNING.getKey()),
          Map.entry("queue_limit", QUEUE_SIZE.getKey()),
          Map.entry("max_encoded_bytes", IMAGE_MAX_BYTES.getKey()),
          Map.entry("max_decoded_pixels", IMAGE_MAX_PIXELS.getKey()),
          Map.entry("min_pixels", IMAGE_MAX_RESIZE_PIXELS.getKey()),
          Map.entry("max_pixels", IMAGE_MAX_RESIZE_PIXELS.getKey()),
          Map.entry("cpu_bf16_activations", CPU_BF16_ACTIVATIONS.getKey()),
          Map.entry("int8_text_weights", CPU_INT8_WEIGHTS.getKey()),
          Map.entry("decode_graphs", CUDA_DECODE_GRAPHS.getKey()));

  private static final String ENGINE_PREFIX = "loupe.engine.";

  /**
   * Any other runtime option by its native name ({@link Options#descriptions()}), e.g.
   * {@code loupe.engine.max_batch_tokens: 4096}; checked against the native catalog at startup.
   */
  public static final Setting.AffixSetting<String> ENGINE_OPTION =
      Setting.prefixKeySetting(
          ENGINE_PREFIX,
          key -> Setting.simpleString(key, value -> engineOption(Options.defaults(), key, value), Property.NodeScope));

  private static Options engineOption(Options options, String key, String value) {
    String name = key.substring(ENGINE_PREFIX.length());
    if (OWN_SETTING.containsKey(name)) {
      throw new IllegalArgumentException("[" + key + "] is set through [" + OWN_SETTING.get(name) + "]");
    }
    try {
      return options.with(name, value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("[" + key + "]: " + e.getMessage(), e);
    }
  }

  public static List<Setting<?>> all() {
    List<Setting<?>> all = new java.util.ArrayList<>(List.of(
        MODEL_PATH, DEVICE_SETTING, THREADS, KV_CACHE_SIZE, MAX_RUNNING, QUEUE_SIZE, TIMEOUT, IMAGE_MAX_BYTES,
        IMAGE_MAX_PIXELS, IMAGE_MAX_RESIZE_PIXELS, CPU_BF16_ACTIVATIONS, CPU_INT8_WEIGHTS, CUDA_DECODE_GRAPHS,
        ENGINE_OPTION));
    all.addAll(PER_MODEL);
    return all;
  }

  /**
   * The runtime options every model of the node shares: image limits, resize budget, CPU and
   * CUDA modes, {@code loupe.engine.*}. Each model adds its device and limits
   * ({@link dev.loupe.elasticsearch.models.ModelConfig#engineOptions}).
   */
  public static Options nodeOptions(Settings settings) {
    Options options = Options.defaults();
    Settings engine = settings.getByPrefix(ENGINE_PREFIX);
    for (String name : engine.keySet()) options = engineOption(options, ENGINE_PREFIX + name, engine.get(name));
    return options
        .withPixels(0, IMAGE_MAX_RESIZE_PIXELS.get(settings))
        .with("max_encoded_bytes", IMAGE_MAX_BYTES.get(settings).getBytes())
        .with("max_decoded_pixels", IMAGE_MAX_PIXELS.get(settings))
        .withCpuBf16Activations(CPU_BF16_ACTIVATIONS.get(settings))
        .withInt8TextWeights(CPU_INT8_WEIGHTS.get(settings))
        .withDecodeGraphs(CUDA_DECODE_GRAPHS.get(settings));
  }
}
