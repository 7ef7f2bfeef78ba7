package dev.loupe.ingest.cli;

import dev.loupe.ingest.Documents;
import dev.loupe.ingest.LuceneCaptionIndex;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "search", description = "Search an index made by `loupe index`; prints one JSON line per hit.")
final class SearchCommand implements Callable<Integer> {
  @Option(names = "--lucene", required = true)
  Path lucene;

  @Option(names = "--limit", defaultValue = "10")
  int limit;

  @Parameters(index = "0", paramLabel = "QUERY", description = "Lucene query syntax over caption, keywords, ocr, ...")
  String query;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    for (LuceneCaptionIndex.Hit hit : LuceneCaptionIndex.search(lucene, query, limit)) {
      Map<String, Object> line = new LinkedHashMap<>();
      line.put("path", hit.path());
      line.put("score", hit.score());
      line.putAll(hit.texts());
      out.println(Documents.line(line));
    }
    out.flush();
    return 0;
  }
}
