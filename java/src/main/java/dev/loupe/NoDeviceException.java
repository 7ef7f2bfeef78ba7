package dev.loupe;

/** The requested device (e.g. cuda) is not available. */
public class NoDeviceException extends LoupeException {
  public NoDeviceException(String message) {
    super(ErrorKind.NO_DEVICE, message);
  }
}
