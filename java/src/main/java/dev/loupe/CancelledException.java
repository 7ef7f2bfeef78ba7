package dev.loupe;

/** The request was cancelled, or the engine closed while it was in flight. */
public class CancelledException extends LoupeException {
  public CancelledException(String message) {
    super(ErrorKind.CANCELLED, message);
  }
}
