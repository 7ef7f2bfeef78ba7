package dev.loupe;

/** The request passed its deadline. */
public class RequestTimeoutException extends LoupeException {
  public RequestTimeoutException(String message) {
    super(ErrorKind.TIMEOUT, message);
  }
}
