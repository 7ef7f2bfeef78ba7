package dev.loupe;

import java.util.List;
import java.util.Objects;

/**
 * One side of a retrieval input: images (placed before the text, as the Qwen3-VL embedding and
 * reranker references place them) and text (null or empty: none). Neither: the model sees
 * "NULL", as the reference embeds empty input.
 */
public record RetrievalInput(List<ImageInput> images, String text) {
  public RetrievalInput {
    images = List.copyOf(Objects.requireNonNull(images, "images"));
    text = text == null ? "" : text;
  }

  public static RetrievalInput text(String text) {
    return new RetrievalInput(List.of(), text);
  }

  public static RetrievalInput image(ImageInput image) {
    return new RetrievalInput(List.of(image), "");
  }
}
