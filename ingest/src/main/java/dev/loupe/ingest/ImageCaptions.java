package dev.loupe.ingest;

import dev.loupe.Caption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything generated for one image: text per preset (caption, keywords, ocr, ...) and why
 * each stopped, or the error that stopped the image, with token and time totals over its
 * requests. {@code id} is the image's working-directory-independent name (ImageFiles).
 */
public record ImageCaptions(
    Path path, String id, Map<String, String> texts, Map<String, String> finishReasons, String error,
    int generatedTokens, int promptTokens, int cachedTokens, double totalMs) {

  public static ImageCaptions failed(ImageFiles.ImageFile image, String error) {
    return new ImageCaptions(image.path(), image.id(), Map.of(), Map.of(), error, 0, 0, 0, 0);
  }

  public static ImageCaptions of(ImageFiles.ImageFile image, Map<String, Caption> byPreset) {
    Map<String, String> texts = new LinkedHashMap<>();
    Map<String, String> reasons = new LinkedHashMap<>();
    int generated = 0;
    int prompt = 0;
    int cached = 0;
    double ms = 0;
    for (Map.Entry<String, Caption> entry : byPreset.entrySet()) {
      Caption caption = entry.getValue();
      texts.put(entry.getKey(), caption.text().strip());
      reasons.put(entry.getKey(), finishReason(caption.finishReason()));
      generated += caption.tokenIds().size();
      prompt += caption.promptTokens();
      cached += caption.cachedTokens();
      ms = Math.max(ms, caption.timings().total());
    }
    return new ImageCaptions(image.path(), image.id(), texts, reasons, null, generated, prompt, cached, ms);
  }

  /**
   * "stop" when the model ended the text (a stop token, sequence or string), "length" when
   * max_new_tokens cut it; the engine's finer names are one word here, as in OpenAI-style APIs.
   */
  static String finishReason(String engineReason) {
    return engineReason.startsWith("stop") ? "stop" : engineReason;
  }

  public boolean ok() {
    return error == null;
  }
}
