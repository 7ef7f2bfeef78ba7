package dev.loupe.elasticsearch.captioning;

import dev.loupe.LoupeException;
import org.elasticsearch.ElasticsearchTimeoutException;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;

/**
 * Turns runtime failures into the exceptions Elasticsearch reports per document, with the
 * REST status a client can act on: 400 for a bad image (do not retry), 429 for back-pressure
 * and for a passed deadline (Elasticsearch reports its timeout exception as 429: retry
 * later), 500 for the rest. Messages name the runtime's error kind.
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
   * @param queueLimit and timeout: the node settings the engine enforces, named in the
   *     messages of a full queue and a passed deadline
   */
  static Exception toElasticsearch(Throwable error, int queueLimit, TimeValue timeout) {
    if (error instanceof Exception e && !(error instanceof LoupeException)) {
      return e;
    }
    if (!(error instanceof LoupeException loupe)) {
      return new IllegalStateException("image_caption failed: " + error, error);
    }
    String reason = "[" + loupe.kind().nativeName() + "] " + loupe.getMessage();
    return switch (loupe.kind()) {
      case BAD_IMAGE, INVALID_ARGUMENT -> new IllegalArgumentException("image_caption cannot use the image: " + reason, loupe);
      case LIMIT_EXCEEDED -> new IllegalArgumentException("image_caption rejected the image: " + reason, loupe);
      case OVERLOADED -> queueFull(queueLimit);
      case TIMEOUT -> timedOut("no caption within loupe.timeout [" + timeout + "]");
      case OUT_OF_MEMORY -> new EsRejectedExecutionException("image_caption rejected: native memory is exhausted: " + reason);
      default -> new IllegalStateException("image_caption failed: " + reason, loupe);
    };
  }

  static ElasticsearchTimeoutException timedOut(String detail) {
    // The message is a format pattern for ElasticsearchException: pass the text as an argument.
    return new ElasticsearchTimeoutException("image_caption timed out: {}", detail);
  }

  static EsRejectedExecutionException queueFull(int limit) {
    return new EsRejectedExecutionException(
        "image_caption rejected: loupe queue is full (loupe.queue.size = " + limit + "); retry later or add capacity");
  }
}
