package dev.loupe.elasticsearch.models;

import dev.loupe.Caption;
import dev.loupe.EngineStats;
import dev.loupe.ErrorKind;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeException;
import dev.loupe.LoupeFuture;
import dev.loupe.ModelCapabilities;
import dev.loupe.OutputConstraint;
import dev.loupe.elasticsearch.stats.ModelStats;
import java.io.Closeable;
import java.nio.file.Path;
import java.time.Duration;
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
import org.elasticsearch.core.TimeValue;

/**
 * One of the node's models and the way work reaches it. Every processor, query vector builder
 * and retriever that names the model on this node shares it, so requests batch together and the
 * radix cache shares prefixes across them.
 *
 * <p>The engine owns queueing, admission and deadlines: work goes to the engine with the node's
 * {@code loupe.timeout} (the engine was opened with the model's queue size and max_running); the
 * engine refuses it when its queue is full (429), decodes images only when a batch slot is near
 * and ends it at its deadline. The plugin's pool only turns fields into bytes (base64 can be
 * megabytes) off the ingest and search threads. Until the model has loaded there is no engine:
 * work waits for it here, within the same limit and deadline. Each piece of work ends in exactly
 * one {@code done} call.
 */
public final class ModelService implements Closeable {
  private static final Logger LOG = LogManager.getLogger(ModelService.class);

  /** Runs a task after a delay; returns the action that cancels it. */
  public interface Timer {
    Runnable schedule(Runnable task, TimeValue delay);
  }

  private final ModelConfig config;
  private final Executor pool;
  private final Timer timer;
  private final LongSupplier nanoClock;
  private final TimeValue timeout;
  private final CompletableFuture<LoupeEngine> model = new CompletableFuture<>();
  private final Queue<Work<?>> untilLoaded = new ConcurrentLinkedQueue<>();
  private final AtomicInteger untilLoadedCount = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final NodeCounters counters = new NodeCounters();
  private volatile ModelCapabilities capabilities;
  private volatile boolean closed;

  /** One piece of work on its way through the service. */
  private static final class Work<T> {
    final ModelTask<T> task;
    final BiConsumer<T, Exception> done;
    final long admittedNanos;
    final AtomicBoolean finished = new AtomicBoolean();
    volatile long submittedNanos;
    volatile Runnable cancelLoadTimer;
    volatile LoupeFuture<T> future;

    Work(ModelTask<T> task, BiConsumer<T, Exception> done, long admittedNanos) {
      this.task = task;
      this.done = done;
      this.admittedNanos = admittedNanos;
    }
  }

  /**
   * @param config the model's settings: its path, device and the limits its engine was opened with
   * @param pool where fields become bytes (the plugin's pool)
   */
  public ModelService(ModelConfig config, Executor pool, Timer timer, LongSupplier nanoClock, TimeValue timeout) {
    this.config = config;
    this.pool = pool;
    this.timer = timer;
    this.nanoClock = nanoClock;
    this.timeout = timeout;
  }

  /**
   * Loads the model on {@code loader} (once; the node keeps starting meanwhile). Documents
   * that arrive before it is ready wait for it; if loading fails they fail with the reason,
   * as does every later document, and {@code _loupe/stats} shows it.
   */
  public void startLoading(Supplier<LoupeEngine> opener, Executor loader) {
    Path modelDir = config.path();
    loader.execute(
        () -> {
          try {
            long start = nanoClock.getAsLong();
            LoupeEngine engine = opener.get();
            capabilities = engine.capabilities();
            LOG.info(
                "loaded model [{}] from [{}] on [{}] in [{}] ms: {}", config.name(), modelDir, config.device(),
                (nanoClock.getAsLong() - start) / 1_000_000, capabilities);
            if (!model.complete(engine)) {
              engine.close();  // the node shut down while the model was loading
              return;
            }
            startWaitingForLoad();
          } catch (Throwable t) {
            LOG.error("cannot load model [" + config.name() + "] from [" + modelDir + "]", t);
            model.completeExceptionally(t);
            startWaitingForLoad();
          }
        });
  }

  public ModelConfig config() {
    return config;
  }

  /** What the loaded checkpoint can do; null until it has loaded. */
  public ModelCapabilities capabilities() {
    return capabilities;
  }

  /**
   * Compiles an output constraint against the loaded model's tokens (throws
   * {@link dev.loupe.InvalidRequestException} when it is invalid); does nothing until the model
   * has loaded, and documents then fail with the same reason.
   */
  public void checkConstraint(OutputConstraint constraint) {
    if (model.isDone() && !model.isCompletedExceptionally()) {
      model.join().checkConstraint(constraint);
    }
  }

  /** Why this node cannot run the model, or null when it can (or is still loading). */
  public String unusableReason() {
    if (closed) {
      return "the node is shutting down";
    }
    if (model.isCompletedExceptionally()) {
      return "model [" + config.name() + "] at [" + config.path() + "] failed to load: " + loadError();
    }
    return null;
  }

  /**
   * Counts a document its processor refused before handing it over (its field missing, empty
   * or of the wrong type): a failed request like any other, so the stats see every failure.
   */
  public void countRefused() {
    counters.submitted.increment();
    counters.failed.increment();
  }

