package dev.loupe;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
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
  OCR("Transcribe all text visible in this image, line by line. Output only the text, or nothing if there is none."),
  /**
   * Facets for filters and aggregations, as JSON constrained by the built-in schema
   * {@code presets/tags.schema.json}: objects, colors, text_present, scene.
   */
  TAGS(
      "Tag this image as JSON: the objects in it, their main colours, whether it shows any text, and the scene.",
      "presets/tags.schema.json");

  private final String instruction;
  private final String schema;  // JSON Schema text of a structured preset, else null

  PromptPreset(String instruction) {
    this.instruction = instruction;
    this.schema = null;
  }

  PromptPreset(String instruction, String schemaResource) {
    this.instruction = instruction;
    try (InputStream in = PromptPreset.class.getResourceAsStream(schemaResource)) {
      if (in == null) throw new IllegalStateException("missing resource " + schemaResource);
      this.schema = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String instruction() {
    return instruction;
  }

  /** The JSON Schema the answer follows, for a structured preset (tags). */
  public Optional<String> jsonSchema() {
    return Optional.ofNullable(schema);
  }

  public Prompt prompt() {
    return Prompt.of(instruction).withJsonSchema(schema);
  }

  /** How options, CLI flags and output fields spell it: "caption", "description", "keywords", "ocr", "tags". */
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
