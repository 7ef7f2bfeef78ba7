package dev.loupe.ingest.cli;

import dev.loupe.ingest.Documents;
import dev.loupe.ingest.LuceneCaptionIndex;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "search",
    description = {
      "Search an index made by `loupe index`; prints one JSON line per hit, best first, and says",
      "on stderr when nothing matched. Every word must match (in any text field) unless --any."
    })
final class SearchCommand implements Callable<Integer> {
  @Option(names = "--lucene", required = true, description = "index directory made by `loupe index`")
  Path lucene;

  @Option(names = "--limit", defaultValue = "10", description = "most hits to print (default: ${DEFAULT-VALUE})")
  int limit;

  @Option(names = "--any", description = "match images with any of the words instead of all of them")
  boolean anyWord;

  @Parameters(
      index = "0",
      paramLabel = "QUERY",
      description = "words, or Lucene query syntax over caption, description, keywords, ocr, custom (caption:\"red circle\")")
  String query;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (limit <= 0) throw new IllegalArgumentException("--limit must be positive, not " + limit);
    List<LuceneCaptionIndex.Hit> hits = LuceneCaptionIndex.search(lucene, query, limit, anyWord);
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
}
