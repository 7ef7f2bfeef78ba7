package dev.loupe;

import java.util.Objects;

/** The user text placed after the images, and an optional system prompt. */
public record Prompt(String text, String systemPrompt) {
  public Prompt {
    Objects.requireNonNull(text, "prompt text");
  }

  public static Prompt of(String text) {
    return new Prompt(text, null);
  }

  public Prompt withSystemPrompt(String system) {
    return new Prompt(text, system);
  }
}
