package dev.loupe.elasticsearch.captioning;

import dev.loupe.Caption;
import dev.loupe.CaptionFuture;
import dev.loupe.CaptionRequest;
import dev.loupe.EngineStats;
import dev.loupe.ImageInput;
import dev.loupe.LoupeEngine;
import dev.loupe.elasticsearch.stats.NodeCaptionStats;
import java.io.Closeable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;

/**
 * The node's one model and the way documents reach it. Every {@code image_caption}
 * processor of every pipeline on this node shares it, so requests batch together and the
 * radix cache shares prefixes across processors and documents.
 *
 * <p>A document is admitted into a bounded queue (full: rejected at once, 429), waits there
 * holding only its encoded bytes until one of {@code max_running} batch slots frees up, then
 * a thread of the plugin's pool decodes it and submits it to the engine; the engine's
 * completion thread finishes it. A timer fails it after {@code loupe.timeout} wherever it is
 * (the engine request is cancelled). Each document ends in exactly one {@code done} call.
 */
public final class CaptionService implements Closeable {
  private static final Logger LOG = LogManager.getLogger(CaptionService.class);

  /** Runs a task after a delay; returns the action that cancels it. */
  public interface Timer {
    Runnable schedule(Runnable task, TimeValue delay);
  }

  private static final int WAITING = 0;
  private static final int STARTED = 1;
  private static final int DONE = 2;

  private final Path modelDir;
  private final String device;
  private final Executor pool;
  private final Timer timer;
  private final LongSupplier nanoClock;
  private final int maxRunning;
  private final int queueLimit;
  private final TimeValue timeout;
  private final CompletableFuture<LoupeEngine> model = new CompletableFuture<>();
  private final Queue<Attempt> waiting = new ConcurrentLinkedQueue<>();
  private final AtomicInteger waitingCount = new AtomicInteger();
  private final AtomicInteger runningCount = new AtomicInteger();
  private final NodeCounters counters = new NodeCounters();
  private volatile boolean closed;

  /** One document on its way through the service. */
  private static final class Attempt {
    final Supplier<byte[]> image;
    final CaptionJob job;
    final BiConsumer<Caption, Exception> done;
    final long admittedNanos;
    final AtomicInteger state = new AtomicInteger(WAITING);
    volatile long startedNanos;
    volatile CaptionFuture future;
    volatile Runnable cancelTimer;

    Attempt(Supplier<byte[]> image, CaptionJob job, BiConsumer<Caption, Exception> done, long admittedNanos) {
      this.image = image;
      this.job = job;
      this.done = done;
      this.admittedNanos = admittedNanos;
    }
  }

  /**
   * @param modelDir the node's {@code loupe.model.path}, resolved; null when unset
   * @param pool where images are decoded and submitted (the plugin's bounded pool)
   */
  public CaptionService(
      Path modelDir,
      String device,
      Executor pool,
      Timer timer,
      LongSupplier nanoClock,
      int maxRunning,
      int queueLimit,
      TimeValue timeout) {
    this.modelDir = modelDir;
    this.device = device;
    this.pool = pool;
    this.timer = timer;
    this.nanoClock = nanoClock;
    this.maxRunning = maxRunning;
    this.queueLimit = queueLimit;
    this.timeout = timeout;
  }

  /**
   * Loads the model on {@code loader} (once; the node keeps starting meanwhile). Documents
   * that arrive before it is ready wait in the queue; if loading fails they fail with the
   * reason, as does every later document, and {@code _loupe/stats} shows it.
   */
  public void startLoading(Supplier<LoupeEngine> opener, Executor loader) {
    if (modelDir == null) {
      return;
    }
    loader.execute(
        () -> {
          try {
            long start = nanoClock.getAsLong();
            LoupeEngine engine = opener.get();
            LOG.info("loaded model [{}] on [{}] in [{}] ms", modelDir, device, (nanoClock.getAsLong() - start) / 1_000_000);
            if (!model.complete(engine)) {
              engine.close();  // the node shut down while the model was loading
              return;
            }
            drain();
          } catch (Throwable t) {
            LOG.error("cannot load model [" + modelDir + "]", t);
            model.completeExceptionally(t);
            failWaiting();
          }
        });
  }

  public Path modelDir() {
    return modelDir;
  }

  /** Why this node cannot caption, or null when it can (or is still loading). */
  public String unusableReason() {
    if (closed) {
      return "the node is shutting down";
    }
    if (modelDir == null) {
      return "node setting [loupe.model.path] is not set on this node; image_caption pipelines must run on ingest nodes"
          + " that have a model";
    }
    if (model.isCompletedExceptionally()) {
      return "model [" + modelDir + "] failed to load: " + loadError();
    }
    return null;
  }

  /**
   * Captions one image. {@code image} is read on the plugin's pool (it may decode base64);
   * {@code done} is called exactly once, with the caption or an exception whose type gives
   * its REST status, on a pool, timer or engine completion thread.
   */
  public void submit(Supplier<byte[]> image, CaptionJob job, BiConsumer<Caption, Exception> done) {
    counters.submitted.increment();
    String unusable = unusableReason();
    if (unusable != null) {
      counters.failed.increment();
      done.accept(null, new IllegalStateException("image_caption cannot run: " + unusable));
      return;
    }
    if (waitingCount.incrementAndGet() > queueLimit) {
      waitingCount.decrementAndGet();
      counters.rejected.increment();
      done.accept(null, Failures.queueFull(queueLimit));
      return;
    }
    Attempt attempt = new Attempt(image, job, done, nanoClock.getAsLong());
    if (timeout.millis() > 0) {
      attempt.cancelTimer =
          timer.schedule(() -> finish(attempt, null, Failures.timedOut("no caption within loupe.timeout [" + timeout + "]")), timeout);
    }
    waiting.add(attempt);
    if (model.isDone()) {
      if (model.isCompletedExceptionally()) failWaiting();
      else drain();
    }
  }

