package dev.loupe;

import java.util.Locale;

/** Why a native call failed; mirrors {@code loupe::ErrorKind} and its stable names. */
public enum ErrorKind {
  INVALID_ARGUMENT,
  BAD_IMAGE,
  LIMIT_EXCEEDED,
  OVERLOADED,
  MODEL_LOAD,
  OUT_OF_MEMORY,
  CANCELLED,
  TIMEOUT,
  NO_DEVICE,
  INTERNAL;

  /** The kind for a native name such as {@code "model_load"}; unknown names are INTERNAL. */
  public static ErrorKind fromNativeName(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException unknown) {
      return INTERNAL;
    }
  }

  /** The name the native library uses, e.g. {@code "model_load"}. */
  public String nativeName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
