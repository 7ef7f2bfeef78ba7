package dev.loupe;

import java.util.HashMap;
import java.util.Map;

/**
 * A snapshot of the engine's counters, each under the name of the native EngineStats member
 * it comes from. Vision-cache hits are images whose vision-tower features were reused (same
 * pixels, same preprocessing) instead of recomputed; retractions are running requests
 * preempted for KV memory and resumed later.
 */
public record EngineStats(
    long waiting,
    long running,
    long kvCapacityTokens,
    long kvFreeTokens,
    long kvCachedTokens,
    long prefixHitTokens,
    long prefixMissTokens,
    long prefixEvictedTokens,
    long visionCacheHits,
    long visionCacheMisses,
    long completed,
    long failed,
    long retractions,
    long prefillSteps,
    long decodeSteps,
    long prefillTokens,
    long generatedTokens) {

  /** Share of prompt tokens served from the prefix cache so far (0 when none were seen). */
  public double prefixHitRate() {
    long total = prefixHitTokens + prefixMissTokens;
    return total == 0 ? 0 : (double) prefixHitTokens / total;
  }

  /** Parses the native {@code name=value} lines; a counter the runtime did not send is an error. */
  static EngineStats fromLines(String lines) {
    Map<String, Long> values = new HashMap<>();
    for (String line : lines.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) values.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
    }
    Counter c = name -> {
      Long value = values.get(name);
      if (value == null) throw new IllegalStateException("the native runtime sent no counter [" + name + "]: " + values.keySet());
      return value;
    };
    return new EngineStats(
        c.get("waiting"),
        c.get("running"),
        c.get("kv_capacity_tokens"),
        c.get("kv_free_tokens"),
        c.get("kv_cached_tokens"),
        c.get("prefix_hit_tokens"),
        c.get("prefix_miss_tokens"),
        c.get("prefix_evicted_tokens"),
        c.get("vision_cache_hits"),
        c.get("vision_cache_misses"),
        c.get("completed"),
        c.get("failed"),
        c.get("retractions"),
        c.get("prefill_steps"),
        c.get("decode_steps"),
        c.get("prefill_tokens"),
        c.get("generated_tokens"));
  }

  private interface Counter {
    long get(String name);
  }
}
