package dev.loupe;

/** A configured limit (image bytes, pixels, image count, prompt tokens, queue) was hit. */
public class LimitExceededException extends LoupeException {
  public LimitExceededException(String message) {
    super(ErrorKind.LIMIT_EXCEEDED, message);
  }
}
