package dev.loupe.elasticsearch.processor;

import java.util.Base64;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Supplier;
import org.elasticsearch.ingest.IngestDocument;

/**
 * Reads an image field: a base64 string or binary (CBOR/Smile). Base64 is decoded on Loupe's
 * pool, not the ingest thread (images can be megabytes), and once per field value: a pipeline
 * that captions and embeds the same image decodes its base64 once. The decoded bytes are held
 * only as long as the document's field value itself (weak keys).
 */
final class ImageField {
  private ImageField() {}

  private static final Map<String, byte[]> DECODED = Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * The field's bytes, or null when it is missing and {@code ignoreMissing}.
   *
   * @param use what the processor does with it, for messages ("caption", "embed")
   * @throws IllegalArgumentException for a missing (unless ignored), null, empty or non-binary value
   */
  static Supplier<byte[]> read(IngestDocument document, String field, boolean ignoreMissing, String use) {
    Object value = document.getFieldValue(field, Object.class, ignoreMissing);
    if (value == null && ignoreMissing) {
      return null;
    }
    if (value == null) {
      throw new IllegalArgumentException("field [" + field + "] is null, cannot " + use + " it");
    }
    if (value instanceof byte[] bytes) {
      if (bytes.length == 0) throw new IllegalArgumentException("field [" + field + "] is empty, cannot " + use + " it");
      return () -> bytes;
    }
    if (value instanceof String text) {
      if (text.isEmpty()) throw new IllegalArgumentException("field [" + field + "] is empty, cannot " + use + " it");
      return () -> decodeBase64(field, text);
    }
    throw new IllegalArgumentException(
        "field [" + field + "] must be a base64 string or binary to " + use + " it, found [" + value.getClass().getSimpleName()
            + "]");
  }

  static byte[] decodeBase64(String field, String text) {
    byte[] cached = DECODED.get(text);
    if (cached != null) return cached;
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException strict) {
      try {
        bytes = Base64.getDecoder().decode(text.replaceAll("\\s+", ""));  // MIME-style line breaks
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("field [" + field + "] is not valid base64: " + e.getMessage(), e);
      }
    }
    DECODED.put(text, bytes);
    return bytes;
  }
}
