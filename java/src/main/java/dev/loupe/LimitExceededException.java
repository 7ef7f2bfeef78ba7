package dev.loupe;

/** A configured limit (image bytes, pixels, image count, prompt tokens) was hit: the request never fits. */
public class LimitExceededException extends LoupeException {
  public LimitExceededException(String message) {
    super(ErrorKind.LIMIT_EXCEEDED, message);
  }
}
