package dev.loupe;

/** The image bytes could not be decoded (corrupt, truncated or unsupported format). */
public class BadImageException extends LoupeException {
  public BadImageException(String message) {
    super(ErrorKind.BAD_IMAGE, message);
  }
}
