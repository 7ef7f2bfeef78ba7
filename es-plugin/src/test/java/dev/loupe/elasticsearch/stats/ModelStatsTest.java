package dev.loupe.elasticsearch.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.jupiter.api.Test;

/** The wire format between nodes and the JSON shape of GET _loupe/stats. */
class NodeCaptionStatsTest {
  static NodeCaptionStats sample(String error) {
    return new NodeCaptionStats(
        new NodeCaptionStats.Model("/etc/es/models/qwen", "cuda:0", error == null, error),
        new NodeCaptionStats.Documents(100, 90, 4, 3, 2, 1),
        1.5,
        42.25,
        4000,
        new NodeCaptionStats.Queue(7, 256, 16, 16),
        5000,
        2500,
        11,
        89,
        new NodeCaptionStats.Latency(1.5, 20, 300, 40, 500, 900.1234));
  }

  @Test
  void roundTripsOverTheWire() throws Exception {
    for (NodeCaptionStats stats : new NodeCaptionStats[] {sample(null), sample("[model_load] no config.json")}) {
      BytesStreamOutput out = new BytesStreamOutput();
      stats.writeTo(out);
      try (StreamInput in = out.bytes().streamInput()) {
        assertEquals(stats, NodeCaptionStats.read(in));
      }
    }
    NodeCaptionStats noPath =
        new NodeCaptionStats(new NodeCaptionStats.Model(null, "cpu", false, null), sample(null).documents(), 0, 0, 0,
            sample(null).queue(), 0, 0, 0, 0, sample(null).latencyMs());
    BytesStreamOutput out = new BytesStreamOutput();
    noPath.writeTo(out);
    assertEquals(noPath, NodeCaptionStats.read(out.bytes().streamInput()));
  }

  @Test
  void jsonShape() throws Exception {
    XContentBuilder builder = JsonXContent.contentBuilder().startObject();
    sample(null).toXContent(builder, ToXContent.EMPTY_PARAMS);
    builder.endObject();
    JsonNode json = new ObjectMapper().readTree(Strings.toString(builder));
    assertEquals("/etc/es/models/qwen", json.at("/model/path").asText());
    assertEquals("cuda:0", json.at("/model/device").asText());
    assertEquals(true, json.at("/model/loaded").asBoolean());
    assertEquals(true, json.at("/model/error").isNull());
    assertEquals(100, json.at("/documents/submitted").asLong());
    assertEquals(90, json.at("/documents/captioned").asLong());
    assertEquals(4, json.at("/documents/failed").asLong());
    assertEquals(3, json.at("/documents/rejected").asLong());
    assertEquals(2, json.at("/documents/timed_out").asLong());
    assertEquals(1, json.at("/documents/in_flight").asLong());
    assertEquals(1.5, json.at("/images_per_second").asDouble());
    assertEquals(42.25, json.at("/tokens_per_second").asDouble());
    assertEquals(7, json.at("/queue/depth").asLong());
    assertEquals(256, json.at("/queue/limit").asLong());
    assertEquals(5000, json.at("/prefix_cache/prompt_tokens").asLong());
    assertEquals(2500, json.at("/prefix_cache/cached_tokens").asLong());
    assertEquals(0.5, json.at("/prefix_cache/hit_rate").asDouble());
    assertEquals(11, json.at("/vision_cache/hits").asLong());
    assertEquals(89, json.at("/vision_cache/misses").asLong());
    assertEquals(900.123, json.at("/latency_ms/total").asDouble(), "milliseconds to three decimals");
    for (String stage : new String[] {"image", "queue", "vision", "prefill", "decode"}) {
      assertEquals(true, json.at("/latency_ms/" + stage).isNumber(), stage);
    }
  }
}
