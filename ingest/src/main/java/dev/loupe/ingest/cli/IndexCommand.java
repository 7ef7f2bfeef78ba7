package dev.loupe.ingest.cli;

import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.ingest.ImageEmbeddings;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.LuceneCaptionIndex;
import dev.loupe.ingest.RunStats;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(
    name = "index",
    description = {
      "Caption images into an embedded Lucene index, one document per image keyed by its absolute",
      "path (a re-run replaces it). Default presets: " + IndexCommand.PRESETS + ". With",
      "--embedding-model, each image's vector is indexed too (HNSW) for `search --mode vector|hybrid`."
    })
final class IndexCommand implements Callable<Integer> {
  static final String PRESETS = "caption,keywords,ocr";

  @Mixin ModelOptions model;

  @Option(names = "--lucene", required = true, description = "index directory (created if absent)")
  Path lucene;

  @Option(
      names = "--embedding-model",
      description = "Qwen3-VL-Embedding checkpoint: also index each image's vector (same device and threads)")
  Path embeddingModel;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR", description = "images, or folders to walk for them")
  List<Path> inputs;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ImageFiles.Listing listing = ImageFiles.expand(inputs);  // a bad argument fails before the index exists
    PrintWriter err = spec.commandLine().getErr();
    RunStats stats;
    try (LoupeEngine embedder = embeddingModel == null ? null : Loupe.open(embeddingModel, model.engineOptions());
        LuceneCaptionIndex.Writer writer = new LuceneCaptionIndex.Writer(lucene)) {
      Map<Path, CompletableFuture<float[]>> vectors = embedder == null ? Map.of() : embedInBackground(embedder, listing);
      stats =
          model.captionAll(
              listing,
              PRESETS,
              err,
              result -> {
                CompletableFuture<float[]> vector = vectors.get(result.path());
                writer.add(result, vector == null || !result.ok() ? null : vectorOf(result.path(), vector, err));
              });
    }
    err.println();
    err.println(stats.summary() + "; index has " + LuceneCaptionIndex.count(lucene) + " documents");
    return ExitCodes.of(stats.failed());
  }

  /** Embeds every image while the captions run; a future per path, completed as each finishes. */
  private Map<Path, CompletableFuture<float[]>> embedInBackground(LoupeEngine embedder, ImageFiles.Listing listing) {
    Map<Path, CompletableFuture<float[]>> vectors = new HashMap<>();
    for (ImageFiles.ImageFile file : listing.images()) vectors.put(file.path(), new CompletableFuture<>());
    Thread submitter =
        new Thread(
            () -> {
              try {
                List<CompletableFuture<float[]>> futures = ImageEmbeddings.embedAll(embedder, listing.images(), model.window);
                for (int i = 0; i < futures.size(); i++) {
                  CompletableFuture<float[]> target = vectors.get(listing.images().get(i).path());
                  futures.get(i).whenComplete((v, e) -> { if (e != null) target.completeExceptionally(e); else target.complete(v); });
                }
              } catch (InterruptedException e) {
                vectors.values().forEach(f -> f.completeExceptionally(e));
              }
            },
            "loupe-embed-submitter");
    submitter.setDaemon(true);
    submitter.start();
    return vectors;
  }

  /** The image's vector, or null (the document is indexed without one) with the reason on stderr. */
  private static float[] vectorOf(Path path, CompletableFuture<float[]> vector, PrintWriter err) {
    try {
      return vector.join();
    } catch (CompletionException e) {
      err.println("\n" + path + ": no vector: " + e.getCause().getMessage());
      return null;
    }
  }
}
