package dev.loupe.ingest.cli;

import dev.loupe.LoupeEngine;
import dev.loupe.PromptPreset;
import dev.loupe.ingest.CaptionPipeline;
import dev.loupe.ingest.Documents;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.RunStats;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "caption", description = "Caption images; prints one JSON line per image on stdout.")
final class CaptionCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR")
  List<Path> inputs;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    List<Path> files = ImageFiles.expand(inputs);
    PrintWriter out = spec.commandLine().getOut();
    RunStats stats = new RunStats(System.err, files.size());
    try (LoupeEngine engine = model.open()) {
      new CaptionPipeline(engine, model.prompts(List.of(PromptPreset.CAPTION)), model.sampling(), model.timeout(), model.window)
          .run(
              files,
              result -> {
                out.println(Documents.line(Documents.json(result)));
                out.flush();
                stats.record(result);
              });
    }
    System.err.println();
    System.err.println(stats.summary());
    return stats.failed() == 0 ? 0 : 2;
  }
}
