package dev.loupe.elasticsearch.processor;

import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeFuture;
import dev.loupe.RetrievalInput;
import dev.loupe.elasticsearch.models.ModelTask;
import dev.loupe.elasticsearch.models.NodeModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.IngestDocument;

/**
 * {@code image_embedding}: embeds the image in {@code field} and/or the text in
 * {@code text_field} (one vector of both when both are given) with one of the node's embedding
 * models, and writes the unit-length vector to {@code target_field}, ready for a
 * {@code dense_vector} field with {@code dot_product} similarity. Asynchronous like
 * {@code image_caption}, sharing its queue, deadline and failure statuses.
 */
public final class ImageEmbeddingProcessor extends ModelProcessor {
  public static final String TYPE = "image_embedding";

  private final String field;
  private final String textField;
  private final String targetField;
  private final EmbeddingJob job;
  private final boolean ignoreMissing;
  private final boolean removeBinary;

  ImageEmbeddingProcessor(
      String tag,
      String description,
      String field,
      String textField,
      String targetField,
      String model,
      EmbeddingJob job,
      boolean ignoreMissing,
      boolean removeBinary,
      NodeModels models,
      ThreadContext threadContext) {
    super(tag, description, model, models, threadContext);
    this.field = field;
    this.textField = textField;
    this.targetField = targetField;
    this.job = job;
    this.ignoreMissing = ignoreMissing;
    this.removeBinary = removeBinary;
  }

  @Override
  public String getType() {
    return TYPE;
  }

  @Override
  public void execute(IngestDocument document, BiConsumer<IngestDocument, Exception> handler) {
    Supplier<byte[]> image = null;
    String text = null;
    try {
      if (field != null) image = ImageField.read(document, field, ignoreMissing, "embed");
      if (textField != null) text = text(document);
    } catch (IllegalArgumentException e) {
      refuse(handler, e);
      return;
    }
    if (image == null && text == null) {  // every input is missing, and that is allowed
      handler.accept(document, null);
      return;
    }
    run(document, handler, new Task(image, text), vector -> write(document, vector));
  }

  private String text(IngestDocument document) {
    Object value = document.getFieldValue(textField, Object.class, ignoreMissing);
    if (value == null && ignoreMissing) return null;
    if (!(value instanceof String text)) {
      throw new IllegalArgumentException(
          "field [" + textField + "] must be a string to embed it, found [" + (value == null ? "null" : value.getClass().getSimpleName())
              + "]");
    }
    return text;
  }

  private void write(IngestDocument document, float[] vector) {
    List<Float> values = new ArrayList<>(vector.length);
    for (float v : vector) values.add(v);
    document.setFieldValue(targetField, values);
    if (removeBinary && field != null && document.hasField(field)) {
      document.removeField(field);
    }
  }

  /** One document's image and/or text to embed. */
  private final class Task implements ModelTask<float[]> {
    private final Supplier<byte[]> image;
    private final String text;

    Task(Supplier<byte[]> image, String text) {
      this.image = image;
      this.text = text;
    }

    @Override
    public String operation() {
      return TYPE;
    }

    @Override
    public LoupeFuture<float[]> start(LoupeEngine engine, Duration deadline) {
      List<ImageInput> images = image == null ? List.of() : List.of(ImageInput.ofBytes(image.get()));
      return engine.embed(
          new EmbedRequest(new RetrievalInput(images, text), job.instruction(), job.dimensions(), job.maxPixels(), deadline));
    }
  }

  String field() {
    return field;
  }

  String textField() {
    return textField;
  }

  String targetField() {
    return targetField;
  }

  EmbeddingJob job() {
    return job;
  }
}
