package dev.loupe.ingest.cli;

import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.ingest.Documents;
import dev.loupe.ingest.ImageEmbeddings;
import dev.loupe.ingest.LuceneCaptionIndex;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "search",
    description = {
      "Search an index made by `loupe index`; prints one JSON line per hit, best first, and says",
      "on stderr when nothing matched. --mode text (default): every word must match (in any text",
      "field) unless --any; vector: the images nearest to the query's embedding; hybrid: both",
      "rankings (words: any of them) merged by reciprocal rank fusion. vector and hybrid need",
      "--embedding-model, the checkpoint the index was made with."
    })
final class SearchCommand implements Callable<Integer> {
  @Option(names = "--lucene", required = true, description = "index directory made by `loupe index`")
  Path lucene;

  @Option(names = "--limit", defaultValue = "10", description = "most hits to print (default: ${DEFAULT-VALUE})")
  int limit;

  @Option(names = "--any", description = "match images with any of the words instead of all of them")
  boolean anyWord;

  enum Mode { text, vector, hybrid }

  @Option(names = "--mode", defaultValue = "text", description = "text, vector or hybrid (default: ${DEFAULT-VALUE})")
  Mode mode;

  @Option(names = "--embedding-model", description = "Qwen3-VL-Embedding checkpoint that embedded the index's images")
  Path embeddingModel;

  @Option(names = "--threads", defaultValue = "0", description = "CPU threads for the query embedding, 0 = all cores (default: ${DEFAULT-VALUE})")
  int threads;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
  String device;

  /** Each ranking hybrid fuses is this many times deeper than --limit. */
  static final int HYBRID_DEPTH_FACTOR = 5;

  @Parameters(
      index = "0",
      paramLabel = "QUERY",
      description = "words, or Lucene query syntax over caption, description, keywords, ocr, custom (caption:\"red circle\")")
  String query;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (limit <= 0) throw new IllegalArgumentException("--limit must be positive, not " + limit);
    List<LuceneCaptionIndex.Hit> hits = mode == Mode.text ? LuceneCaptionIndex.search(lucene, query, limit, anyWord) : semantic();
    PrintWriter out = spec.commandLine().getOut();
    for (LuceneCaptionIndex.Hit hit : hits) {
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("path", hit.path());
      line.put("score", hit.score());
      line.putAll(hit.texts());
      out.println(Documents.line(line));
    }
    out.flush();
    if (hits.isEmpty()) {
      spec.commandLine().getErr().println("loupe: no hits for " + query + (anyWord ? "" : " (every word must match; --any for any word)"));
    }
    return ExitCodes.OK;
  }

  private List<LuceneCaptionIndex.Hit> semantic() throws IOException {
    if (embeddingModel == null) throw new IllegalArgumentException("--mode " + mode + " needs --embedding-model");
    if (!LuceneCaptionIndex.hasVectors(lucene)) {
      throw new IllegalArgumentException(lucene + " has no image vectors (index it with --embedding-model)");
    }
    float[] vector;
    try (LoupeEngine engine = Loupe.open(embeddingModel, Options.defaults().withDevice(device).withThreads(threads))) {
      vector = ImageEmbeddings.query(engine, query);
    } catch (CompletionException e) {
      throw e.getCause() instanceof RuntimeException cause ? cause : e;
    }
    return mode == Mode.vector
        ? LuceneCaptionIndex.searchVector(lucene, vector, limit)
        : LuceneCaptionIndex.searchHybrid(lucene, query, vector, limit, limit * HYBRID_DEPTH_FACTOR);
  }
}
