package dev.loupe.elasticsearch.processor;

import static org.elasticsearch.ingest.ConfigurationUtils.newConfigurationException;
import static org.elasticsearch.ingest.ConfigurationUtils.readBooleanProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalList;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalStringProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readStringProperty;

import dev.loupe.Prompt;
import dev.loupe.PromptPreset;
import dev.loupe.SamplingParams;
import dev.loupe.elasticsearch.captioning.CaptionJob;
import dev.loupe.elasticsearch.captioning.CaptionService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.elasticsearch.cluster.metadata.ProjectId;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.Processor;

/**
 * Reads an {@code image_caption} processor's options. Every problem is a configuration error
 * (HTTP 400) naming the option. Sampling defaults to greedy decoding, so a re-indexed image
 * gets the same caption; {@code temperature > 0} samples (reproducibly per {@code seed}).
 */
public final class ImageCaptionFactory implements Processor.Factory {
  static final String TYPE = ImageCaptionProcessor.TYPE;
  static final int MAX_NEW_TOKENS_DEFAULT = 128;
  static final int MAX_NEW_TOKENS_LIMIT = 4096;

  private final CaptionService service;
  private final ThreadContext threadContext;
  private final long maxResizePixels;

  /**
   * @param maxResizePixels the node's {@code loupe.image.max_resize_pixels}: the most a
   *     processor's {@code max_pixels} may ask for (0: no bound beyond the runtime's own)
   */
  public ImageCaptionFactory(CaptionService service, ThreadContext threadContext, long maxResizePixels) {
    this.service = service;
    this.threadContext = threadContext;
    this.maxResizePixels = maxResizePixels;
  }

  @Override
  public ImageCaptionProcessor create(
      Map<String, Processor.Factory> factories, String tag, String description, Map<String, Object> config, ProjectId projectId) {
    String field = readStringProperty(TYPE, tag, config, "field");
    String targetField = readStringProperty(TYPE, tag, config, "target_field", "caption");
    Prompt prompt = prompt(tag, config);
    SamplingParams sampling = sampling(tag, config);
    long minPixels = pixels(tag, config, "min_pixels");
    long maxPixels = pixels(tag, config, "max_pixels");
    if (minPixels > 0 && maxPixels > 0 && minPixels > maxPixels) {
      throw newConfigurationException(TYPE, tag, "min_pixels", "must not exceed [max_pixels] (" + maxPixels + "), got " + minPixels);
    }
    boolean ignoreMissing = readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
    boolean removeBinary = readBooleanProperty(TYPE, tag, config, "remove_binary", false);
    EnumSet<ResultProperty> properties = properties(tag, config);
    checkModel(tag);
    return new ImageCaptionProcessor(
        tag, description, field, targetField, new CaptionJob(prompt, sampling, minPixels, maxPixels), ignoreMissing, removeBinary,
        properties, service, threadContext);
  }

