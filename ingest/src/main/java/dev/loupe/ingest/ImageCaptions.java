package dev.loupe.ingest;

import dev.loupe.Caption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything generated for one image: text per preset (caption, keywords, ocr, ...), or
 * the error that stopped it, with token and time totals over its requests.
 */
public record ImageCaptions(
    Path path, Map<String, String> texts, String error, int generatedTokens, int promptTokens, int cachedTokens,
    double totalMs) {

  public static ImageCaptions failed(Path path, String error) {
    return new ImageCaptions(path, Map.of(), error, 0, 0, 0, 0);
  }

  public static ImageCaptions of(Path path, Map<String, Caption> byPreset) {
    Map<String, String> texts = new LinkedHashMap<>();
    int generated = 0;
    int prompt = 0;
    int cached = 0;
    double ms = 0;
    for (Map.Entry<String, Caption> entry : byPreset.entrySet()) {
      Caption caption = entry.getValue();
      texts.put(entry.getKey(), caption.text().strip());
      generated += caption.tokenIds().size();
      prompt += caption.promptTokens();
      cached += caption.cachedTokens();
      ms = Math.max(ms, caption.timings().total());
    }
    return new ImageCaptions(path, texts, null, generated, prompt, cached, ms);
  }

  public boolean ok() {
    return error == null;
  }
}
