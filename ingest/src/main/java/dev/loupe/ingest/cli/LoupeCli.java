package dev.loupe.ingest.cli;

import dev.loupe.LoupeException;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/** {@code loupe}: caption images to JSON lines, Elasticsearch bulk files or a Lucene index. */
@Command(
    name = "loupe",
    scope = ScopeType.INHERIT,
    mixinStandardHelpOptions = true,
    description = "Qwen3-VL image captioning for search indexes.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      ExitCodes.OK + ":every image was captioned (search: the query ran, with or without hits)",
      ExitCodes.ERROR + ":an error stopped the command (model, index, query, I/O); the reason is on stderr",
      ExitCodes.USAGE + ":bad usage (unknown option, missing argument)",
      ExitCodes.SOME_FAILED + ":the run finished but some images failed; each is named on stderr and the rest were written"
    },
    subcommands = {CaptionCommand.class, BulkCommand.class, IndexCommand.class, SearchCommand.class, EmbedCommand.class, OptionsCommand.class})
public final class LoupeCli {
  /**
   * Lucene warns on every start that the Vector API module is not readable; without it Lucene
   * scores vectors with its scalar code, which is plenty for a local index, so the warning is noise. Held here: JUL keeps loggers weakly.
   */
  private static final Logger LUCENE_VECTORIZATION = quiet("org.apache.lucene.internal.vectorization");

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The CLI as picocli runs it: errors print one "loupe: ..." line and exit with ERROR. */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new LoupeCli());
    cli.setExecutionExceptionHandler(
        (error, commandLine, parsed) -> {
          String kind = error instanceof LoupeException le ? le.kind().nativeName() + ": " : "";
          commandLine.getErr().println("loupe: " + kind + error.getMessage());
          return ExitCodes.ERROR;
        });
    return cli;
  }

  private static Logger quiet(String name) {
    Logger logger = Logger.getLogger(name);
    logger.setLevel(Level.SEVERE);
    return logger;
  }
}
