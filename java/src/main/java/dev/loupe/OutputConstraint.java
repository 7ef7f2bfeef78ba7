package dev.loupe;

import java.util.Objects;

/**
 * A grammar the generated text must follow: a JSON Schema, a regular expression or a Lark
 * grammar, enforced token by token by llguidance in the engine, so a greedy answer always
 * parses and validates. The engine compiles it when the request is submitted; an invalid one
 * fails the request with {@link InvalidRequestException}. A JSON Schema without its own
 * {@code "x-guidance"} options is written with {@code ", "} and {@code ": "} separators and
 * no other whitespace.
 */
public record OutputConstraint(Kind kind, String source) {
  /** The numbers are the native binding's (cpp OutputConstraint::Kind). */
  public enum Kind {
    JSON_SCHEMA,
    REGEX,
    LARK
  }

  public OutputConstraint {
    Objects.requireNonNull(kind, "constraint kind");
    Objects.requireNonNull(source, "constraint source");
    if (source.isBlank()) throw new InvalidRequestException("empty " + describe(kind));
  }

  /** A JSON Schema as JSON text. */
  public static OutputConstraint jsonSchema(String schema) {
    return new OutputConstraint(Kind.JSON_SCHEMA, schema);
  }

  public static OutputConstraint regex(String pattern) {
    return new OutputConstraint(Kind.REGEX, pattern);
  }

  public static OutputConstraint lark(String grammar) {
    return new OutputConstraint(Kind.LARK, grammar);
  }

  private static String describe(Kind kind) {
    return switch (kind) {
      case JSON_SCHEMA -> "JSON schema";
      case REGEX -> "regex";
      case LARK -> "Lark grammar";
    };
  }
}
