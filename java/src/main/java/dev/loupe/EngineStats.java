package dev.loupe;

/** A snapshot of the engine's counters. */
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
    long prefillTokens) {

  /** Share of prompt tokens served from the prefix cache so far (0 when none were seen). */
  public double prefixHitRate() {
    long total = prefixHitTokens + prefixMissTokens;
    return total == 0 ? 0 : (double) prefixHitTokens / total;
  }
}