  /**
   * Runs one task. {@code done} is called exactly once, with the result or an exception whose
   * type gives its REST status, on a pool, timer or engine completion thread.
   *
   * @return cancels the task (a cancelled search): it completes as cancelled and its engine
   *     request, if submitted, stops consuming compute
   */
  public <T> Runnable submit(ModelTask<T> task, BiConsumer<T, Exception> done) {
    counters.submitted.increment();
    String unusable = unusableReason();
    if (unusable != null) {
      counters.failed.increment();
      done.accept(null, new IllegalStateException(task.operation() + " cannot run: " + unusable));
      return () -> {};
    }
    Work<T> work = new Work<>(task, done, nanoClock.getAsLong());
    inFlight.incrementAndGet();
    Runnable cancel = () -> cancel(work);
    if (model.isDone()) {
      hand(work);
      return cancel;
    }
    if (untilLoadedCount.incrementAndGet() > config.queueSize()) {
      untilLoadedCount.decrementAndGet();
      finish(work, null, Failures.queueFull(task.operation(), config));
      return cancel;
    }
    if (timeout.millis() > 0) {
      work.cancelLoadTimer =
          timer.schedule(
              () -> {
                if (untilLoaded.remove(work)) untilLoadedCount.decrementAndGet();
                finish(work, null, LoupeException.of(ErrorKind.TIMEOUT, "the model is still loading"));
              },
              timeout);
    }
    untilLoaded.add(work);
    if (model.isDone()) startWaitingForLoad();  // loading finished meanwhile
    return cancel;
  }

  private <T> void cancel(Work<T> work) {
    if (untilLoaded.remove(work)) untilLoadedCount.decrementAndGet();
    LoupeFuture<T> future = work.future;
    if (future != null) future.cancel(false);
    finish(work, null, LoupeException.of(ErrorKind.CANCELLED, work.task.operation() + " was cancelled"));
  }

  private void startWaitingForLoad() {
    Work<?> next;
    while ((next = untilLoaded.poll()) != null) {
      untilLoadedCount.decrementAndGet();
      Runnable cancelTimer = next.cancelLoadTimer;
      if (cancelTimer != null) cancelTimer.run();
      hand(next);
    }
  }

  /**
   * Off the ingest or search thread: the task reads its fields and submits. Each piece of work
   * arrives here once: from submit, or polled once from the work that waited for the model.
   */
  private <T> void hand(Work<T> work) {
    if (work.finished.get()) return;  // its wait for the model timed out
    String unusable = unusableReason();  // the model failed to load, or the node is closing
    if (unusable != null) {
      finish(work, null, new IllegalStateException(work.task.operation() + " cannot run: " + unusable));
      return;
    }
    try {
      pool.execute(() -> run(work));
    } catch (RejectedExecutionException e) {
      finish(work, null, Failures.queueFull(work.task.operation(), config));
    }
  }

  private <T> void run(Work<T> work) {
    try {
      LoupeEngine engine = model.join();
      Duration deadline = null;
      if (timeout.millis() > 0) {
        long left = timeout.millis() - (nanoClock.getAsLong() - work.admittedNanos) / 1_000_000;
        deadline = Duration.ofMillis(Math.max(1, left));
      }
      work.submittedNanos = nanoClock.getAsLong();
      LoupeFuture<T> future = work.task.start(engine, deadline);
      work.future = future;
      if (work.finished.get()) future.cancel(false);  // cancelled while it was being submitted
      future.whenComplete((result, error) -> finish(work, result, error));
    } catch (Throwable t) {
      finish(work, null, t);
    }
  }

  private <T> void finish(Work<T> work, T result, Throwable error) {
    if (!work.finished.compareAndSet(false, true)) return;
    inFlight.decrementAndGet();
    long now = nanoClock.getAsLong();
    Exception failure = null;
    if (result == null) {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      failure = Failures.toElasticsearch(work.task.operation(), cause, config, timeout);
      switch (Failures.outcome(failure)) {
        case REJECTED -> counters.rejected.increment();
        case TIMED_OUT -> counters.timedOut.increment();
        case FAILED -> counters.failed.increment();
      }
    } else {
      long submitted = work.submittedNanos == 0 ? now : work.submittedNanos;
      counters.completed(result, (submitted - work.admittedNanos) / 1e6, (now - work.admittedNanos) / 1e6, System.currentTimeMillis());
    }
    try {
      work.done.accept(result, failure);
    } catch (Throwable t) {
      LOG.error(work.task.operation() + " completion handler failed", t);
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

  public ModelStats stats() {
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
    ModelCapabilities can = capabilities;
    ModelStats.Model modelInfo =
        new ModelStats.Model(
            config.path().toString(), config.device(), engine != null, error,
            can == null ? null : kind(can), can == null ? 0 : can.embeddingSize());
    return counters.snapshot(
        modelInfo,
        inFlight.get(),
        new ModelStats.Queue(waiting, config.queueSize(), running, config.maxRunning()),
        visionHits,
        visionMisses,
        System.currentTimeMillis());
  }

  /** What the model is for, as stats show it: captioner, embedder or reranker (a captioner that can also score). */
  private static String kind(ModelCapabilities can) {
    if (can.embeddingModel()) return "embedding";
    return can.canScore() ? "generative, scoring" : "generative";
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
