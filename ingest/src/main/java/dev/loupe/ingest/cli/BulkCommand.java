package dev.loupe.ingest.cli;

import dev.loupe.LoupeEngine;
import dev.loupe.PromptPreset;
import dev.loupe.ingest.BulkWriter;
import dev.loupe.ingest.CaptionPipeline;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.RunStats;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "bulk",
    description = "Caption images into Elasticsearch _bulk NDJSON (POST it with curl --data-binary @FILE).")
final class BulkCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--index", required = true, description = "target index name")
  String index;

  @Option(names = {"-o", "--output"}, description = "NDJSON file (default: stdout)")
  Path output;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR")
  List<Path> inputs;

  @Override
  public Integer call() throws Exception {
    List<Path> files = ImageFiles.expand(inputs);
    RunStats stats = new RunStats(System.err, files.size());
    try (Writer out =
            output == null
                ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
                : Files.newBufferedWriter(output, StandardCharsets.UTF_8);
        LoupeEngine engine = model.open()) {
      BulkWriter bulk = new BulkWriter(out, index);
      new CaptionPipeline(engine, model.prompts(List.of(PromptPreset.CAPTION, PromptPreset.KEYWORDS)), model.sampling(),
              model.timeout(), model.window)
          .run(
              files,
              result -> {
                if (!result.ok()) System.err.println("\n" + result.path() + ": " + result.error());
                bulk.write(result);
                stats.record(result);
              });
      out.flush();
    }
    System.err.println();
    System.err.println(stats.summary());
    return stats.failed() == 0 ? 0 : 2;
  }
}
