package dev.loupe.elasticsearch.models;

import dev.loupe.Options;
import dev.loupe.elasticsearch.LoupeSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Settings;

/**
 * One model a node serves, as its node settings describe it. {@code loupe.model.path} is the
 * model named {@value #DEFAULT}; {@code loupe.models.<name>.path} adds more. Each model's
 * device and limits ({@code loupe.models.<name>.device}, ...) default to the node-wide
 * settings ({@code loupe.device}, ...); image limits, deadlines and engine options are node-wide.
 */
public record ModelConfig(String name, Path path, String device, int threads, long kvCacheBytes, int maxRunning, int queueSize) {
  /** The name of the model {@code loupe.model.path} configures, and what processors use by default. */
  public static final String DEFAULT = "default";

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");

  /** Lowercase letters, digits, '_' and '-', at most 64: never a path. */
  public static boolean isValidName(String name) {
    return NAME.matcher(name).matches();
  }

  /**
   * Every model the settings configure, by name, in a stable order ({@value #DEFAULT} first).
   *
   * @throws IllegalArgumentException naming the setting at fault
   */
  public static Map<String, ModelConfig> all(Settings settings, Path configDir) {
    Map<String, ModelConfig> models = new LinkedHashMap<>();
    String single = LoupeSettings.MODEL_PATH.get(settings);
    if (single != null && !single.isBlank()) {
      models.put(DEFAULT, of(DEFAULT, configDir.resolve(single).normalize(), settings));
    }
    TreeSet<String> named = new TreeSet<>();
    for (Setting.AffixSetting<?> perModel : LoupeSettings.PER_MODEL) {
      named.addAll(perModel.getNamespaces(settings));
    }
    for (String name : named) {
      String pathKey = LoupeSettings.MODEL_PATHS.getConcreteSettingForNamespace(name).getKey();
      if (!isValidName(name)) {
        throw new IllegalArgumentException(
            "model name [" + name + "] in [" + pathKey + "] must be lowercase letters, digits, '_' or '-' (at most 64)");
      }
      if (name.equals(DEFAULT) && models.containsKey(DEFAULT)) {
        throw new IllegalArgumentException(
            "[" + pathKey + "] and [" + LoupeSettings.MODEL_PATH.getKey() + "] both name the model [default]: keep one");
      }
      String path = LoupeSettings.MODEL_PATHS.getConcreteSettingForNamespace(name).get(settings);
      if (path == null || path.isBlank()) {
        throw new IllegalArgumentException("model [" + name + "] has settings but no [" + pathKey + "]");
      }
      models.put(name, of(name, configDir.resolve(path).normalize(), settings));
    }
    return models;
  }

  /** The model {@code name} at {@code path} with its device and limits from {@code settings}. */
  public static ModelConfig of(String name, Path path, Settings settings) {
    return new ModelConfig(
        name,
        path,
        perModel(LoupeSettings.MODEL_DEVICES, LoupeSettings.DEVICE_SETTING, name, settings),
        perModel(LoupeSettings.MODEL_THREADS, LoupeSettings.THREADS, name, settings),
        perModel(LoupeSettings.MODEL_KV_CACHE_SIZES, LoupeSettings.KV_CACHE_SIZE, name, settings).getBytes(),
        perModel(LoupeSettings.MODEL_MAX_RUNNING, LoupeSettings.MAX_RUNNING, name, settings),
        perModel(LoupeSettings.MODEL_QUEUE_SIZES, LoupeSettings.QUEUE_SIZE, name, settings));
  }

  /** The model's own setting when set, else the node-wide one. */
  private static <T> T perModel(Setting.AffixSetting<T> own, Setting<T> nodeWide, String name, Settings settings) {
    Setting<T> concrete = own.getConcreteSettingForNamespace(name);
    return concrete.exists(settings) ? concrete.get(settings) : nodeWide.get(settings);
  }

  /** The names of {@code models}, comma separated, for messages and the node attribute. */
  public static String names(Iterable<String> models) {
    List<String> names = new ArrayList<>();
    models.forEach(names::add);
    return String.join(",", names);
  }

  /**
   * The runtime options for this model: its own device and limits over the node-wide options.
   * The engine admits at most max_running + 1 requests: the plugin keeps everything else in
   * its own queue, holding only encoded bytes.
   */
  public Options engineOptions(Settings settings) {
    return LoupeSettings.nodeOptions(settings)
        .withDevice(device)
        .withThreads(threads)
        .withKvCacheBytes(kvCacheBytes)
        .withMaxRunning(maxRunning)
        .withQueueLimit(queueSize);
  }
}
