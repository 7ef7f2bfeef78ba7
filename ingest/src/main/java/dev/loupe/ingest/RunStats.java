package dev.loupe.ingest;

import java.io.PrintStream;
import java.util.Locale;

/** Counts a run and prints a progress line (at most once a second) and a final summary. */
public final class RunStats {
  private final PrintStream out;
  private final int total;
  private final long startNanos = System.nanoTime();
  private long lastPrintNanos = startNanos;
  private int done;
  private int failed;
  private long generatedTokens;
  private long promptTokens;
  private long cachedTokens;

  public RunStats(PrintStream out, int total) {
    this.out = out;
    this.total = total;
  }

  public synchronized void record(ImageCaptions result) {
    done++;
    if (!result.ok()) failed++;
    generatedTokens += result.generatedTokens();
    promptTokens += result.promptTokens();
    cachedTokens += result.cachedTokens();
    long now = System.nanoTime();
    if (now - lastPrintNanos > 1_000_000_000L && done < total) {
      lastPrintNanos = now;
      out.printf(Locale.ROOT, "\r%d/%d images, %.2f images/s, %.1f tokens/s", done, total, imagesPerSecond(), tokensPerSecond());
      out.flush();
    }
  }

  public synchronized double seconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  public synchronized double imagesPerSecond() {
    return done / Math.max(seconds(), 1e-9);
  }

  public synchronized double tokensPerSecond() {
    return generatedTokens / Math.max(seconds(), 1e-9);
  }

  /** Share of prompt tokens the prefix cache served. */
  public synchronized double cacheHitRate() {
    return promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens;
  }

  public synchronized int failed() {
    return failed;
  }

  public synchronized String summary() {
    return String.format(
        Locale.ROOT,
        "%d images (%d failed) in %.2f s: %.2f images/s, %d tokens generated, %.1f tokens/s, prefix cache hit rate %.1f%%",
        done, failed, seconds(), imagesPerSecond(), generatedTokens, tokensPerSecond(), 100 * cacheHitRate());
  }
}
