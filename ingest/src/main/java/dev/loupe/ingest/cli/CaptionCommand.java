package dev.loupe.ingest.cli;

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

@Command(
    name = "caption",
    description = {
      "Caption images; prints one JSON line per image on stdout, in input order, with each text's",
      "finish_reason (stop, or length when --max-new-tokens cut it). Folders are walked for images;",
      "other files are skipped and named in the summary. Default preset: " + CaptionCommand.PRESETS + "."
    })
final class CaptionCommand implements Callable<Integer> {
  static final String PRESETS = "caption";

  @Mixin ModelOptions model;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR", description = "images, or folders to walk for them")
  List<Path> inputs;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    RunStats stats =
        model.captionAll(
            ImageFiles.expand(inputs),
            PRESETS,
            err,
            result -> {
              out.println(Documents.line(Documents.json(result)));
              out.flush();
            });
    err.println();
    err.println(stats.summary());
    return ExitCodes.of(stats.failed());
  }
}
