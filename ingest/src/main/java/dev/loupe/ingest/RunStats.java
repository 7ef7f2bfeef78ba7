package dev.loupe.ingest;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Counts a run and prints a progress line (at most once a second) and a final summary that
 * also names the folder entries the listing passed over.
 */
public final class RunStats {
  private final PrintWriter out;
  private final int total;
  private final ImageFiles.Listing listing;
  private final long startNanos = System.nanoTime();
  private long lastPrintNanos = startNanos;
  private int done;
  private int failed;
  private long generatedTokens;
  private long promptTokens;
  private long cachedTokens;

  public RunStats(PrintWriter out, ImageFiles.Listing listing) {
    this.out = out;
    this.listing = listing;
    this.total = listing.images().size();
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
            done, failed, seconds(), imagesPerSecond(), generatedTokens, tokensPerSecond(), 100 * cacheHitRate())
        + skipped(listing.skippedOther(), "non-image file", "non-image files", "")
        + skipped(listing.skippedVideos(), "video", "videos", " (" + ImageFiles.VIDEO_UNSUPPORTED + ")");
  }

  /** "; skipped 2 non-image files: a.txt, b.pdf" naming at most five, or nothing. */
  private static String skipped(List<Path> files, String one, String many, String why) {
    if (files.isEmpty()) return "";
    int shown = Math.min(5, files.size());
    String names = files.subList(0, shown).stream().map(Path::toString).collect(Collectors.joining(", "));
    String more = files.size() > shown ? " and " + (files.size() - shown) + " more" : "";
    return "; skipped " + files.size() + " " + (files.size() == 1 ? one : many) + why + ": " + names + more;
  }
}
