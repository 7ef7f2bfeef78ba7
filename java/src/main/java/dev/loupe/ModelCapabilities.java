package dev.loupe;

import java.util.HashMap;
import java.util.Map;

/**
 * What a loaded checkpoint can do. An embedding checkpoint (modules.json with last-token
 * pooling, or no output head) embeds and refuses to caption; scoring needs an output head and
 * the single tokens "yes" and "no".
 */
public record ModelCapabilities(
    boolean embeddingModel, boolean canGenerate, boolean canScore, int embeddingSize, int minEmbeddingDimensions) {

  /** Parses the native {@code name=value} lines (C++ ModelCapabilities member names). */
  static ModelCapabilities fromLines(String lines) {
    Map<String, String> values = new HashMap<>();
    for (String line : lines.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) values.put(line.substring(0, eq), line.substring(eq + 1));
    }
    return new ModelCapabilities(
        Boolean.parseBoolean(values.get("embedding_model")),
        Boolean.parseBoolean(values.get("can_generate")),
        Boolean.parseBoolean(values.get("can_score")),
        Integer.parseInt(values.getOrDefault("embedding_size", "0")),
        Integer.parseInt(values.getOrDefault("min_embedding_dimensions", "0")));
  }
}
