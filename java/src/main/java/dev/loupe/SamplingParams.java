package dev.loupe;

/**
 * Sampling overrides. Stop tokens always come from the checkpoint's generation_config.json;
 * pass {@code null} where a SamplingParams is accepted to use that file's defaults entirely.
 */
public record SamplingParams(
    float temperature, int topK, float topP, float minP, float repetitionPenalty, int maxNewTokens, long seed) {
  public SamplingParams {
    if (maxNewTokens <= 0) throw new IllegalArgumentException("maxNewTokens must be positive: " + maxNewTokens);
    if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0: " + temperature);
  }

  /** Greedy decoding (temperature 0), as HF generate(do_sample=False). */
  public static SamplingParams greedy(int maxNewTokens) {
    return new SamplingParams(0f, 0, 1f, 0f, 1f, maxNewTokens, 0L);
  }

  public static SamplingParams sampled(float temperature, int topK, float topP, int maxNewTokens, long seed) {
    return new SamplingParams(temperature, topK, topP, 0f, 1f, maxNewTokens, seed);
  }
}
