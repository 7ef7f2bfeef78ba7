package dev.loupe;

/** Native memory (KV pool, device memory, an allocation) ran out. */
public class NativeOutOfMemoryException extends LoupeException {
  public NativeOutOfMemoryException(String message) {
    super(ErrorKind.OUT_OF_MEMORY, message);
  }
}
