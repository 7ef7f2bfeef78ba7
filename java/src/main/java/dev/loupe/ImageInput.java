package dev.loupe;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/** One encoded image (JPEG, PNG, WebP, GIF or BMP); decoding happens natively, under limits. */
public final class ImageInput {
  private final byte[] bytes;
  private final String source;

  private ImageInput(byte[] bytes, String source) {
    this.bytes = bytes;
    this.source = source;
  }

  /** The bytes are used as given (not copied): do not modify them while a request runs. */
  public static ImageInput ofBytes(byte[] encoded) {
    if (encoded == null) throw new IllegalArgumentException("image bytes are null");
    return new ImageInput(encoded, "bytes");
  }

  public static ImageInput ofBase64(String base64) {
    try {
      // Strict alphabet; line breaks (MIME style) are tolerated.
      return new ImageInput(Base64.getDecoder().decode(base64.replaceAll("\\s+", "")), "base64");
    } catch (IllegalArgumentException e) {
      throw new BadImageException("image is not valid base64: " + e.getMessage());
    }
  }

  public static ImageInput ofFile(Path file) {
    try {
      return new ImageInput(Files.readAllBytes(file), file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read image " + file, e);
    }
  }

  public byte[] bytes() {
    return bytes;
  }

  /** Where the bytes came from (a path, "bytes", "base64"), for messages. */
  public String source() {
    return source;
  }
}
