package dev.loupe.elasticsearch.processor;

import dev.loupe.Loupe;
import dev.loupe.LoupeException;
import dev.loupe.ModelInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.elasticsearch.cluster.metadata.ProjectId;
import org.elasticsearch.ingest.AbstractProcessor;
import org.elasticsearch.ingest.ConfigurationUtils;
import org.elasticsearch.ingest.IngestDocument;
import org.elasticsearch.ingest.Processor;

/**
 * {@code loupe_model_info}: writes the native library's version and the facts of the node's
 * configured model ({@code loupe.model.path}) into {@code target_field}. The walking skeleton
 * through every layer: pipeline → plugin → JavaCPP → libloupe → config.json.
 */
public final class ModelInfoProcessor extends AbstractProcessor {
  public static final String TYPE = "loupe_model_info";

  private final Path modelDir;
  private final String targetField;

  ModelInfoProcessor(String tag, String description, Path modelDir, String targetField) {
    super(tag, description);
    this.modelDir = modelDir;
    this.targetField = targetField;
  }

  @Override
  public String getType() {
    return TYPE;
  }

  @Override
  public IngestDocument execute(IngestDocument document) {
    ModelInfo info;
    try {
      info = Loupe.inspectModel(modelDir);
    } catch (LoupeException e) {
      throw new IllegalStateException("loupe [" + e.kind().nativeName() + "]: " + e.getMessage(), e);
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("loupe_version", Loupe.version());
    result.put("model", asMap(info));
    document.setFieldValue(targetField, result);
    return document;
  }

  static Map<String, Object> asMap(ModelInfo info) {
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("architecture", info.architecture());
    model.put("model_type", info.modelType());
    model.put("text_hidden_size", info.textHiddenSize());
    model.put("text_layers", info.textLayers());
    model.put("text_heads", info.textHeads());
    model.put("text_kv_heads", info.textKvHeads());
    model.put("text_head_dim", info.textHeadDim());
    model.put("vocab_size", info.vocabSize());
    model.put("vision_depth", info.visionDepth());
    model.put("vision_hidden_size", info.visionHiddenSize());
    model.put("deepstack_layers", info.deepstackLayers());
    model.put("tie_word_embeddings", info.tieWordEmbeddings());
    return model;
  }

  /** Options: {@code target_field} (default {@code "loupe"}). */
  public static final class Factory implements Processor.Factory {
    private final Path modelDir;
    private final Runnable loadNative;

    /**
     * @param modelDir the node's {@code loupe.model.path}, resolved; null when unset
     * @param loadNative makes libloupe callable (idempotent)
     */
    public Factory(Path modelDir, Runnable loadNative) {
      this.modelDir = modelDir;
      this.loadNative = loadNative;
    }

    @Override
    public ModelInfoProcessor create(
        Map<String, Processor.Factory> factories,
        String tag,
        String description,
        Map<String, Object> config,
        ProjectId projectId) {
      String targetField = ConfigurationUtils.readStringProperty(TYPE, tag, config, "target_field", "loupe");
      if (modelDir == null) {
        throw ConfigurationUtils.newConfigurationException(
            TYPE, tag, "loupe.model.path", "node setting [loupe.model.path] is not set on this node");
      }
      if (!Files.isDirectory(modelDir)) {
        throw ConfigurationUtils.newConfigurationException(
            TYPE, tag, "loupe.model.path", "model directory [" + modelDir + "] does not exist");
      }
      loadNative.run();
      return new ModelInfoProcessor(tag, description, modelDir, targetField);
    }
  }
}
