package dev.loupe;

import java.time.Duration;
import java.util.Objects;

/**
 * A Qwen3-VL-Embedding request: the input, an instruction (null: "Represent the user's
 * input."; a "." is appended unless it ends in punctuation), the leading dimensions to keep
 * (Matryoshka, at least {@link ModelCapabilities#minEmbeddingDimensions()}; 0: all) and a
 * deadline (null: none).
 */
public record EmbedRequest(RetrievalInput input, String instruction, int dimensions, Duration timeout) {
  public EmbedRequest {
    Objects.requireNonNull(input, "input");
    if (dimensions < 0) throw new InvalidRequestException("dimensions must be >= 0, got " + dimensions);
  }

  public static EmbedRequest of(RetrievalInput input) {
    return new EmbedRequest(input, null, 0, null);
  }

  public EmbedRequest withInstruction(String text) {
    return new EmbedRequest(input, text, dimensions, timeout);
  }

  public EmbedRequest withDimensions(int count) {
    return new EmbedRequest(input, instruction, count, timeout);
  }

  public EmbedRequest withTimeout(Duration deadline) {
    return new EmbedRequest(input, instruction, dimensions, deadline);
  }
}
