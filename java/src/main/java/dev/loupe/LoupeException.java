package dev.loupe;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A failure reported by libloupe, with its {@link ErrorKind} and one-line message. */
public class LoupeException extends RuntimeException {
  private static final Pattern NATIVE_MESSAGE = Pattern.compile("^\\[([a-z_]+)\\] (.*)$", Pattern.DOTALL);

  private final ErrorKind kind;

  public LoupeException(ErrorKind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public ErrorKind kind() {
    return kind;
  }

  /** Converts the RuntimeException JavaCPP raises for a native "[kind] message" error. */
  static LoupeException fromNative(RuntimeException error) {
    String text = error.getMessage() == null ? "" : error.getMessage();
    Matcher matcher = NATIVE_MESSAGE.matcher(text);
    LoupeException converted =
        matcher.matches()
            ? of(ErrorKind.fromNativeName(matcher.group(1)), matcher.group(2))
            : of(ErrorKind.INTERNAL, text);
    converted.initCause(error);
    return converted;
  }

  /** The typed exception for {@code kind} (e.g. BadImageException for BAD_IMAGE). */
  public static LoupeException of(ErrorKind kind, String message) {
    return switch (kind) {
      case BAD_IMAGE -> new BadImageException(message);
      case LIMIT_EXCEEDED -> new LimitExceededException(message);
      case OVERLOADED -> new OverloadedException(message);
      case MODEL_LOAD -> new ModelLoadException(message);
      case OUT_OF_MEMORY -> new NativeOutOfMemoryException(message);
      case CANCELLED -> new CancelledException(message);
      case TIMEOUT -> new RequestTimeoutException(message);
      case NO_DEVICE -> new NoDeviceException(message);
      case INVALID_ARGUMENT -> new InvalidRequestException(message);
      case INTERNAL -> new LoupeException(kind, message);
    };
  }
}
