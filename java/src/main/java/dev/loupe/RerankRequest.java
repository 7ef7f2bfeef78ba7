package dev.loupe;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A Qwen3-VL-Reranker request: documents to score against one query, an instruction (null:
 * the reranker's default), the resize budget per image (as {@link EmbedRequest#maxPixels()})
 * and a deadline for every pair (null: none).
 */
public record RerankRequest(
    RetrievalInput query, List<RetrievalInput> documents, String instruction, long maxPixels, Duration timeout) {
  public RerankRequest {
    Objects.requireNonNull(query, "query");
    documents = List.copyOf(Objects.requireNonNull(documents, "documents"));
    if (maxPixels < 0) throw new InvalidRequestException("maxPixels must be >= 0, got " + maxPixels);
  }

  public static RerankRequest of(RetrievalInput query, List<RetrievalInput> documents) {
    return new RerankRequest(query, documents, null, 0, null);
  }

  public RerankRequest withInstruction(String text) {
    return new RerankRequest(query, documents, text, maxPixels, timeout);
  }

  public RerankRequest withMaxPixels(long pixels) {
    return new RerankRequest(query, documents, instruction, pixels, timeout);
  }

  public RerankRequest withTimeout(Duration deadline) {
    return new RerankRequest(query, documents, instruction, maxPixels, deadline);
  }
}
