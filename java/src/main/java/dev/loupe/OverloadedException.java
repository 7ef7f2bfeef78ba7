package dev.loupe;

/** The engine's request queue is full: the same request may succeed later (back off and retry). */
public class OverloadedException extends LoupeException {
  public OverloadedException(String message) {
    super(ErrorKind.OVERLOADED, message);
  }
}
