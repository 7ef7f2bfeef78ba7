package dev.loupe.ingest;

import dev.loupe.Prompt;
import java.util.Locale;

/** Ready-made instructions for the usual indexing jobs; CUSTOM takes the caller's text. */
public enum PromptPreset {
  CAPTION("Write one short sentence describing this image."),
  DETAILED("Describe this image in detail: the subjects, their attributes, the setting and any actions."),
  KEYWORDS("List 5 to 10 comma-separated keywords for this image, most important first. Output only the keywords."),
  OCR("Transcribe all text visible in this image, line by line. Output only the text, or nothing if there is none."),
  CUSTOM(null);

  private final String instruction;

  PromptPreset(String instruction) {
    this.instruction = instruction;
  }

  /** The prompt for this preset; {@code customText} is required for CUSTOM and ignored otherwise. */
  public Prompt prompt(String customText) {
    if (this == CUSTOM) {
      if (customText == null || customText.isBlank()) throw new IllegalArgumentException("the custom preset needs prompt text");
      return Prompt.of(customText);
    }
    return Prompt.of(instruction);
  }

  /** Field-friendly name: "caption", "detailed", "keywords", "ocr", "custom". */
  public String fieldName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static PromptPreset parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown preset '" + name + "' (caption, detailed, keywords, ocr, custom)");
    }
  }
}
