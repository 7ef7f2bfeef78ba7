package dev.loupe;

import java.time.Duration;
import java.util.Objects;

/**
 * A Qwen3-VL-Embedding request: the input, an instruction (null: "Represent the user's
 * input."; a "." is appended unless it ends in punctuation), the leading dimensions to keep
 * (Matryoshka, at least {@link ModelCapabilities#minEmbeddingDimensions()}; 0: all), the resize
 * budget per image (0: the reference's 1800 merged tokens, capped by the engine's
 * {@code max_pixels}) and a deadline (null: none).
 */
public record EmbedRequest(RetrievalInput input, String instruction, int dimensions, long maxPixels, Duration timeout) {
  public EmbedRequest {
    Objects.requireNonNull(input, "input");
    if (dimensions < 0) throw new InvalidRequestException("dimensions must be >= 0, got " + dimensions);
    if (maxPixels < 0) throw new InvalidRequestException("maxPixels must be >= 0, got " + maxPixels);
  }

  public static EmbedRequest of(RetrievalInput input) {
    return new EmbedRequest(input, null, 0, 0, null);
  }

  public EmbedRequest withInstruction(String text) {
    return new EmbedRequest(input, text, dimensions, maxPixels, timeout);
  }

  public EmbedRequest withDimensions(int count) {
    return new EmbedRequest(input, instruction, count, maxPixels, timeout);
  }

  public EmbedRequest withMaxPixels(long pixels) {
    return new EmbedRequest(input, instruction, dimensions, pixels, timeout);
  }

  public EmbedRequest withTimeout(Duration deadline) {
    return new EmbedRequest(input, instruction, dimensions, maxPixels, deadline);
  }
}
