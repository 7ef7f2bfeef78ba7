package dev.loupe.elasticsearch.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.xcontent.ToXContent;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.jupiter.api.Test;

/** The wire format between nodes and the JSON shape of one model in GET _loupe/stats. */
class ModelStatsTest {
  static ModelStats sample(String error, String kind) {
    return new ModelStats(
        new ModelStats.Model("/etc/es/models/qwen", "cuda:0", error == null, error, kind, kind == null ? 0 : 2048),
        new ModelStats.Requests(120, 90, 15, 5, 50, 4, 3, 2, 1),
        1.5,
        42.25,
        3.75,
        4000,
        new ModelStats.Queue(7, 256, 16, 16),
        5000,
        2500,
        11,
        89,
        new ModelStats.Latency(1.5, 20, 300, 40, 500, 900.1234, 35.5, 120.25));
  }

  @Test
  void roundTripsOverTheWire() throws Exception {
    for (ModelStats stats : new ModelStats[] {sample(null, "embedding"), sample("[model_load] no config.json", null)}) {
      BytesStreamOutput out = new BytesStreamOutput();
      stats.writeTo(out);
      try (StreamInput in = out.bytes().streamInput()) {
        assertEquals(stats, ModelStats.read(in));
      }
    }
  }

  @Test
  void jsonShape() throws Exception {
    XContentBuilder builder = JsonXContent.contentBuilder();
    sample(null, "embedding").toXContent(builder, ToXContent.EMPTY_PARAMS);
    JsonNode json = new ObjectMapper().readTree(Strings.toString(builder));
    assertEquals("/etc/es/models/qwen", json.at("/model/path").asText());
    assertEquals("cuda:0", json.at("/model/device").asText());
    assertEquals(true, json.at("/model/loaded").asBoolean());
    assertEquals(true, json.at("/model/error").isNull());
    assertEquals("embedding", json.at("/model/kind").asText());
    assertEquals(2048, json.at("/model/embedding_size").asInt());
    assertEquals(120, json.at("/requests/submitted").asLong());
    assertEquals(90, json.at("/requests/captioned").asLong());
    assertEquals(15, json.at("/requests/embedded").asLong());
    assertEquals(5, json.at("/requests/reranked").asLong());
    assertEquals(50, json.at("/requests/scored_documents").asLong());
    assertEquals(4, json.at("/requests/failed").asLong());
    assertEquals(3, json.at("/requests/rejected").asLong());
    assertEquals(2, json.at("/requests/timed_out").asLong());
    assertEquals(1, json.at("/requests/in_flight").asLong());
    assertEquals(1.5, json.at("/images_per_second").asDouble());
    assertEquals(42.25, json.at("/tokens_per_second").asDouble());
    assertEquals(3.75, json.at("/embeddings_per_second").asDouble());
    assertEquals(7, json.at("/queue/depth").asLong());
    assertEquals(256, json.at("/queue/limit").asLong());
    assertEquals(5000, json.at("/prefix_cache/prompt_tokens").asLong());
    assertEquals(2500, json.at("/prefix_cache/cached_tokens").asLong());
    assertEquals(0.5, json.at("/prefix_cache/hit_rate").asDouble());
    assertEquals(11, json.at("/vision_cache/hits").asLong());
    assertEquals(89, json.at("/vision_cache/misses").asLong());
    assertEquals(900.123, json.at("/latency_ms/total").asDouble(), "milliseconds to three decimals");
    assertEquals(35.5, json.at("/latency_ms/embed").asDouble());
    assertEquals(120.25, json.at("/latency_ms/rerank").asDouble());
    for (String stage : new String[] {"image", "queue", "vision", "prefill", "decode"}) {
      assertEquals(true, json.at("/latency_ms/" + stage).isNumber(), stage);
    }
    XContentBuilder unloaded = JsonXContent.contentBuilder();
    sample("[model_load] no config.json", null).toXContent(unloaded, ToXContent.EMPTY_PARAMS);
    JsonNode failed = new ObjectMapper().readTree(Strings.toString(unloaded));
    assertFalse(failed.at("/model").has("embedding_size"), "unknown until loaded");
    assertEquals("[model_load] no config.json", failed.at("/model/error").asText());
  }
}
