package dev.loupe;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Ready-made instructions for the usual indexing jobs, one set for every front end (the
 * ingest CLI's {@code --preset}, the Elasticsearch processor's {@code preset} option), so a
 * caption means the same prompt, and hits the same prefix cache, wherever it is asked for.
 * The trained shapes model (tools/shapes-model/scenes.py) is trained on exactly these texts.
 */
public enum PromptPreset {
  CAPTION("Write one short sentence describing this image."),
  DESCRIPTION("Describe this image in detail: the subjects, their attributes, the setting and any actions."),
  KEYWORDS("List 5 to 10 comma-separated keywords for this image, most important first. Output only the keywords."),
  OCR("Transcribe all text visible in this image, line by line. Output only the text, or nothing if there is none.");

  private final String instruction;

  PromptPreset(String instruction) {
    this.instruction = instruction;
  }

  public String instruction() {
    return instruction;
  }

  public Prompt prompt() {
    return Prompt.of(instruction);
  }

  /** How options, CLI flags and output fields spell it: "caption", "description", "keywords", "ocr". */
  public String optionName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The preset spelled {@code name} (as {@link #optionName}), if there is one. */
  public static Optional<PromptPreset> byName(String name) {
    return Arrays.stream(values()).filter(p -> p.optionName().equals(name)).findFirst();
  }

  /** Every option name, comma-separated, for error messages and help texts. */
  public static String names() {
    return Arrays.stream(values()).map(PromptPreset::optionName).collect(Collectors.joining(", "));
  }
}
