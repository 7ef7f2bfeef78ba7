package dev.loupe;

/**
 * Sampling overrides, valid by construction: the ranges are the engine's own (its
 * validate_sampling), so a bad value is refused where it is written, never per request.
 * Stop tokens always come from the checkpoint's generation_config.json; pass {@code null}
 * where a SamplingParams is accepted to use that file's defaults entirely.
 */
public record SamplingParams(
    float temperature, int topK, float topP, float minP, float repetitionPenalty, int maxNewTokens, long seed) {

  /** A value outside its range; {@link #field()} is the option's snake_case name. */
  public static final class InvalidException extends IllegalArgumentException {
    private final String field;
    private final String reason;

    InvalidException(String field, String reason) {
      super("[" + field + "] " + reason);
      this.field = field;
      this.reason = reason;
    }

    public String field() {
      return field;
    }

    /** The message without the field name. */
    public String reason() {
      return reason;
    }
  }

  public SamplingParams {
    if (!(temperature >= 0 && temperature <= 100)) invalid("temperature", "must be between 0 (greedy) and 100, got " + temperature);
    if (topK < 0) invalid("top_k", "must be >= 0 (0 = off), got " + topK);
    if (!(topP > 0 && topP <= 1)) invalid("top_p", "must be in (0, 1], got " + topP);
    if (!(minP >= 0 && minP <= 1)) invalid("min_p", "must be in [0, 1], got " + minP);
    if (!(repetitionPenalty > 0 && repetitionPenalty <= 10)) {
      invalid("repetition_penalty", "must be in (0, 10], got " + repetitionPenalty);
    }
    if (maxNewTokens < 1) invalid("max_new_tokens", "must be positive, got " + maxNewTokens);
  }

  private static void invalid(String field, String reason) {
    throw new InvalidException(field, reason);
  }

  /** Greedy decoding (temperature 0), as HF generate(do_sample=False). */
  public static SamplingParams greedy(int maxNewTokens) {
    return new SamplingParams(0f, 0, 1f, 0f, 1f, maxNewTokens, 0L);
  }

  public static SamplingParams sampled(float temperature, int topK, float topP, int maxNewTokens, long seed) {
    return new SamplingParams(temperature, topK, topP, 0f, 1f, maxNewTokens, seed);
  }
}
