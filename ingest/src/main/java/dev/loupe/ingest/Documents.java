package dev.loupe.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;

/** The JSON shape of one image's results, shared by `caption` and `bulk`. */
public final class Documents {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The field of the caller's own prompt (CLI --prompt); presets write their option name. */
  public static final String CUSTOM_FIELD = "custom";

  private Documents() {}

  public static ObjectNode json(ImageCaptions result) {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("path", result.path().toString());
    if (!result.ok()) {
      doc.put("error", result.error());
      return doc;
    }
    result.texts().forEach(doc::put);
    // Per output field, "stop" (the model ended it) or "length" (cut by max_new_tokens).
    ObjectNode reasons = doc.putObject("finish_reason");
    result.finishReasons().forEach(reasons::put);
    ObjectNode stats = doc.putObject("loupe");
    stats.put("generated_tokens", result.generatedTokens());
    stats.put("prompt_tokens", result.promptTokens());
    stats.put("cached_tokens", result.cachedTokens());
    stats.put("took_ms", Math.round(result.totalMs() * 10) / 10.0);
    return doc;
  }

  public static String line(Object node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
