package dev.loupe.ingest.cli;

import dev.loupe.LoupeEngine;
import dev.loupe.PromptPreset;
import dev.loupe.ingest.CaptionPipeline;
import dev.loupe.ingest.ImageFiles;
import dev.loupe.ingest.LuceneCaptionIndex;
import dev.loupe.ingest.RunStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "index", description = "Caption images into an embedded Lucene index (caption, keywords, OCR text).")
final class IndexCommand implements Callable<Integer> {
  @Mixin ModelOptions model;

  @Option(names = "--lucene", required = true, description = "index directory (created if absent)")
  Path lucene;

  @Parameters(arity = "1..*", paramLabel = "FILE|DIR")
  List<Path> inputs;

  @Override
  public Integer call() throws Exception {
    List<Path> files = ImageFiles.expand(inputs);
    RunStats stats = new RunStats(System.err, files.size());
    try (LuceneCaptionIndex.Writer writer = new LuceneCaptionIndex.Writer(lucene);
        LoupeEngine engine = model.open()) {
      new CaptionPipeline(engine, model.prompts(List.of(PromptPreset.CAPTION, PromptPreset.KEYWORDS, PromptPreset.OCR)),
              model.sampling(), model.timeout(), model.window)
          .run(
              files,
              result -> {
                if (!result.ok()) System.err.println("\n" + result.path() + ": " + result.error());
                try {
                  writer.add(result);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
                stats.record(result);
              });
    }
    System.err.println();
    System.err.println(stats.summary() + "; index has " + LuceneCaptionIndex.count(lucene) + " documents");
    return stats.failed() == 0 ? 0 : 2;
  }
}
