package dev.loupe.ingest;

import dev.loupe.Caption;
import dev.loupe.CaptionRequest;
import dev.loupe.ImageInput;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeException;
import dev.loupe.Prompt;
import dev.loupe.SamplingParams;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * Captions a list of image files with one or more prompts each, through a bounded window,
 * and hands every image's results to a consumer in input order, one at a time: captions
 * finish out of order, so a finished image waits for the ones listed before it.
 */
public final class CaptionPipeline {
  private final LoupeEngine engine;
  private final Map<String, Prompt> prompts;
  private final SamplingParams sampling;
  private final Duration timeout;
  private final int window;

  public CaptionPipeline(LoupeEngine engine, Map<String, Prompt> prompts, SamplingParams sampling, Duration timeout, int window) {
    if (prompts.isEmpty()) throw new IllegalArgumentException("at least one prompt");
    this.engine = engine;
    this.prompts = Map.copyOf(prompts);
    this.sampling = sampling;
    this.timeout = timeout;
    this.window = window;
  }

  public void run(List<ImageFiles.ImageFile> files, Consumer<ImageCaptions> sink) throws InterruptedException {
    BoundedSubmitter submitter = new BoundedSubmitter(engine, window);
    InOrder inOrder = new InOrder(files.size(), sink);
    CompletableFuture<?>[] all = new CompletableFuture<?>[files.size()];
    for (int i = 0; i < files.size(); i++) {
      ImageFiles.ImageFile file = files.get(i);
      CompletableFuture<ImageCaptions> one;
      if (file.video()) {
        one = CompletableFuture.completedFuture(ImageCaptions.failed(file, "unsupported: " + ImageFiles.VIDEO_UNSUPPORTED));
      } else {
        try {
          ImageInput image = ImageInput.ofFile(file.path());
          Map<String, CompletableFuture<Caption>> futures = new LinkedHashMap<>();
          for (Map.Entry<String, Prompt> prompt : prompts.entrySet()) {
            CaptionRequest request =
                new CaptionRequest(List.of(image), prompt.getValue(), sampling, 0, 0, timeout, null);
            futures.put(prompt.getKey(), submitter.submit(request));
          }
          one =
              CompletableFuture.allOf(futures.values().toArray(CompletableFuture[]::new))
                  .handle((ignored, error) -> collect(file, futures, error));
        } catch (RuntimeException e) {
          one = CompletableFuture.completedFuture(ImageCaptions.failed(file, message(e)));
        }
      }
      int index = i;
      all[i] = one.thenAccept(result -> inOrder.complete(index, result));
    }
    CompletableFuture.allOf(all).join();
  }

  /** Releases results to the sink in index order; holds the ones that finish early. */
  private static final class InOrder {
    private final ImageCaptions[] done;
    private final Consumer<ImageCaptions> sink;
    private int next;

    InOrder(int size, Consumer<ImageCaptions> sink) {
      this.done = new ImageCaptions[size];
      this.sink = sink;
    }

    synchronized void complete(int index, ImageCaptions result) {
      done[index] = result;
      while (next < done.length && done[next] != null) {
        sink.accept(done[next]);
        done[next++] = null;
      }
    }
  }

  private static ImageCaptions collect(ImageFiles.ImageFile file, Map<String, CompletableFuture<Caption>> futures, Throwable error) {
    if (error != null) return ImageCaptions.failed(file, message(error));
    Map<String, Caption> captions = new LinkedHashMap<>();
    futures.forEach((name, future) -> captions.put(name, future.join()));
    return ImageCaptions.of(file, captions);
  }

  static String message(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    String kind = cause instanceof LoupeException le ? le.kind().nativeName() : cause.getClass().getSimpleName();
    return kind + ": " + cause.getMessage();
  }
}