  /** A model that is configured but cannot work is a 400 now rather than a failure per document. */
  private void checkModel(String tag) {
    Path modelDir = service.modelDir();
    if (modelDir == null) {
      return;  // e.g. a dedicated master validating the pipeline: documents fail on nodes without a model
    }
    if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
      throw newConfigurationException(
          TYPE, tag, "loupe.model.path", "model directory [" + modelDir + "] does not exist or has no config.json");
    }
    String unusable = service.unusableReason();
    if (unusable != null) {
      throw newConfigurationException(TYPE, tag, "loupe.model.path", unusable);
    }
  }

  private static Prompt prompt(String tag, Map<String, Object> config) {
    String text = readOptionalStringProperty(TYPE, tag, config, "prompt");
    String presetName = readOptionalStringProperty(TYPE, tag, config, "preset");
    if (text != null && presetName != null) {
      throw newConfigurationException(TYPE, tag, "prompt", "cannot be combined with [preset]: give one or the other");
    }
    if (text != null) {
      if (text.isBlank()) throw newConfigurationException(TYPE, tag, "prompt", "must not be empty");
      return Prompt.of(text);
    }
    if (presetName == null) return PromptPreset.CAPTION.prompt();
    return PromptPreset.byName(presetName)
        .orElseThrow(() -> newConfigurationException(
            TYPE, tag, "preset", "unknown preset [" + presetName + "], expected one of [" + PromptPreset.names() + "]"))
        .prompt();
  }

  private static SamplingParams sampling(String tag, Map<String, Object> config) {
    // max_new_tokens is capped here (a cost bound); the ranges of the rest are SamplingParams'.
    int maxNewTokens = (int) integer(tag, config, "max_new_tokens", MAX_NEW_TOKENS_DEFAULT, 1, MAX_NEW_TOKENS_LIMIT);
    double temperature = decimal(tag, config, "temperature", 0.0);
    double topP = decimal(tag, config, "top_p", 1.0);
    int topK = (int) integer(tag, config, "top_k", 0, 0, Integer.MAX_VALUE);
    double repetitionPenalty = decimal(tag, config, "repetition_penalty", 1.0);
    long seed = integer(tag, config, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
    try {
      return new SamplingParams((float) temperature, topK, (float) topP, 0f, (float) repetitionPenalty, maxNewTokens, seed);
    } catch (SamplingParams.InvalidException e) {
      throw newConfigurationException(TYPE, tag, e.field(), e.reason());
    }
  }

  private long pixels(String tag, Map<String, Object> config, String name) {
    long value = integer(tag, config, name, 0, 1, Long.MAX_VALUE);
    if (maxResizePixels > 0 && value > maxResizePixels) {
      throw newConfigurationException(
          TYPE, tag, name, "must not exceed the node's [loupe.image.max_resize_pixels] (" + maxResizePixels + "), got " + value);
    }
    return value;
  }

  private static EnumSet<ResultProperty> properties(String tag, Map<String, Object> config) {
    List<Object> names = readOptionalList(TYPE, tag, config, "properties");
    if (names == null) {
      return EnumSet.copyOf(ResultProperty.DEFAULTS);
    }
    if (names.isEmpty()) {
      throw newConfigurationException(TYPE, tag, "properties", "must name at least one of [" + ResultProperty.names() + "]");
    }
    EnumSet<ResultProperty> properties = EnumSet.noneOf(ResultProperty.class);
    for (Object name : names) {
      ResultProperty property = name instanceof String s ? ResultProperty.byName(s) : null;
      if (property == null) {
        throw newConfigurationException(
            TYPE, tag, "properties", "illegal property [" + name + "], expected one of [" + ResultProperty.names() + "]");
      }
      properties.add(property);
    }
    return properties;
  }

  /** A whole number option (JSON number or numeric string) within [min, max]; absent: fallback. */
  private static long integer(String tag, Map<String, Object> config, String name, long fallback, long min, long max) {
    Object value = config.remove(name);
    if (value == null) {
      return fallback;
    }
    long parsed;
    try {
      parsed = value instanceof Number n && !(value instanceof Double || value instanceof Float) ? n.longValue() : Long.parseLong(value.toString());
    } catch (NumberFormatException e) {
      throw newConfigurationException(TYPE, tag, name, "must be a whole number, got [" + value + "]");
    }
    if (parsed < min || parsed > max) {
      throw newConfigurationException(TYPE, tag, name, "must be between " + min + " and " + max + ", got " + parsed);
    }
    return parsed;
  }

  private static double decimal(String tag, Map<String, Object> config, String name, double fallback) {
    Object value = config.remove(name);
    if (value == null) {
      return fallback;
    }
    try {
      return value instanceof Number n ? n.doubleValue() : Double.parseDouble(value.toString());
    } catch (NumberFormatException e) {
      throw newConfigurationException(TYPE, tag, name, "must be a number, got [" + value + "]");
    }
  }
}
