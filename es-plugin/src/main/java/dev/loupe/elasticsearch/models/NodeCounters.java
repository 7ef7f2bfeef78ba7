package dev.loupe.elasticsearch.models;

import dev.loupe.Caption;
import dev.loupe.elasticsearch.stats.ModelStats;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/** What happened to the work one model did on this node; cheap to update from any thread. */
final class NodeCounters {
  final LongAdder submitted = new LongAdder();
  final LongAdder captioned = new LongAdder();
  final LongAdder embedded = new LongAdder();
  final LongAdder reranked = new LongAdder();
  private final LongAdder scoredDocuments = new LongAdder();
  private final DoubleAdder embedMs = new DoubleAdder();
  private final DoubleAdder rerankMs = new DoubleAdder();
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
  private final RateWindow embeddings = new RateWindow();

  /**
   * @param result a Caption, an embedding (float[]) or reranker scores (double[])
   * @param waitedMs time in the plugin's own queue before the engine saw the work
   * @param totalMillis arrival at the service to completion
   */
  void completed(Object result, double waitedMs, double totalMillis, long nowMillis) {
    switch (result) {
      case Caption caption -> captioned(caption, waitedMs, totalMillis, nowMillis);
      case float[] embedding -> {
        embedded.increment();
        embedMs.add(totalMillis);
        embeddings.record(nowMillis, 1);
      }
      case double[] scores -> {
        reranked.increment();
        scoredDocuments.add(scores.length);
        rerankMs.add(totalMillis);
      }
      default -> throw new IllegalArgumentException("unexpected result " + result.getClass());
    }
  }

  private void captioned(Caption caption, double waitedMs, double totalMillis, long nowMillis) {
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

  ModelStats snapshot(
      ModelStats.Model model,
      long inFlight,
      ModelStats.Queue queue,
      long visionHits,
      long visionMisses,
      long nowMillis) {
    long done = captioned.sum();
    long embeds = embedded.sum();
    long reranks = reranked.sum();
    return new ModelStats(
        model,
        new ModelStats.Requests(
            submitted.sum(), done, embeds, reranks, scoredDocuments.sum(), failed.sum(), rejected.sum(), timedOut.sum(),
            inFlight),
        images.perSecond(nowMillis),
        tokens.perSecond(nowMillis),
        embeddings.perSecond(nowMillis),
        generatedTokens.sum(),
        queue,
        promptTokens.sum(),
        cachedTokens.sum(),
        visionHits,
        visionMisses,
        new ModelStats.Latency(
            mean(imageMs, done), mean(queueMs, done), mean(visionMs, done), mean(prefillMs, done), mean(decodeMs, done),
            mean(totalMs, done), mean(embedMs, embeds), mean(rerankMs, reranks)));
  }

  private static double mean(DoubleAdder sum, long count) {
    return count == 0 ? 0 : sum.sum() / count;
  }
}
