package dev.loupe.elasticsearch.processor;

import static org.elasticsearch.ingest.ConfigurationUtils.newConfigurationException;

import java.util.Map;

/**
 * Numeric processor options, read as {@code ConfigurationUtils} reads the rest (each read
 * removes the key; a bad value is a configuration error naming the option).
 */
final class ConfigOptions {
  private ConfigOptions() {}

  /** A whole number option (JSON number or numeric string) within [min, max]; absent: fallback. */
  static long integer(String type, String tag, Map<String, Object> config, String name, long fallback, long min, long max) {
    Object value = config.remove(name);
    if (value == null) {
      return fallback;
    }
    long parsed;
    try {
      parsed = value instanceof Number n && !(value instanceof Double || value instanceof Float) ? n.longValue() : Long.parseLong(value.toString());
    } catch (NumberFormatException e) {
      throw newConfigurationException(type, tag, name, "must be a whole number, got [" + value + "]");
    }
    if (parsed < min || parsed > max) {
      throw newConfigurationException(type, tag, name, "must be between " + min + " and " + max + ", got " + parsed);
    }
    return parsed;
  }

  static double decimal(String type, String tag, Map<String, Object> config, String name, double fallback) {
    Object value = config.remove(name);
    if (value == null) {
      return fallback;
    }
    try {
      return value instanceof Number n ? n.doubleValue() : Double.parseDouble(value.toString());
    } catch (NumberFormatException e) {
      throw newConfigurationException(type, tag, name, "must be a number, got [" + value + "]");
    }
  }

  /**
   * A resize budget in pixels, at most the node's {@code loupe.image.max_resize_pixels}
   * (0: bounded only by the runtime's limits); absent: 0, the model's default.
   */
  static long pixels(String type, String tag, Map<String, Object> config, String name, long nodeMax) {
    long value = integer(type, tag, config, name, 0, 1, Long.MAX_VALUE);
    if (nodeMax > 0 && value > nodeMax) {
      throw newConfigurationException(
          type, tag, name, "must not exceed the node's [loupe.image.max_resize_pixels] (" + nodeMax + "), got " + value);
    }
    return value;
  }
}
