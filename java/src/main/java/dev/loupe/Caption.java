package dev.loupe;

import java.util.List;

/** A finished caption: the text, the generated ids (a final stop token included) and timings. */
public record Caption(
    String text,
    List<Integer> tokenIds,
    String finishReason,
    int promptTokens,
    int cachedTokens,
    Timings timings) {

  /** Milliseconds per stage; {@code total} runs from submit to completion in native code. */
  public record Timings(
      double image, double tokenize, double queue, double vision, double prefill, double decode, double total) {}
}
