package dev.loupe.ingest.cli;

import dev.loupe.LoupeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code loupe}: caption images to JSON lines, Elasticsearch bulk files or a Lucene index. */
@Command(
    name = "loupe",
    mixinStandardHelpOptions = true,
    description = "Qwen3-VL image captioning for search indexes.",
    subcommands = {CaptionCommand.class, BulkCommand.class, IndexCommand.class, SearchCommand.class})
public final class LoupeCli {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    CommandLine cli = new CommandLine(new LoupeCli());
    cli.setExecutionExceptionHandler(
        (error, commandLine, parsed) -> {
          String kind = error instanceof LoupeException le ? le.kind().nativeName() + ": " : "";
          commandLine.getErr().println("loupe: " + kind + error.getMessage());
          return 1;
        });
    return cli.execute(args);
  }
}
