package dev.loupe.ingest;

import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.LoupeEngine;
import dev.loupe.RetrievalInput;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Image and query vectors from a Qwen3-VL-Embedding checkpoint, as the index and the search
 * use them: images with the model's default instruction (documents), queries with {@link
 * #QUERY_INSTRUCTION} (the convention the embedding models, and models/shapes-embed-tiny,
 * were trained with).
 */
public final class ImageEmbeddings {
  public static final String QUERY_INSTRUCTION = "Retrieve images that match the user's query.";

  private ImageEmbeddings() {}

  /** Every file's vector through a bounded window, futures in file order (videos fail). */
  public static List<CompletableFuture<float[]>> embedAll(LoupeEngine engine, List<ImageFiles.ImageFile> files, int window)
      throws InterruptedException {
    BoundedSubmitter submitter = new BoundedSubmitter(engine, window);
    List<CompletableFuture<float[]>> out = new ArrayList<>(files.size());
    for (ImageFiles.ImageFile file : files) {
      if (file.video()) {
        out.add(CompletableFuture.failedFuture(new IllegalArgumentException(ImageFiles.VIDEO_UNSUPPORTED)));
        continue;
      }
      try {
        ImageInput image = ImageInput.ofFile(file.path());
        out.add(submitter.submit(() -> engine.embed(EmbedRequest.of(RetrievalInput.image(image)))));
      } catch (RuntimeException e) {
        out.add(CompletableFuture.failedFuture(e));
      }
    }
    return out;
  }

  public static float[] query(LoupeEngine engine, String text) {
    return engine.embed(EmbedRequest.of(RetrievalInput.text(text)).withInstruction(QUERY_INSTRUCTION)).join();
  }
}
