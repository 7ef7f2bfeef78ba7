package dev.loupe.elasticsearch.processor;

import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.ModelTask;
import dev.loupe.elasticsearch.models.NodeModels;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.AbstractProcessor;
import org.elasticsearch.ingest.IngestDocument;

/**
 * An asynchronous processor that runs one task per document on one of the node's models: the
 * ingest thread only reads fields and hands the task over; the model's service runs it on
 * Loupe's threads and the result comes back to the document here.
 */
abstract class ModelProcessor extends AbstractProcessor {
  private final String model;
  private final NodeModels models;
  private final ThreadContext threadContext;

  ModelProcessor(String tag, String description, String model, NodeModels models, ThreadContext threadContext) {
    super(tag, description);
    this.model = model;
    this.models = models;
    this.threadContext = threadContext;
  }

  @Override
  public final boolean isAsync() {
    return true;
  }

  @Override
  public final IngestDocument execute(IngestDocument document) {
    throw new UnsupportedOperationException(getType() + " is asynchronous: Elasticsearch calls execute(document, handler)");
  }

  /**
   * Runs {@code task} and completes {@code handler} exactly once: {@code write} puts the result
   * into the document, then the document continues; a failure (of the model or of
   * {@code write}) fails it. The result arrives on a Loupe thread: the request's thread context
   * is carried there.
   */
  final <T> void run(IngestDocument document, BiConsumer<IngestDocument, Exception> handler, ModelTask<T> task, Consumer<T> write) {
    Supplier<ThreadContext.StoredContext> context = threadContext == null ? null : threadContext.newRestorableContext(false);
    models.submit(
        model,
        task,
        (result, error) -> {
          try (ThreadContext.StoredContext ignored = context == null ? null : context.get()) {
            if (error != null) {
              handler.accept(null, error);
              return;
            }
            try {
              write.accept(result);
            } catch (RuntimeException e) {
              handler.accept(null, e);
              return;
            }
            handler.accept(document, null);
          }
        });
  }

  /** Fails a document refused for its input before any model work, and counts it in the model's stats. */
  final void refuse(BiConsumer<IngestDocument, Exception> handler, IllegalArgumentException error) {
    ModelService service = models.get(model);
    if (service != null) service.countRefused();
    handler.accept(null, error);
  }

  final NodeModels models() {
    return models;
  }

  final String model() {
    return model;
  }
}
