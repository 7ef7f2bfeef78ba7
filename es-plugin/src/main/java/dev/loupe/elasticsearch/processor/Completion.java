package dev.loupe.elasticsearch.processor;

import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.ingest.IngestDocument;

/** How an asynchronous processor hands a model's result back to Elasticsearch. */
final class Completion {
  private Completion() {}

  /**
   * Completes {@code handler} exactly once: {@code write} puts the result into the document,
   * then the document continues; a failure (of the model or of {@code write}) fails it. The
   * result arrives on a Loupe thread: the request's thread context is carried there.
   */
  static <T> BiConsumer<T, Exception> inContext(
      ThreadContext threadContext, BiConsumer<IngestDocument, Exception> handler, IngestDocument document, Consumer<T> write) {
    Supplier<ThreadContext.StoredContext> context = threadContext == null ? null : threadContext.newRestorableContext(false);
    return (result, error) -> {
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
    };
  }
}
