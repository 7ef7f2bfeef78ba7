package dev.loupe.elasticsearch.processor;

import dev.loupe.Caption;
import dev.loupe.elasticsearch.captioning.CaptionJob;
import dev.loupe.elasticsearch.captioning.CaptionService;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.AbstractProcessor;
import org.elasticsearch.ingest.IngestDocument;

/**
 * {@code image_caption}: captions the image in {@code field} (base64 string or binary) with
 * the node's model and writes the result under {@code target_field}. Asynchronous: the
 * ingest thread only reads the field and hands the document to the node's
 * {@link CaptionService}; decoding and inference run on Loupe's own threads.
 */
public final class ImageCaptionProcessor extends AbstractProcessor {
  public static final String TYPE = "image_caption";

  private final String field;
  private final String targetField;
  private final CaptionJob job;
  private final boolean ignoreMissing;
  private final boolean removeBinary;
  private final EnumSet<ResultProperty> properties;
  private final CaptionService service;
  private final ThreadContext threadContext;

  ImageCaptionProcessor(
      String tag,
      String description,
      String field,
      String targetField,
      CaptionJob job,
      boolean ignoreMissing,
      boolean removeBinary,
      EnumSet<ResultProperty> properties,
      CaptionService service,
      ThreadContext threadContext) {
    super(tag, description);
    this.field = field;
    this.targetField = targetField;
    this.job = job;
    this.ignoreMissing = ignoreMissing;
    this.removeBinary = removeBinary;
    this.properties = properties;
    this.service = service;
    this.threadContext = threadContext;
  }

  @Override
  public String getType() {
    return TYPE;
  }

  @Override
  public boolean isAsync() {
    return true;
  }

  @Override
  public IngestDocument execute(IngestDocument document) {
    throw new UnsupportedOperationException("image_caption is asynchronous: Elasticsearch calls execute(document, handler)");
  }

  @Override
  public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
    Supplier<byte[]> image;
    try {
      Object value = document.getFieldValue(field, Object.class, ignoreMissing);
      if (value == null && ignoreMissing) {
        handler.accept(document, null);
        return;
      }
      image = imageBytes(value);
    } catch (IllegalArgumentException e) {
      handler.accept(null, e);
      return;
    }
    // The caption completes on a Loupe thread: carry this request's thread context there.
    Supplier<ThreadContext.StoredContext> context = threadContext == null ? null : threadContext.newRestorableContext(false);
    service.submit(
        image,
        job,
        (caption, error) -> {
          try (ThreadContext.StoredContext ignored = context == null ? null : context.get()) {
            if (error != null) {
              handler.accept(null, error);
              return;
            }
            try {
              write(document, caption);
            } catch (RuntimeException e) {
              handler.accept(null, e);
              return;
            }
            handler.accept(document, null);
          }
        });
  }

  private Supplier<byte[]> imageBytes(Object value) {
    if (value == null) {
      throw new IllegalArgumentException("field [" + field + "] is null, cannot caption it");
    }
    if (value instanceof byte[] bytes) {
      if (bytes.length == 0) throw new IllegalArgumentException("field [" + field + "] is empty, cannot caption it");
      return () -> bytes;
    }
    if (value instanceof String text) {
      if (text.isEmpty()) throw new IllegalArgumentException("field [" + field + "] is empty, cannot caption it");
      return () -> decodeBase64(text);  // on Loupe's pool: images can be megabytes
    }
    throw new IllegalArgumentException(
        "field [" + field + "] must be a base64 string or binary to caption it, found [" + value.getClass().getSimpleName() + "]");
  }

  private byte[] decodeBase64(String text) {
    try {
      return Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException strict) {
      try {
        return Base64.getDecoder().decode(text.replaceAll("\\s+", ""));  // MIME-style line breaks
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("field [" + field + "] is not valid base64: " + e.getMessage(), e);
      }
    }
  }

  private void write(IngestDocument document, Caption caption) {
    Map<String, Object> result = new LinkedHashMap<>();
    for (ResultProperty property : properties) {
      switch (property) {
        case TEXT -> result.put("text", caption.text());
        case TOKENS -> result.put("tokens", caption.tokenIds());
        case TIMINGS -> result.put("timings", timings(caption.timings()));
        case MODEL -> result.put("model", modelName());
        case CACHED_TOKENS -> result.put("cached_tokens", caption.cachedTokens());
        case PROMPT_TOKENS -> result.put("prompt_tokens", caption.promptTokens());
        case FINISH_REASON -> result.put("finish_reason", caption.finishReason());
      }
    }
    document.setFieldValue(targetField, result);
    if (removeBinary) {
      document.removeField(field);
    }
  }

  private String modelName() {
    return service.modelDir() == null || service.modelDir().getFileName() == null
        ? null
        : service.modelDir().getFileName().toString();
  }

  private static Map<String, Object> timings(Caption.Timings t) {
    Map<String, Object> ms = new LinkedHashMap<>();
    ms.put("image_ms", t.image() + t.tokenize());
    ms.put("queue_ms", t.queue());
    ms.put("vision_ms", t.vision());
    ms.put("prefill_ms", t.prefill());
    ms.put("decode_ms", t.decode());
    ms.put("total_ms", t.total());
    return ms;
  }

  String field() {
    return field;
  }

  String targetField() {
    return targetField;
  }

  CaptionJob job() {
    return job;
  }

  boolean ignoreMissing() {
    return ignoreMissing;
  }

  boolean removeBinary() {
    return removeBinary;
  }

  EnumSet<ResultProperty> properties() {
    return properties;
  }
}
