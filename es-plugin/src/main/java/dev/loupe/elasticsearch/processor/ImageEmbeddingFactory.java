package dev.loupe.elasticsearch.processor;

import static org.elasticsearch.ingest.ConfigurationUtils.newConfigurationException;
import static org.elasticsearch.ingest.ConfigurationUtils.readBooleanProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readOptionalStringProperty;
import static org.elasticsearch.ingest.ConfigurationUtils.readStringProperty;

import dev.loupe.ModelCapabilities;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.NodeModels;
import java.util.Map;
import org.elasticsearch.cluster.metadata.ProjectId;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.Processor;

/**
 * Reads an {@code image_embedding} processor's options; every problem is a configuration error
 * (HTTP 400) naming the option. {@code dims} keeps the leading dimensions (Matryoshka, at
 * least the model's minimum), renormalised, so it must match the {@code dense_vector}
 * mapping's {@code dims}.
 */
public final class ImageEmbeddingFactory implements Processor.Factory {
  static final String TYPE = ImageEmbeddingProcessor.TYPE;
  /** The smallest Matryoshka prefix the runtime accepts (PoolingParams::kMinDimensions). */
  static final int MIN_DIMS = 64;
  /** Elasticsearch's dense_vector maximum. */
  static final int MAX_DIMS = 4096;

  private final NodeModels models;
  private final ThreadContext threadContext;
  private final long maxResizePixels;

  /** @param maxResizePixels the node's {@code loupe.image.max_resize_pixels} (0: no bound beyond the runtime's) */
  public ImageEmbeddingFactory(NodeModels models, ThreadContext threadContext, long maxResizePixels) {
    this.models = models;
    this.threadContext = threadContext;
    this.maxResizePixels = maxResizePixels;
  }

  @Override
  public ImageEmbeddingProcessor create(
      Map<String, Processor.Factory> factories, String tag, String description, Map<String, Object> config, ProjectId projectId) {
    String field = readOptionalStringProperty(TYPE, tag, config, "field");
    String textField = readOptionalStringProperty(TYPE, tag, config, "text_field");
    if (field == null && textField == null) {
      throw newConfigurationException(TYPE, tag, "field", "required property is missing (or give [text_field])");
    }
    String targetField = readStringProperty(TYPE, tag, config, "target_field", "embedding");
    String model = ModelOption.read(TYPE, tag, config);
    String instruction = readOptionalStringProperty(TYPE, tag, config, "instruction");
    if (instruction != null && instruction.isBlank()) {
      throw newConfigurationException(TYPE, tag, "instruction", "must not be empty");
    }
    int dims = (int) ConfigOptions.integer(TYPE, tag, config, "dims", 0, MIN_DIMS, MAX_DIMS);
    long maxPixels = ConfigOptions.pixels(TYPE, tag, config, "max_pixels", maxResizePixels);
    boolean ignoreMissing = readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
    boolean removeBinary = readBooleanProperty(TYPE, tag, config, "remove_binary", false);
    ModelOption.check(TYPE, tag, models, model, ModelCapabilities::embeddingModel,
        "is not an embedding checkpoint (no sentence-transformers last-token pooling): it cannot embed");
    checkDims(tag, model, dims);
    return new ImageEmbeddingProcessor(
        tag, description, field, textField, targetField, model, new EmbeddingJob(instruction, dims, maxPixels), ignoreMissing,
        removeBinary, models, threadContext);
  }

  private void checkDims(String tag, String model, int dims) {
    ModelService service = models.get(model);
    ModelCapabilities capabilities = service == null ? null : service.capabilities();
    if (dims > 0 && capabilities != null && dims > capabilities.embeddingSize()) {
      throw newConfigurationException(
          TYPE, tag, "dims", "must not exceed model [" + model + "]'s embedding size (" + capabilities.embeddingSize() + "), got " + dims);
    }
  }
}
