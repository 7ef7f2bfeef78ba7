package dev.loupe.elasticsearch.models;

/**
 * Events per second over the last minute, in one-second buckets. The window starts at the
 * first event, so a node that has worked for ten seconds reports its rate over those ten.
 */
final class RateWindow {
  static final int SECONDS = 60;

  private final long[] bucketSecond = new long[SECONDS];
  private final long[] bucketCount = new long[SECONDS];
  private long firstSecond = -1;

  synchronized void record(long nowMillis, long count) {
    long second = nowMillis / 1000;
    if (firstSecond < 0) {
      firstSecond = second;
    }
    int slot = (int) (second % SECONDS);
    if (bucketSecond[slot] != second) {
      bucketSecond[slot] = second;
      bucketCount[slot] = 0;
    }
    bucketCount[slot] += count;
  }

  synchronized double perSecond(long nowMillis) {
    if (firstSecond < 0) {
      return 0;
    }
    long second = nowMillis / 1000;
    long total = 0;
    for (int i = 0; i < SECONDS; i++) {
      if (second - bucketSecond[i] < SECONDS) {
        total += bucketCount[i];
      }
    }
    double windowSeconds = Math.min(SECONDS, Math.max(1.0, (nowMillis - firstSecond * 1000) / 1000.0));
    return total / windowSeconds;
  }
}
