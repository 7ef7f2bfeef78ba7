package dev.loupe.elasticsearch.stats;

import java.io.IOException;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * One node's captioning counters as {@code GET _loupe/stats} shows them. Document counters
 * add up: {@code submitted = captioned + failed + rejected + timed_out + in_flight}.
 * Rates cover the last minute; latencies are means over the documents captioned since the
 * node started.
 */
public record NodeCaptionStats(
    Model model,
    Documents documents,
    double imagesPerSecond,
    double tokensPerSecond,
    long generatedTokens,
    Queue queue,
    long promptTokens,
    long cachedTokens,
    long visionCacheHits,
    long visionCacheMisses,
    Latency latencyMs)
    implements Writeable, ToXContentFragment {

  /** The node's model: where it comes from and whether it is usable. */
  public record Model(String path, String device, boolean loaded, String error) implements Writeable {
    static Model read(StreamInput in) throws IOException {
      return new Model(in.readOptionalString(), in.readString(), in.readBoolean(), in.readOptionalString());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeOptionalString(path);
      out.writeString(device);
      out.writeBoolean(loaded);
      out.writeOptionalString(error);
    }
  }

  public record Documents(long submitted, long captioned, long failed, long rejected, long timedOut, long inFlight)
      implements Writeable {
    static Documents read(StreamInput in) throws IOException {
      return new Documents(in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeVLong(submitted);
      out.writeVLong(captioned);
      out.writeVLong(failed);
      out.writeVLong(rejected);
      out.writeVLong(timedOut);
      out.writeVLong(inFlight);
    }
  }

  /** Documents waiting for a batch slot (plugin queue + engine queue), and how many may. */
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

  /** Mean milliseconds per stage of a captioned document. */
  public record Latency(double image, double queue, double vision, double prefill, double decode, double total)
      implements Writeable {
    static Latency read(StreamInput in) throws IOException {
      return new Latency(in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble(), in.readDouble());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      out.writeDouble(image);
      out.writeDouble(queue);
      out.writeDouble(vision);
      out.writeDouble(prefill);
      out.writeDouble(decode);
      out.writeDouble(total);
    }
  }

  public static NodeCaptionStats read(StreamInput in) throws IOException {
    return new NodeCaptionStats(
        Model.read(in),
        Documents.read(in),
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
    documents.writeTo(out);
    out.writeDouble(imagesPerSecond);
    out.writeDouble(tokensPerSecond);
    out.writeVLong(generatedTokens);
    queue.writeTo(out);
    out.writeVLong(promptTokens);
    out.writeVLong(cachedTokens);
    out.writeVLong(visionCacheHits);
    out.writeVLong(visionCacheMisses);
    latencyMs.writeTo(out);
  }

  /** Share of prompt tokens served from the radix prefix cache (0 before any document). */
  public double prefixHitRate() {
    return promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens;
  }

  @Override
  public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
    builder.startObject("model");
    builder.field("path", model.path());
    builder.field("device", model.device());
    builder.field("loaded", model.loaded());
    builder.field("error", model.error());
    builder.endObject();
    builder.startObject("documents");
    builder.field("submitted", documents.submitted());
    builder.field("captioned", documents.captioned());
    builder.field("failed", documents.failed());
    builder.field("rejected", documents.rejected());
    builder.field("timed_out", documents.timedOut());
    builder.field("in_flight", documents.inFlight());
    builder.endObject();
    builder.field("images_per_second", round(imagesPerSecond));
    builder.field("tokens_per_second", round(tokensPerSecond));
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
    builder.endObject();
    return builder;
  }

  private static double round(double value) {
    return Math.round(value * 1000.0) / 1000.0;
  }
}
