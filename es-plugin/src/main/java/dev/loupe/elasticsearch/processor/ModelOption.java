package dev.loupe.elasticsearch.processor;

import static org.elasticsearch.ingest.ConfigurationUtils.newConfigurationException;
import static org.elasticsearch.ingest.ConfigurationUtils.readStringProperty;

import dev.loupe.ModelCapabilities;
import dev.loupe.elasticsearch.models.ModelConfig;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.NodeModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A processor's {@code model} option: the name of one of the node's models (node settings
 * give the path; a pipeline never can). Checked where it can be: a model this node serves
 * must exist, have loaded (if it has) and be able to do the job; a name this node does not
 * serve is accepted, since pipelines are cluster-wide and another ingest node may serve it
 * (documents that reach a node without it fail with the reason).
 */
final class ModelOption {
  private ModelOption() {}

  static String read(String type, String tag, Map<String, Object> config) {
    String name = readStringProperty(type, tag, config, "model", ModelConfig.DEFAULT);
    if (!ModelConfig.isValidName(name)) {
      throw newConfigurationException(
          type, tag, "model", "must name one of the node's models (loupe.models.<name>.path in elasticsearch.yml), got [" + name
              + "]");
    }
    return name;
  }

  /**
   * @param able what the job needs from the checkpoint
   * @param unable why a checkpoint without it cannot do the job
   */
  static void check(
      String type, String tag, NodeModels models, String name, Predicate<ModelCapabilities> able, String unable) {
    ModelService model = models.get(name);
    if (model == null) {
      return;
    }
    String setting = name.equals(ModelConfig.DEFAULT) ? "loupe.model.path" : "loupe.models." + name + ".path";
    Path dir = model.config().path();
    if (!Files.isRegularFile(dir.resolve("config.json"))) {
      throw newConfigurationException(type, tag, setting, "model directory [" + dir + "] does not exist or has no config.json");
    }
    String unusable = model.unusableReason();
    if (unusable != null) {
      throw newConfigurationException(type, tag, setting, unusable);
    }
    ModelCapabilities capabilities = model.capabilities();
    if (capabilities != null && !able.test(capabilities)) {
      throw newConfigurationException(type, tag, "model", "model [" + name + "] " + unable);
    }
  }
}
