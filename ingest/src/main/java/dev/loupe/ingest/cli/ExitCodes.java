package dev.loupe.ingest.cli;

/** The CLI's exit codes, listed in every command's --help and in the README. */
final class ExitCodes {
  static final int OK = 0;
  static final int ERROR = 1;
  static final int USAGE = 2; // picocli's own for a parse error
  static final int SOME_FAILED = 3;

  private ExitCodes() {}

  static int of(int failedImages) {
    return failedImages == 0 ? OK : SOME_FAILED;
  }
}
