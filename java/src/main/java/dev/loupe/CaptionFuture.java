package dev.loupe;

/** A caption in progress. {@link #cancel} also stops the generation in the engine. */
public final class CaptionFuture extends LoupeFuture<Caption> {
  CaptionFuture(Runnable nativeCancel) {
    super(nativeCancel);
  }
}
