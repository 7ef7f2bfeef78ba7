package dev.loupe.elasticsearch.stats;

import java.io.IOException;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.ToXContentObject;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * One model's counters on one node as {@code GET _loupe/stats} shows them. Request counters
 * add up: {@code submitted = captioned + embedded + reranked + failed + rejected + timed_out +
 * in_flight} (a rerank request scores many documents: {@code scored_documents}). Rates cover the
 * last minute; latencies are means since the node started.
 */
public record ModelStats(
    Model model,
    Requests requests,
    double imagesPerSecond,
    double tokensPerSecond,
    double embeddingsPerSecond,
    long generatedTokens,
    Queue queue,
    long promptTokens,
    long cachedTokens,
    long visionCacheHits,
    long visionCacheMisses,
    Latency latencyMs)
    implements Writeable, ToXContentObject {

  /**
   * The model: where it comes from, whether it is usable, and once loaded what it is
   * ({@code embedding}, {@code generative}, {@code generative, scoring}) and its hidden size.
   */
  public record Model(String path, String device, boolean loaded, String error, String kind, int embeddingSize)
      implements Writeable {
    static Model read(StreamInput in) throws IOException {
      return new Model(
          in.readString(), in.readString(), in.readBoolean(), in.readOptionalString(), in.readOptionalString(), in.readVInt());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeString(path);
      out.writeString(device);
      out.writeBoolean(loaded);
      out.writeOptionalString(error);
      out.writeOptionalString(kind);
      out.writeVInt(embeddingSize);
    }
  }

  public record Requests(
      long submitted,
      long captioned,
      long embedded,
      long reranked,
      long scoredDocuments,
      long failed,
      long rejected,
      long timedOut,
      long inFlight)
      implements Writeable {
    static Requests read(StreamInput in) throws IOException {
      return new Requests(
          in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(),
          in.readVLong(), in.readVLong());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeVLong(submitted);
      out.writeVLong(captioned);
      out.writeVLong(embedded);
      out.writeVLong(reranked);
      out.writeVLong(scoredDocuments);
      out.writeVLong(failed);
      out.writeVLong(rejected);
      out.writeVLong(timedOut);
      out.writeVLong(inFlight);
    }
  }

  /** Requests waiting for a batch slot (plugin queue + engine queue), and how many may. */
  public record Queue(long depth, long limit, long running, long maxRunning) implements Writeable {
    static Queue read(StreamInput in) throws IOException {
      return new Queue(in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeVLong(depth);
      out.writeVLong(limit);
      out.writeVLong(running);
      out.writeVLong(maxRunning);
    }
  }

  /**
   * Mean milliseconds per stage of a caption (image to total), and of an embedding and a rerank
   * request from arrival to result.
   */
  public record Latency(
      double image, double queue, double vision, double prefill, double decode, double total, double embed, double rerank)
      implements Writeable {
    static Latency read(StreamInput in) throws IOException {
      return new Latency(
          in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(),
          in.readDouble(), in.readDouble());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeDouble(image);
      out.writeDouble(queue);
      out.writeDouble(vision);
      out.writeDouble(prefill);
      out.writeDouble(decode);
      out.writeDouble(total);
      out.writeDouble(embed);
      out.writeDouble(rerank);
    }
  }

  public static ModelStats read(StreamInput in) throws IOException {
    return new ModelStats(
        Model.read(in),
        Requests.read(in),
        in.readDouble(),
        in.readDouble(),
        in.readDouble(),
        in.readVLong(),
        Queue.read(in),
        in.readVLong(),
        in.readVLong(),
        in.readVLong(),
        in.readVLong(),
        Latency.read(in));
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    model.writeTo(out);
    requests.writeTo(out);
    out.writeDouble(imagesPerSecond);
    out.writeDouble(tokensPerSecond);
    out.writeDouble(embeddingsPerSecond);
    out.writeVLong(generatedTokens);
    queue.writeTo(out);
    out.writeVLong(promptTokens);
    out.writeVLong(cachedTokens);
    out.writeVLong(visionCacheHits);
    out.writeVLong(visionCacheMisses);
    latencyMs.writeTo(out);
  }

  /** Share of prompt tokens served from the radix prefix cache (0 before any request). */
  public double prefixHitRate() {
    return promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens;
  }

  @Override
  public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
    builder.startObject();
    builder.startObject("model");
    builder.field("path", model.path());
    builder.field("device", model.device());
    builder.field("loaded", model.loaded());
    builder.field("error", model.error());
    builder.field("kind", model.kind());
    if (model.embeddingSize() > 0) builder.field("embedding_size", model.embeddingSize());
    builder.endObject();
    builder.startObject("requests");
    builder.field("submitted", requests.submitted());
    builder.field("captioned", requests.captioned());
    builder.field("embedded", requests.embedded());
    builder.field("reranked", requests.reranked());
    builder.field("scored_documents", requests.scoredDocuments());
    builder.field("failed", requests.failed());
    builder.field("rejected", requests.rejected());
    builder.field("timed_out", requests.timedOut());
    builder.field("in_flight", requests.inFlight());
    builder.endObject();
    builder.field("images_per_second", round(imagesPerSecond));
    builder.field("tokens_per_second", round(tokensPerSecond));
    builder.field("embeddings_per_second", round(embeddingsPerSecond));
    builder.field("generated_tokens", generatedTokens);
    builder.startObject("queue");
    builder.field("depth", queue.depth());
    builder.field("limit", queue.limit());
    builder.field("running", queue.running());
    builder.field("max_running", queue.maxRunning());
    builder.endObject();
    builder.startObject("prefix_cache");
    builder.field("prompt_tokens", promptTokens);
    builder.field("cached_tokens", cachedTokens);
    builder.field("hit_rate", round(prefixHitRate()));
    builder.endObject();
    builder.startObject("vision_cache");
    builder.field("hits", visionCacheHits);
    builder.field("misses", visionCacheMisses);
    builder.endObject();
    builder.startObject("latency_ms");
    builder.field("image", round(latencyMs.image()));
    builder.field("queue", round(latencyMs.queue()));
    builder.field("vision", round(latencyMs.vision()));
    builder.field("prefill", round(latencyMs.prefill()));
    builder.field("decode", round(latencyMs.decode()));
    builder.field("total", round(latencyMs.total()));
    builder.field("embed", round(latencyMs.embed()));
    builder.field("rerank", round(latencyMs.rerank()));
    builder.endObject();
    return builder.endObject();
  }

  private static double round(double value) {
    return Math.round(value * 1000.0) / 1000.0;
  }
}
