package dev.loupe.elasticsearch.processor;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.stream.Collectors;

/** What the processor may write under {@code target_field} (its {@code properties} option). */
public enum ResultProperty {
  /** The caption text. */
  TEXT,
  /** Generated token ids, a final stop token included. */
  TOKENS,
  /** Milliseconds per stage: image, queue, vision, prefill, decode, total. */
  TIMINGS,
  /** The model directory's name. */
  MODEL,
  /** Prompt tokens served from the radix prefix cache. */
  CACHED_TOKENS,
  /** Prompt length in tokens, image tokens included. */
  PROMPT_TOKENS,
  /** Why generation stopped: stop_token, length, ... */
  FINISH_REASON;

  public static final EnumSet<ResultProperty> DEFAULTS = EnumSet.of(TEXT, MODEL);

  public String fieldName() {
    return name().toLowerCase(Locale.ROOT);
  }

  static ResultProperty byName(String name) {
    for (ResultProperty property : values()) {
      if (property.fieldName().equals(name)) return property;
    }
    return null;
  }

  static String names() {
    return Arrays.stream(values()).map(ResultProperty::fieldName).collect(Collectors.joining(", "));
  }
}
