package dev.loupe.ingest.cli;

import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.LuceneCaptionIndex;
import dev.loupe.ingest.RunStats;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
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
      "path (a re-run replaces it). Default presets: " + IndexCommand.PRESETS + "."
    })
final class IndexCommand implements Callable<Integer> {
  static final String PRESETS = "caption,keywords,ocr";

  @Mixin ModelOptions model;

  @Option(names = "--lucene", required = true, description = "index directory (created if absent)")
  Path lucene;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR", description = "images, or folders to walk for them")
  List<Path> inputs;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ImageFiles.Listing listing = ImageFiles.expand(inputs);  // a bad argument fails before the index exists
    PrintWriter err = spec.commandLine().getErr();
    RunStats stats;
    try (LuceneCaptionIndex.Writer writer = new LuceneCaptionIndex.Writer(lucene)) {
      stats = model.captionAll(listing, PRESETS, err, writer::add);
    }
    err.println();
    err.println(stats.summary() + "; index has " + LuceneCaptionIndex.count(lucene) + " documents");
    return ExitCodes.of(stats.failed());
  }
}
