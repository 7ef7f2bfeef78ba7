package dev.loupe.elasticsearch.processor;

import static org.elasticsearch.ingest.ConfigurationUtils.newConfigurationException;
import static org.elasticsearch.ingest.ConfigurationUtils.readBooleanProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalList;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalStringProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readStringProperty;

import dev.loupe.Prompt;
import dev.loupe.PromptPreset;
import dev.loupe.SamplingParams;
import dev.loupe.elasticsearch.models.NodeModels;
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

  private final NodeModels models;
  private final ThreadContext threadContext;
  private final long maxResizePixels;

  /**
   * @param maxResizePixels the node's {@code loupe.image.max_resize_pixels}: the most a
   *     processor's {@code max_pixels} may ask for (0: no bound beyond the runtime's own)
   */
  public ImageCaptionFactory(NodeModels models, ThreadContext threadContext, long maxResizePixels) {
    this.models = models;
    this.threadContext = threadContext;
    this.maxResizePixels = maxResizePixels;
  }

  @Override
  public ImageCaptionProcessor create(
      Map<String, Processor.Factory> factories, String tag, String description, Map<String, Object> config, ProjectId projectId) {
    String field = readStringProperty(TYPE, tag, config, "field");
    String targetField = readStringProperty(TYPE, tag, config, "target_field", "caption");
    String model = ModelOption.read(TYPE, tag, config);
    Prompt prompt = prompt(tag, config);
    SamplingParams sampling = sampling(tag, config);
    long minPixels = ConfigOptions.pixels(TYPE, tag, config, "min_pixels", maxResizePixels);
    long maxPixels = ConfigOptions.pixels(TYPE, tag, config, "max_pixels", maxResizePixels);
    if (minPixels > 0 && maxPixels > 0 && minPixels > maxPixels) {
      throw newConfigurationException(TYPE, tag, "min_pixels", "must not exceed [max_pixels] (" + maxPixels + "), got " + minPixels);
    }
    boolean ignoreMissing = readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
    boolean removeBinary = readBooleanProperty(TYPE, tag, config, "remove_binary", false);
    EnumSet<ResultProperty> properties = properties(tag, config);
    ModelOption.check(
        TYPE, tag, models, model, can -> can.canGenerate() && !can.embeddingModel(),
        "is an embedding checkpoint: it embeds (image_embedding), it does not caption");
    return new ImageCaptionProcessor(
        tag, description, field, targetField, model, new CaptionJob(prompt, sampling, minPixels, maxPixels), ignoreMissing,
        removeBinary, properties, models, threadContext);
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
    int maxNewTokens = (int) ConfigOptions.integer(TYPE, tag, config, "max_new_tokens", MAX_NEW_TOKENS_DEFAULT, 1, MAX_NEW_TOKENS_LIMIT);
    double temperature = ConfigOptions.decimal(TYPE, tag, config, "temperature", 0.0);
    double topP = ConfigOptions.decimal(TYPE, tag, config, "top_p", 1.0);
    int topK = (int) ConfigOptions.integer(TYPE, tag, config, "top_k", 0, 0, Integer.MAX_VALUE);
    double repetitionPenalty = ConfigOptions.decimal(TYPE, tag, config, "repetition_penalty", 1.0);
    long seed = ConfigOptions.integer(TYPE, tag, config, "seed", 0, Long.MIN_VALUE, Long.MAX_VALUE);
    try {
      return new SamplingParams((float) temperature, topK, (float) topP, 0f, (float) repetitionPenalty, maxNewTokens, seed);
    } catch (SamplingParams.InvalidException e) {
      throw newConfigurationException(TYPE, tag, e.field(), e.reason());
    }
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
}
