package dev.loupe;

import java.util.List;

/**
 * One option of {@link Loupe#open}, as the native library describes it (its options catalog,
 * generated at build time): the native name, its type ({@code bool}, {@code int32},
 * {@code int64}, {@code double} or {@code string}), the default in text form, the accepted
 * values of a string option (empty: any) and one line of documentation.
 */
public record OptionDescription(String name, String type, String defaultValue, List<String> choices, String doc) {
  public OptionDescription {
    choices = List.copyOf(choices);
  }

  /** The text form of {@code value}, or IllegalArgumentException naming the option and what it takes. */
  String textOf(Object value) {
    String text =
        value instanceof String s && !type.equals("string") ? parsedText(s) : switch (type) {
          case "bool" -> value instanceof Boolean b ? b.toString() : null;
          case "int32" -> value instanceof Integer i ? i.toString() : null;
          case "int64" -> value instanceof Long || value instanceof Integer ? value.toString() : null;
          case "double" -> value instanceof Number n ? Double.toString(n.doubleValue()) : null;
          default -> value instanceof String s ? s : null;
        };
    if (text == null) {
      throw new IllegalArgumentException("option " + name + " takes a " + type + ", not " + value);
    }
    if (!choices.isEmpty() && !choices.contains(text)) {
      throw new IllegalArgumentException("option " + name + " must be " + listed(choices) + ", not '" + text + "'");
    }
    return text;
  }

  // A number or boolean given as text (a node setting, a command-line value), checked here so
  // that a bad value is refused where it was written rather than when the model opens.
  private String parsedText(String text) {
    try {
      return switch (type) {
        case "bool" -> {
          if (!text.equals("true") && !text.equals("false")) throw new NumberFormatException(text);
          yield text;
        }
        case "int32" -> Integer.toString(Integer.parseInt(text));
        case "int64" -> Long.toString(Long.parseLong(text));
        default -> Double.toString(Double.parseDouble(text));
      };
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("option " + name + " takes a " + type + ", not '" + text + "'");
    }
  }

  private static String listed(List<String> values) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < values.size(); i++) {
      out.append(i == 0 ? "" : i + 1 == values.size() ? " or " : ", ").append('\'').append(values.get(i)).append('\'');
    }
    return out.toString();
  }
}
