package dev.loupe.elasticsearch;

import java.nio.file.Path;
import java.util.List;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;

/**
 * Node settings of the plugin. The model comes from the node's configuration, never from a
 * pipeline: whoever can define pipelines must not be able to point the node at arbitrary
 * files.
 */
public final class LoupeSettings {
  private LoupeSettings() {}

  /** Checkpoint directory; relative paths resolve against the node's config directory. */
  public static final Setting<String> MODEL_PATH = Setting.simpleString("loupe.model.path", Setting.Property.NodeScope);

  public static List<Setting<?>> all() {
    return List.of(MODEL_PATH);
  }

  /** The configured model directory, or null when {@code loupe.model.path} is unset. */
  public static Path modelDirectory(Settings settings, Path configDir) {
    String value = MODEL_PATH.get(settings);
    if (value == null || value.isBlank()) {
      return null;
    }
    return configDir.resolve(value).normalize();
  }

  public static Path modelDirectory(Environment environment) {
    return modelDirectory(environment.settings(), environment.configDir());
  }
}
