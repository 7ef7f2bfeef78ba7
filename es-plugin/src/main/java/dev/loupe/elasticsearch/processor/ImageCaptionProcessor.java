package dev.loupe.elasticsearch.processor;

import dev.loupe.Caption;
import dev.loupe.CaptionRequest;
import dev.loupe.ImageInput;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeFuture;
import dev.loupe.OutputConstraint;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.ModelTask;
import dev.loupe.elasticsearch.models.NodeModels;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.common.xcontent.XContentHelper;
import org.elasticsearch.ingest.IngestDocument;
import org.elasticsearch.xcontent.json.JsonXContent;

/**
 * {@code image_caption}: captions the image in {@code field} (base64 string or binary) with
 * one of the node's models and writes the result under {@code target_field} (the parsed answer
 * when the processor has a {@code json_schema} or the {@code tags} preset). Asynchronous: the
 * ingest thread only reads the field and hands the document to the model's
 * {@link ModelService}; decoding and inference run on Loupe's own threads.
 */
public final class ImageCaptionProcessor extends ModelProcessor {
  public static final String TYPE = "image_caption";

  private final String field;
  private final String targetField;
  private final CaptionJob job;
  private final boolean ignoreMissing;
  private final boolean removeBinary;
  private final EnumSet<ResultProperty> properties;

  ImageCaptionProcessor(
      String tag,
      String description,
      String field,
      String targetField,
      String model,
      CaptionJob job,
      boolean ignoreMissing,
      boolean removeBinary,
      EnumSet<ResultProperty> properties,
      NodeModels models,
      ThreadContext threadContext) {
    super(tag, description, model, models, threadContext);
    this.field = field;
    this.targetField = targetField;
    this.job = job;
    this.ignoreMissing = ignoreMissing;
    this.removeBinary = removeBinary;
    this.properties = properties;
  }

  @Override
  public String getType() {
    return TYPE;
  }

  @Override
  public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
    Supplier<byte[]> image;
    try {
      image = ImageField.read(document, field, ignoreMissing, "caption");
    } catch (IllegalArgumentException e) {
      refuse(handler, e);
      return;
    }
    if (image == null) {
      handler.accept(document, null);
      return;
    }
    run(document, handler, new Task(image), caption -> write(document, caption));
  }

  /** One image to caption with this processor's prompt and sampling. */
  private final class Task implements ModelTask<Caption> {
    private final Supplier<byte[]> image;

    Task(Supplier<byte[]> image) {
      this.image = image;
    }

    @Override
    public String operation() {
      return TYPE;
    }

    @Override
    public LoupeFuture<Caption> start(LoupeEngine engine, Duration deadline) {
      CaptionRequest request =
          new CaptionRequest(
              List.of(ImageInput.ofBytes(image.get())), job.prompt(), job.sampling(), job.minPixels(), job.maxPixels(), deadline,
              null);
      return engine.submit(request);
    }
  }

  private void write(IngestDocument document, Caption caption) {
    if (job.prompt().constraint() != null) {
      document.setFieldValue(targetField, structured(caption));
      if (removeBinary) document.removeField(field);
      return;
    }
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

  /**
   * The answer of a constrained caption as a value for the document: a JSON schema's answer
   * parsed (objects as maps, so typed fields index it), a regex's or grammar's as its text. The
   * engine guarantees the shape unless the answer was cut short by max_new_tokens.
   */
  private Object structured(Caption caption) {
    if (!caption.finishReason().equals("stop_token")) {
      throw new IllegalArgumentException(
          TYPE + " stopped before the answer was complete (finish_reason [" + caption.finishReason() + "], max_new_tokens ["
              + job.sampling().maxNewTokens() + "]): raise max_new_tokens");
    }
    if (job.prompt().constraint().kind() != OutputConstraint.Kind.JSON_SCHEMA) {
      return caption.text();
    }
    // Wrapped, so a schema whose answer is an array or a scalar parses the same way.
    return XContentHelper.convertToMap(JsonXContent.jsonXContent, "{\"answer\": " + caption.text() + "}", true).get("answer");
  }

  private String modelName() {
    ModelService service = models().get(model());
    return service == null || service.config().path().getFileName() == null
        ? null
        : service.config().path().getFileName().toString();
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
