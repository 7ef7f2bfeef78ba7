package dev.loupe;

import java.util.concurrent.CompletableFuture;

/** A request in progress. {@link #cancel} also stops its work in the engine. */
public class LoupeFuture<T> extends CompletableFuture<T> {
  private final Runnable nativeCancel;

  LoupeFuture(Runnable nativeCancel) {
    this.nativeCancel = nativeCancel;
  }

  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    boolean cancelled = completeExceptionally(new CancelledException("cancelled by the caller"));
    if (cancelled) nativeCancel.run();
    return cancelled;
  }

  @Override
  public <U> CompletableFuture<U> newIncompleteFuture() {
    return new CompletableFuture<>();
  }
}
