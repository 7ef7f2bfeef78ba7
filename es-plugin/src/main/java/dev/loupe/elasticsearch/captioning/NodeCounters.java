package dev.loupe.elasticsearch.captioning;

import dev.loupe.Caption;
import dev.loupe.elasticsearch.stats.NodeCaptionStats;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/** What happened to the documents this node captioned; cheap to update from any thread. */
final class NodeCounters {
  final LongAdder submitted = new LongAdder();
  final LongAdder captioned = new LongAdder();
  final LongAdder failed = new LongAdder();
  final LongAdder rejected = new LongAdder();
  final LongAdder timedOut = new LongAdder();
  private final LongAdder generatedTokens = new LongAdder();
  private final LongAdder promptTokens = new LongAdder();
  private final LongAdder cachedTokens = new LongAdder();
  private final DoubleAdder imageMs = new DoubleAdder();
  private final DoubleAdder queueMs = new DoubleAdder();
  private final DoubleAdder visionMs = new DoubleAdder();
  private final DoubleAdder prefillMs = new DoubleAdder();
  private final DoubleAdder decodeMs = new DoubleAdder();
  private final DoubleAdder totalMs = new DoubleAdder();
  private final RateWindow images = new RateWindow();
  private final RateWindow tokens = new RateWindow();

  /**
   * @param waitedMs time in the plugin's own queue before the engine saw the document
   * @param totalMillis arrival at the processor to completion
   */
  void captioned(Caption caption, double waitedMs, double totalMillis, long nowMillis) {
    captioned.increment();
    int generated = caption.tokenIds().size();
    generatedTokens.add(generated);
    promptTokens.add(caption.promptTokens());
    cachedTokens.add(caption.cachedTokens());
    Caption.Timings t = caption.timings();
    imageMs.add(t.image() + t.tokenize());
    queueMs.add(waitedMs + t.queue());
    visionMs.add(t.vision());
    prefillMs.add(t.prefill());
    decodeMs.add(t.decode());
    totalMs.add(totalMillis);
    images.record(nowMillis, 1);
    tokens.record(nowMillis, generated);
  }

  NodeCaptionStats snapshot(
      NodeCaptionStats.Model model,
      long inFlight,
      NodeCaptionStats.Queue queue,
      long visionHits,
      long visionMisses,
      long nowMillis) {
    long done = captioned.sum();
    return new NodeCaptionStats(
        model,
        new NodeCaptionStats.Documents(submitted.sum(), done, failed.sum(), rejected.sum(), timedOut.sum(), inFlight),
        images.perSecond(nowMillis),
        tokens.perSecond(nowMillis),
        generatedTokens.sum(),
        queue,
        promptTokens.sum(),
        cachedTokens.sum(),
        visionHits,
        visionMisses,
        new NodeCaptionStats.Latency(
            mean(imageMs, done), mean(queueMs, done), mean(visionMs, done), mean(prefillMs, done), mean(decodeMs, done),
            mean(totalMs, done)));
  }

  private static double mean(DoubleAdder sum, long count) {
    return count == 0 ? 0 : sum.sum() / count;
  }
}
