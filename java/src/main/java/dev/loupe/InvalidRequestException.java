package dev.loupe;

/** A request or option value is invalid. */
public class InvalidRequestException extends LoupeException {
  public InvalidRequestException(String message) {
    super(ErrorKind.INVALID_ARGUMENT, message);
  }
}
