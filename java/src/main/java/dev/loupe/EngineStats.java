package dev.loupe;

/**
 * A snapshot of the engine's counters. Vision-cache hits are images whose vision-tower
 * features were reused (same pixels, same preprocessing) instead of recomputed.
 */
public record EngineStats(
    long waiting,
    long running,
    long completed,
    long failed,
    long kvCapacityTokens,
    long kvFreeTokens,
    long prefixHitTokens,
    long prefixMissTokens,
    long generatedTokens,
    long prefillTokens,
    long visionCacheHits,
    long visionCacheMisses) {

  /** Share of prompt tokens served from the prefix cache so far (0 when none were seen). */
  public double prefixHitRate() {
    long total = prefixHitTokens + prefixMissTokens;
    return total == 0 ? 0 : (double) prefixHitTokens / total;
  }
}
