package dev.loupe.ingest.cli;

import dev.loupe.OptionDescription;
import dev.loupe.Options;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(
    name = "options",
    description = {
      "List the runtime options --engine-option takes (the native library's own description):",
      "name, type, default and what each does."
    })
final class OptionsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    for (OptionDescription option : Options.descriptions()) {
      String value = option.defaultValue().isEmpty() ? "\"\"" : option.defaultValue();
      String choices = option.choices().isEmpty() ? "" : " (" + String.join(" | ", option.choices().stream().map(c -> c.isEmpty() ? "\"\"" : c).toList()) + ")";
      out.printf("%-24s %-7s %-11s %s%s%n", option.name(), option.type(), value, option.doc(), choices);
    }
    out.flush();
    return ExitCodes.OK;
  }
}
