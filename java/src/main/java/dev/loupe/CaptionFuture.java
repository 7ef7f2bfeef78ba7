package dev.loupe;

import java.util.concurrent.CompletableFuture;

/** A caption in progress. {@link #cancel} also stops the generation in the engine. */
public final class CaptionFuture extends CompletableFuture<Caption> {
  private final Runnable nativeCancel;

  CaptionFuture(Runnable nativeCancel) {
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
