package dev.loupe;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The user's words, an optional system prompt and an optional shape of the answer. By default
 * the images come first and {@code text} follows them; {@link #interleaved} places text
 * before, between and after the images instead ("Compare ", image, " with ", image, ". Which
 * one has a cat?"). {@link #withJsonSchema} (or {@link #withRegex}) constrains the answer.
 */
public record Prompt(String text, String systemPrompt, List<String> segments, OutputConstraint constraint) {
  public Prompt {
    Objects.requireNonNull(text, "prompt text");
    if (segments != null) segments = List.copyOf(segments);
  }

  public Prompt(String text, String systemPrompt, List<String> segments) {
    this(text, systemPrompt, segments, null);
  }

  public Prompt(String text, String systemPrompt) {
    this(text, systemPrompt, null, null);
  }

  public static Prompt of(String text) {
    return new Prompt(text, null, null, null);
  }

  /** Text around the images: one more segment than images; empty segments are skipped. */
  public static Prompt interleaved(List<String> segments) {
    return new Prompt(String.join("", segments), null, segments, null);
  }

  public Prompt withSystemPrompt(String system) {
    return new Prompt(text, system, segments, constraint);
  }

  /** The answer must be JSON valid against {@code schema} (JSON Schema text); null: free text. */
  public Prompt withJsonSchema(String schema) {
    return withConstraint(schema == null ? null : OutputConstraint.jsonSchema(schema));
  }

  /** The answer must match {@code pattern} as a whole. */
  public Prompt withRegex(String pattern) {
    return withConstraint(pattern == null ? null : OutputConstraint.regex(pattern));
  }

  public Prompt withConstraint(OutputConstraint answer) {
    return new Prompt(text, systemPrompt, segments, answer);
  }

  /** The text segments around {@code imageCount} images. */
  public List<String> segmentsAround(int imageCount) {
    if (segments != null) {
      if (segments.size() != imageCount + 1) {
        throw new InvalidRequestException(
            "an interleaved prompt needs " + (imageCount + 1) + " text segments for " + imageCount + " images, got "
                + segments.size());
      }
      return segments;
    }
    List<String> out = new ArrayList<>(Collections.nCopies(imageCount, ""));
    out.add(text);
    return out;
  }
}
