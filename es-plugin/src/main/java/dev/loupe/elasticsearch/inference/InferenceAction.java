package dev.loupe.elasticsearch.inference;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionRequestValidationException;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.tasks.CancellableTask;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.tasks.TaskId;

/**
 * Search-time inference on a node that serves the model: a query embedding (for
 * {@code loupe_text_embedding}) or reranker scores (for {@code loupe_rerank}). The coordinating
 * node runs it itself when it serves the model, otherwise forwards it to one that does (node
 * attribute {@value #NODE_ATTRIBUTE}).
 */
public final class InferenceAction {
  private InferenceAction() {}

  public static final String NAME = "cluster:internal/loupe/inference";
  public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

  /** The node attribute listing the models a node serves, comma separated (set by the plugin). */
  public static final String NODE_ATTRIBUTE = "loupe_models";

  public enum Kind { EMBED, RERANK }

  /**
   * @param query the text and/or image to embed, or the reranking query
   * @param documents what to score against the query (RERANK only)
   * @param dimensions leading embedding dimensions to keep, 0: all (EMBED only)
   * @param maxPixels resize budget per image, 0: the model's default
   * @param forwarded true once the coordinating node chose the node that runs it
   */
  public record Params(
      Kind kind,
      String model,
      RetrievalItem query,
      List<RetrievalItem> documents,
      String instruction,
      int dimensions,
      long maxPixels,
      boolean forwarded) {
    public Params {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(query, "query");
      documents = List.copyOf(documents);
    }

    Params forward() {
      return new Params(kind, model, query, documents, instruction, dimensions, maxPixels, true);
    }
  }

  public static final class Request extends ActionRequest {
    private final Params params;

    public Request(Params params) {
      this.params = params;
    }

    public Request(StreamInput in) throws IOException {
      super(in);
      this.params =
          new Params(
              in.readEnum(Kind.class), in.readString(), RetrievalItem.read(in), in.readCollectionAsList(RetrievalItem::read),
              in.readOptionalString(), in.readVInt(), in.readVLong(), in.readBoolean());
    }

    public Params params() {
      return params;
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      super.writeTo(out);
      out.writeEnum(params.kind());
      out.writeString(params.model());
      params.query().writeTo(out);
      out.writeCollection(params.documents());
      out.writeOptionalString(params.instruction());
      out.writeVInt(params.dimensions());
      out.writeVLong(params.maxPixels());
      out.writeBoolean(params.forwarded());
    }

    @Override
    public ActionRequestValidationException validate() {
      return null;  // the factories and parsers that build it check its values
    }

    /** Cancellable, so a cancelled search stops the model's work. */
    @Override
    public Task createTask(long id, String type, String action, TaskId parentTaskId, Map<String, String> headers) {
      return new CancellableTask(id, type, action, "loupe " + params.kind().name().toLowerCase() + " [" + params.model() + "]",
          parentTaskId, headers);
    }
  }

  /** The embedding (EMBED) or one score per document, in document order (RERANK). */
  public static final class Response extends ActionResponse {
    private final float[] values;

    public Response(float[] values) {
      this.values = values;
    }

    public Response(StreamInput in) throws IOException {
      this.values = in.readFloatArray();
    }

    public float[] values() {
      return values;
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeFloatArray(values);
    }
  }
}
