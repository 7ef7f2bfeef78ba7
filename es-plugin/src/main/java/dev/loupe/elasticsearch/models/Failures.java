package dev.loupe.elasticsearch.models;

import dev.loupe.LoupeException;
import org.elasticsearch.ElasticsearchTimeoutException;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.tasks.TaskCancelledException;

/**
 * Turns runtime failures into the exceptions Elasticsearch reports per document or search,
 * with the REST status a client can act on: 400 for a bad image or request (do not retry), 429
 * for back-pressure and for a passed deadline (Elasticsearch reports its timeout exception as
 * 429: retry later), 500 for the rest. Messages name the operation and the runtime's error kind.
 */
final class Failures {
  private Failures() {}

  enum Outcome { FAILED, REJECTED, TIMED_OUT }

  static Outcome outcome(Exception error) {
    if (error instanceof EsRejectedExecutionException) return Outcome.REJECTED;
    if (error instanceof ElasticsearchTimeoutException) return Outcome.TIMED_OUT;
    return Outcome.FAILED;
  }

  /**
   * @param operation the processor, query builder or retriever, e.g. {@code image_caption}
   * @param model and timeout: the settings the engine enforces, named in the messages of a full
   *     queue and a passed deadline
   */
  static Exception toElasticsearch(String operation, Throwable error, ModelConfig model, TimeValue timeout) {
    if (error instanceof Exception e && !(error instanceof LoupeException)) {
      return e;
    }
    if (!(error instanceof LoupeException loupe)) {
      return new IllegalStateException(operation + " failed: " + error, error);
    }
    String reason = "[" + loupe.kind().nativeName() + "] " + loupe.getMessage();
    return switch (loupe.kind()) {
      case BAD_IMAGE -> new IllegalArgumentException(operation + " cannot use the image: " + reason, loupe);
      case INVALID_ARGUMENT -> new IllegalArgumentException(operation + " cannot use the input: " + reason, loupe);
      case LIMIT_EXCEEDED -> new IllegalArgumentException(operation + " rejected the input: " + reason, loupe);
      case OVERLOADED -> queueFull(operation, model);
      case TIMEOUT -> timedOut(operation, "no result within loupe.timeout [" + timeout + "]");
      case CANCELLED -> new TaskCancelledException(operation + " was cancelled");
      case OUT_OF_MEMORY -> new EsRejectedExecutionException(operation + " rejected: native memory is exhausted: " + reason);
      default -> new IllegalStateException(operation + " failed: " + reason, loupe);
    };
  }

  static ElasticsearchTimeoutException timedOut(String operation, String detail) {
    // The message is a format pattern for ElasticsearchException: pass the text as an argument.
    return new ElasticsearchTimeoutException(operation + " timed out: {}", detail);
  }

  static EsRejectedExecutionException queueFull(String operation, ModelConfig model) {
    return new EsRejectedExecutionException(
        operation + " rejected: loupe queue is full (model [" + model.name() + "], queue.size = " + model.queueSize()
            + "); retry later or add capacity");
  }
}
