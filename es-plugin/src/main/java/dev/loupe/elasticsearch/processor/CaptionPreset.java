package dev.loupe.elasticsearch.processor;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Ready-made instructions for the usual indexing jobs, with the texts of the ingest CLI's
 * presets ({@code dev.loupe.ingest.PromptPreset}), named as the processor's {@code preset}
 * option spells them.
 */
public enum CaptionPreset {
  CAPTION("Write one short sentence describing this image."),
  DESCRIPTION("Describe this image in detail: the subjects, their attributes, the setting and any actions."),
  KEYWORDS("List 5 to 10 comma-separated keywords for this image, most important first. Output only the keywords."),
  OCR("Transcribe all text visible in this image, line by line. Output only the text, or nothing if there is none.");

  private final String instruction;

  CaptionPreset(String instruction) {
    this.instruction = instruction;
  }

  public String instruction() {
    return instruction;
  }

  public String optionName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The preset named {@code name}, or null when there is none. */
  static CaptionPreset byName(String name) {
    for (CaptionPreset preset : values()) {
      if (preset.optionName().equals(name)) return preset;
    }
    return null;
  }

  static String names() {
    return Arrays.stream(values()).map(CaptionPreset::optionName).collect(Collectors.joining(", "));
  }
}
