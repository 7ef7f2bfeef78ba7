package dev.loupe.ingest.cli;

import dev.loupe.ingest.BulkWriter;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.RunStats;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
    name = "bulk",
    description = {
      "Caption images into Elasticsearch _bulk NDJSON (POST it with curl --data-binary @FILE).",
      "Document ids do not depend on the working directory: an image's path below its folder",
      "argument, prefixed with that folder's name (photos/cats/1.jpg); a file argument's file name.",
      "Default presets: " + BulkCommand.PRESETS + "."
    })
final class BulkCommand implements Callable<Integer> {
  static final String PRESETS = "caption,keywords";

  @Mixin ModelOptions model;

  @Option(names = "--index", required = true, description = "target index name")
  String index;

  @Option(names = {"-o", "--output"}, description = "NDJSON file (default: stdout)")
  Path output;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR", description = "images, or folders to walk for them")
  List<Path> inputs;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ImageFiles.Listing listing = ImageFiles.expand(inputs);  // a bad argument fails before any output exists
    PrintWriter err = spec.commandLine().getErr();
    RunStats stats;
    try (Writer out =
        output == null
            ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
            : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
      BulkWriter bulk = new BulkWriter(out, index);
      stats = model.captionAll(listing, PRESETS, err, bulk::write);
      out.flush();
    }
    err.println();
    err.println(stats.summary());
    return ExitCodes.of(stats.failed());
  }
}