  /** Starts waiting documents while batch slots are free. */
  private void drain() {
    while (true) {
      int running = runningCount.get();
      if (running >= maxRunning) return;
      if (!runningCount.compareAndSet(running, running + 1)) continue;
      Attempt next = waiting.poll();
      if (next == null) {
        runningCount.decrementAndGet();
        if (waiting.isEmpty()) return;
        continue;
      }
      if (!next.state.compareAndSet(WAITING, STARTED)) {
        runningCount.decrementAndGet();  // timed out while waiting: finish() counted it already
        continue;
      }
      waitingCount.decrementAndGet();
      try {
        pool.execute(() -> run(next));
      } catch (RejectedExecutionException e) {
        finish(next, null, new EsRejectedExecutionException("image_caption rejected: " + e.getMessage()));
      }
    }
  }

  private void run(Attempt attempt) {
    if (attempt.state.get() != STARTED) return;
    try {
      LoupeEngine engine = model.join();
      byte[] bytes = attempt.image.get();
      Duration deadline = null;
      if (timeout.millis() > 0) {
        long left = timeout.millis() - (nanoClock.getAsLong() - attempt.admittedNanos) / 1_000_000;
        deadline = Duration.ofMillis(Math.max(1, left));
      }
      CaptionJob job = attempt.job;
      CaptionRequest request =
          new CaptionRequest(
              List.of(ImageInput.ofBytes(bytes)), job.prompt(), job.sampling(), job.minPixels(), job.maxPixels(), deadline, null);
      attempt.startedNanos = nanoClock.getAsLong();
      CaptionFuture future = engine.submit(request);
      attempt.future = future;
      if (attempt.state.get() == DONE) future.cancel(true);  // timed out during submit
      future.whenComplete((caption, error) -> finish(attempt, caption, error));
    } catch (Throwable t) {
      finish(attempt, null, t);
    }
  }

  private void finish(Attempt attempt, Caption caption, Throwable error) {
    int previous = attempt.state.getAndSet(DONE);
    if (previous == DONE) return;
    if (previous == WAITING) waitingCount.decrementAndGet();
    Runnable cancelTimer = attempt.cancelTimer;
    if (cancelTimer != null) cancelTimer.run();
    CaptionFuture future = attempt.future;
    if (future != null && !future.isDone()) future.cancel(true);
    long now = nanoClock.getAsLong();
    Exception failure = null;
    if (caption == null) {
      failure = Failures.toElasticsearch(error instanceof CompletionException && error.getCause() != null ? error.getCause() : error);
      switch (Failures.outcome(failure)) {
        case REJECTED -> counters.rejected.increment();
        case TIMED_OUT -> counters.timedOut.increment();
        case FAILED -> counters.failed.increment();
      }
    } else {
      long started = attempt.startedNanos == 0 ? now : attempt.startedNanos;
      counters.captioned(caption, (started - attempt.admittedNanos) / 1e6, (now - attempt.admittedNanos) / 1e6, System.currentTimeMillis());
    }
    if (previous == STARTED) {
      runningCount.decrementAndGet();
      drain();
    }
    try {
      attempt.done.accept(caption, failure);
    } catch (Throwable t) {
      LOG.error("image_caption completion handler failed", t);
    }
  }

  private void failWaiting() {
    String reason = unusableReason();
    Attempt next;
    while ((next = waiting.poll()) != null) {
      finish(next, null, new IllegalStateException("image_caption cannot run: " + reason));
    }
  }

  private String loadError() {
    try {
      model.join();
      return null;
    } catch (CompletionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      return cause.getMessage() == null ? cause.toString() : cause.getMessage();
    }
  }

  public NodeCaptionStats stats() {
    LoupeEngine engine = model.isDone() && !model.isCompletedExceptionally() ? model.join() : null;
    long engineWaiting = 0;
    long visionHits = 0;
    long visionMisses = 0;
    if (engine != null) {
      try {
        EngineStats s = engine.stats();
        engineWaiting = s.waiting();
        visionHits = s.visionCacheHits();
        visionMisses = s.visionCacheMisses();
      } catch (RuntimeException e) {
        LOG.debug("engine stats unavailable", e);
      }
    }
    String error = model.isCompletedExceptionally() ? loadError() : null;
    NodeCaptionStats.Model modelInfo =
        new NodeCaptionStats.Model(modelDir == null ? null : modelDir.toString(), device, engine != null, error);
    int running = runningCount.get();
    long queued = waitingCount.get() + engineWaiting;
    long inFlight = waitingCount.get() + running;
    return counters.snapshot(
        modelInfo,
        inFlight,
        new NodeCaptionStats.Queue(queued, queueLimit, running - Math.min(running, engineWaiting), maxRunning),
        visionHits,
        visionMisses,
        System.currentTimeMillis());
  }

  /** Stops the engine: documents in flight complete as failed (the node is shutting down). */
  @Override
  public void close() {
    closed = true;
    model.completeExceptionally(new IllegalStateException("the node is shutting down"));
    if (model.isDone() && !model.isCompletedExceptionally()) {
      model.join().close();
    }
    failWaiting();
  }
}
