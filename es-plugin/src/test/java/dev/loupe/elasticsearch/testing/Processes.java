package dev.loupe.elasticsearch.testing;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs helper commands (scripts/es-node) with their output in the test log. */
final class Processes {
  private Processes() {}

  /** Runs {@code command}; fails with its exit status on a non-zero exit or after the timeout. */
  static void run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    // Through System.out, never the forked JVM's raw stdout: failsafe reads test events from it.
    Thread copier =
        Thread.ofVirtual()
            .start(
                () -> {
                  try (var lines = process.inputReader().lines()) {
                    lines.forEach(System.out::println);
                  }
                });
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
    }
    copier.join();
    if (process.exitValue() != 0) {
      throw new IOException("exit status " + process.exitValue() + ": " + String.join(" ", command));
    }
  }
}
