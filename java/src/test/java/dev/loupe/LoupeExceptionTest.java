package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class LoupeExceptionTest {
  @Test
  void parsesTheNativeKindPrefix() {
    RuntimeException raw = new RuntimeException("[limit_exceeded] image has 90000000 pixels");
    LoupeException error = LoupeException.fromNative(raw);
    assertEquals(ErrorKind.LIMIT_EXCEEDED, error.kind());
    assertEquals("image has 90000000 pixels", error.getMessage());
    assertSame(raw, error.getCause());
  }

  @Test
  void unprefixedMessagesAreInternal() {
    LoupeException error = LoupeException.fromNative(new RuntimeException("Unknown exception."));
    assertEquals(ErrorKind.INTERNAL, error.kind());
    assertEquals("Unknown exception.", error.getMessage());
  }

  @Test
  void unknownKindNamesAreInternal() {
    assertEquals(ErrorKind.INTERNAL, ErrorKind.fromNativeName("something_new"));
    assertEquals("no_device", ErrorKind.NO_DEVICE.nativeName());
  }
}
