package dev.loupe.elasticsearch.processor;

import static org.elasticsearch.ingest.ConfigurationUtils.newConfigurationException;
import static org.elasticsearch.ingest.ConfigurationUtils.readBooleanProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalList;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalStringProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readStringProperty;

import dev.loupe.InvalidRequestException;
import dev.loupe.OutputConstraint;
import dev.loupe.Prompt;
import dev.loupe.PromptPreset;
import dev.loupe.SamplingParams;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.NodeModels;
import java.io.IOException;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.elasticsearch.cluster.metadata.ProjectId;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.Processor;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentFactory;

/**
 * Reads an {@code image_caption} processor's options. Every problem is a configuration error
 * (HTTP 400) naming the option. Sampling defaults to greedy decoding, so a re-indexed image
 * gets the same caption; {@code temperature > 0} samples (reproducibly per {@code seed}). With
 * {@code json_schema} (or preset {@code tags}) the answer is constrained to the schema and
 * {@code target_field} holds the parsed object, for typed fields.
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
    boolean structured = prompt.constraint() != null;
    if (structured && config.containsKey("properties")) {
      throw newConfigurationException(
          TYPE, tag, "properties", "cannot be combined with a structured answer ([json_schema] or preset [tags]): the parsed answer is"
              + " what [target_field] holds");
    }
    EnumSet<ResultProperty> properties = structured ? EnumSet.noneOf(ResultProperty.class) : properties(tag, config);
    ModelOption.check(
        TYPE, tag, models, model, can -> can.canGenerate() && !can.embeddingModel(),
        "is an embedding checkpoint: it embeds (image_embedding), it does not caption");
    if (structured) checkConstraint(tag, model, prompt.constraint());
    return new ImageCaptionProcessor(
        tag, description, field, targetField, model, new CaptionJob(prompt, sampling, minPixels, maxPixels), ignoreMissing,
        removeBinary, properties, models, threadContext);
  }

  /** The prompt (or preset) and the shape of its answer: {@code json_schema}, or the preset's own schema. */
  private static Prompt prompt(String tag, Map<String, Object> config) {
    String text = readOptionalStringProperty(TYPE, tag, config, "prompt");
    String presetName = readOptionalStringProperty(TYPE, tag, config, "preset");
    String schema = jsonSchema(tag, config);
    if (text != null && presetName != null) {
      throw newConfigurationException(TYPE, tag, "prompt", "cannot be combined with [preset]: give one or the other");
    }
    if (text != null) {
      if (text.isBlank()) throw newConfigurationException(TYPE, tag, "prompt", "must not be empty");
      return Prompt.of(text).withJsonSchema(schema);
    }
    PromptPreset preset = presetName == null
        ? PromptPreset.CAPTION
        : PromptPreset.byName(presetName)
            .orElseThrow(() -> newConfigurationException(
                TYPE, tag, "preset", "unknown preset [" + presetName + "], expected one of [" + PromptPreset.names() + "]"));
    if (schema != null && preset.jsonSchema().isPresent()) {
      throw newConfigurationException(
          TYPE, tag, "json_schema", "cannot be combined with preset [" + preset.optionName() + "], which has its own schema");
    }
    return schema == null ? preset.prompt() : preset.prompt().withJsonSchema(schema);
  }

  /** {@code json_schema}: a JSON Schema object in the pipeline, as JSON text; absent: null. */
  private static String jsonSchema(String tag, Map<String, Object> config) {
    Object value = config.remove("json_schema");
    if (value == null) return null;
    if (!(value instanceof Map<?, ?> schema)) {
      throw newConfigurationException(TYPE, tag, "json_schema", "must be a JSON Schema object, got [" + value + "]");
    }
    try (XContentBuilder json = XContentFactory.jsonBuilder()) {
      json.map(castMap(schema));
      return Strings.toString(json);
    } catch (IOException e) {
      throw newConfigurationException(TYPE, tag, "json_schema", "cannot be written as JSON: " + e.getMessage());
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> map) {
    return (Map<String, Object>) map;
  }

  /** Compiles the constraint on this node's model, if it serves it and has loaded it (as ModelOption.check). */
  private void checkConstraint(String tag, String model, OutputConstraint constraint) {
    ModelService service = models.get(model);
    if (service == null) return;
    try {
      service.checkConstraint(constraint);
    } catch (InvalidRequestException e) {
      throw newConfigurationException(TYPE, tag, "json_schema", e.getMessage());
    }
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
