package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every native error kind becomes its own exception type, keeping kind and message. */
class TypedExceptionsTest {
  @Test
  void nativeMessagesMapToTypedExceptions() {
    Map<String, Class<? extends LoupeException>> expected =
        Map.of(
            "bad_image", BadImageException.class,
            "limit_exceeded", LimitExceededException.class,
            "overloaded", OverloadedException.class,
            "model_load", ModelLoadException.class,
            "out_of_memory", NativeOutOfMemoryException.class,
            "cancelled", CancelledException.class,
            "timeout", RequestTimeoutException.class,
            "no_device", NoDeviceException.class,
            "invalid_argument", InvalidRequestException.class,
            "internal", LoupeException.class);
    expected.forEach(
        (name, type) -> {
          LoupeException e = LoupeException.fromNative(new RuntimeException("[" + name + "] what happened"));
          assertSame(type, e.getClass(), name);
          assertEquals(name, e.kind().nativeName());
          assertEquals("what happened", e.getMessage());
        });
  }
}
