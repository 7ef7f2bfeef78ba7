package dev.loupe;

/** The model directory is missing, incomplete or inconsistent. */
public class ModelLoadException extends LoupeException {
  public ModelLoadException(String message) {
    super(ErrorKind.MODEL_LOAD, message);
  }
}
