package dev.loupe.elasticsearch.captioning;

import dev.loupe.Caption;
import dev.loupe.CaptionFuture;
import dev.loupe.CaptionRequest;
import dev.loupe.EngineStats;
import dev.loupe.ErrorKind;
import dev.loupe.ImageInput;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeException;
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
import java.util.concurrent.atomic.AtomicBoolean;
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
 * <p>The engine owns queueing, admission and deadlines: a document goes to the engine with
 * its encoded image and the node's {@code loupe.timeout} (the engine was opened with
 * {@code loupe.queue.size} and {@code loupe.batch.max_running}); the engine refuses it when its queue
 * is full (429), decodes it only when a batch slot is near and ends it at its deadline. The
 * plugin's pool only turns the field into bytes (base64 can be megabytes) off the ingest
 * thread. Until the model has loaded there is no engine: documents wait for it here, within
 * the same limit and deadline. Each document ends in exactly one {@code done} call.
 */
public final class CaptionService implements Closeable {
  private static final Logger LOG = LogManager.getLogger(CaptionService.class);

  /** Runs a task after a delay; returns the action that cancels it. */
  public interface Timer {
    Runnable schedule(Runnable task, TimeValue delay);
  }

  private final Path modelDir;
  private final String device;
  private final Executor pool;
  private final Timer timer;
  private final LongSupplier nanoClock;
  private final int maxRunning;
  private final int queueLimit;
  private final TimeValue timeout;
  private final CompletableFuture<LoupeEngine> model = new CompletableFuture<>();
  private final Queue<Document> untilLoaded = new ConcurrentLinkedQueue<>();
  private final AtomicInteger untilLoadedCount = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final NodeCounters counters = new NodeCounters();
  private volatile boolean closed;

  /** One document on its way through the service. */
  private static final class Document {
    final Supplier<byte[]> image;
    final CaptionJob job;
    final BiConsumer<Caption, Exception> done;
    final long admittedNanos;
    final AtomicBoolean finished = new AtomicBoolean();
    volatile long submittedNanos;
    volatile Runnable cancelLoadTimer;

    Document(Supplier<byte[]> image, CaptionJob job, BiConsumer<Caption, Exception> done, long admittedNanos) {
      this.image = image;
      this.job = job;
      this.done = done;
      this.admittedNanos = admittedNanos;
    }
  }

  /**
   * @param modelDir the node's {@code loupe.model.path}, resolved; null when unset
   * @param pool where image fields become bytes (the plugin's pool)
   * @param maxRunning and queueLimit: the limits the engine was opened with, for stats and messages
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
   * that arrive before it is ready wait for it; if loading fails they fail with the reason,
   * as does every later document, and {@code _loupe/stats} shows it.
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
            startWaitingForLoad();
          } catch (Throwable t) {
            LOG.error("cannot load model [" + modelDir + "]", t);
            model.completeExceptionally(t);
            startWaitingForLoad();
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
    Document document = new Document(image, job, done, nanoClock.getAsLong());
    inFlight.incrementAndGet();
    if (model.isDone()) {
      hand(document);
      return;
    }
    if (untilLoadedCount.incrementAndGet() > queueLimit) {
      untilLoadedCount.decrementAndGet();
      finish(document, null, Failures.queueFull(queueLimit));
      return;
    }
    if (timeout.millis() > 0) {
      document.cancelLoadTimer =
          timer.schedule(
              () -> {
                if (untilLoaded.remove(document)) untilLoadedCount.decrementAndGet();
                finish(document, null, LoupeException.of(ErrorKind.TIMEOUT, "the model is still loading"));
              },
              timeout);
    }
    untilLoaded.add(document);
    if (model.isDone()) startWaitingForLoad();  // loading finished meanwhile
  }

  private void startWaitingForLoad() {
    Document next;
    while ((next = untilLoaded.poll()) != null) {
      untilLoadedCount.decrementAndGet();
      Runnable cancelTimer = next.cancelLoadTimer;
      if (cancelTimer != null) cancelTimer.run();
      hand(next);
    }
  }

  /**
   * Off the ingest thread: the field becomes bytes, then the engine takes the document. Each
   * document arrives here once: from submit, or polled once from the documents that waited
   * for the model.
   */
  private void hand(Document document) {
    if (document.finished.get()) return;  // its wait for the model timed out
    String unusable = unusableReason();  // the model failed to load, or the node is closing
    if (unusable != null) {
      finish(document, null, new IllegalStateException("image_caption cannot run: " + unusable));
      return;
    }
    try {
      pool.execute(() -> run(document));
    } catch (RejectedExecutionException e) {
      finish(document, null, Failures.queueFull(queueLimit));
    }
  }

  private void run(Document document) {
    try {
      LoupeEngine engine = model.join();
      byte[] bytes = document.image.get();
      Duration deadline = null;
      if (timeout.millis() > 0) {
        long left = timeout.millis() - (nanoClock.getAsLong() - document.admittedNanos) / 1_000_000;
        deadline = Duration.ofMillis(Math.max(1, left));
      }
      CaptionJob job = document.job;
      CaptionRequest request =
          new CaptionRequest(
              List.of(ImageInput.ofBytes(bytes)), job.prompt(), job.sampling(), job.minPixels(), job.maxPixels(), deadline, null);
      document.submittedNanos = nanoClock.getAsLong();
      CaptionFuture future = engine.submit(request);
      future.whenComplete((caption, error) -> finish(document, caption, error));
    } catch (Throwable t) {
      finish(document, null, t);
    }
  }

  private void finish(Document document, Caption caption, Throwable error) {
    if (!document.finished.compareAndSet(false, true)) return;
    inFlight.decrementAndGet();
    long now = nanoClock.getAsLong();
    Exception failure = null;
    if (caption == null) {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      failure = Failures.toElasticsearch(cause, queueLimit, timeout);
      switch (Failures.outcome(failure)) {
        case REJECTED -> counters.rejected.increment();
        case TIMED_OUT -> counters.timedOut.increment();
        case FAILED -> counters.failed.increment();
      }
    } else {
      long submitted = document.submittedNanos == 0 ? now : document.submittedNanos;
      counters.captioned(caption, (submitted - document.admittedNanos) / 1e6, (now - document.admittedNanos) / 1e6, System.currentTimeMillis());
    }
    try {
      document.done.accept(caption, failure);
    } catch (Throwable t) {
      LOG.error("image_caption completion handler failed", t);
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
    long waiting = untilLoadedCount.get();
    long running = 0;
    long visionHits = 0;
    long visionMisses = 0;
    if (engine != null) {
      try {
        EngineStats s = engine.stats();
        waiting += s.waiting();
        running = s.running();
        visionHits = s.visionCacheHits();
        visionMisses = s.visionCacheMisses();
      } catch (RuntimeException e) {
        LOG.debug("engine stats unavailable", e);
      }
    }
    String error = model.isCompletedExceptionally() ? loadError() : null;
    NodeCaptionStats.Model modelInfo =
        new NodeCaptionStats.Model(modelDir == null ? null : modelDir.toString(), device, engine != null, error);
    return counters.snapshot(
        modelInfo,
        inFlight.get(),
        new NodeCaptionStats.Queue(waiting, queueLimit, running, maxRunning),
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
    startWaitingForLoad();
  }
}
