package dev.loupe.ingest;

import dev.loupe.CaptionRequest;
import dev.loupe.LoupeEngine;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * Keeps at most {@code maxInFlight} requests in the engine: submit() blocks the producer
 * while the window is full, as a well-behaved client of the engine's queue, so a directory
 * of a million images never holds a million encoded images in memory (and never trips the
 * engine's queue limit).
 */
public final class BoundedSubmitter {
  private final LoupeEngine engine;
  private final Semaphore window;
  private final int maxInFlight;

  public BoundedSubmitter(LoupeEngine engine, int maxInFlight) {
    if (maxInFlight <= 0) throw new IllegalArgumentException("maxInFlight must be positive");
    this.engine = engine;
    this.maxInFlight = maxInFlight;
    this.window = new Semaphore(maxInFlight);
  }

  public CompletableFuture<dev.loupe.Caption> submit(CaptionRequest request) throws InterruptedException {
    return submit(() -> engine.submit(request));
  }

  /** Any request kind (embeddings too): {@code start} submits it once a slot is free. */
  public <T> CompletableFuture<T> submit(Supplier<? extends CompletableFuture<T>> start) throws InterruptedException {
    window.acquire();
    CompletableFuture<T> future;
    try {
      future = start.get();
    } catch (RuntimeException e) {
      window.release();
      throw e;
    }
    return future.whenComplete((value, error) -> window.release());
  }

  public int inFlight() {
    return maxInFlight - window.availablePermits();
  }

  /** Blocks until every submitted request has completed. */
  public void drain() throws InterruptedException {
    window.acquire(maxInFlight);
    window.release(maxInFlight);
  }
}
