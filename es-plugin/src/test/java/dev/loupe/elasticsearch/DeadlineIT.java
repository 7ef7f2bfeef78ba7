package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.nio.file.Files;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code loupe.timeout} inside a node: with a deadline no caption can meet, every document
 * fails with "timed out" (status 429, so clients retry), the timer runs on Elasticsearch's
 * own scheduler, the engine request is cancelled and the node keeps serving.
 */
@Order(5)  // a dedicated node, after the shared single-node classes (junit-platform.properties)
class DeadlineIT {
  @RegisterExtension
  static final EsClusterExtension ES = EsClusterExtension.dedicated(ClusterSpec.nodes(1).setting("loupe.timeout", "1ms"));

  @Test
  void documentsPastTheDeadlineFailWithTheReason() throws Exception {
    String rocket = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.testdata().resolve("images/rocket.jpg")));
    ES.client().put("/_ingest/pipeline/deadline", Map.of("processors", List.of(Map.of("image_caption", Map.of("field", "image", "max_new_tokens", 64)))));
    BulkBody bulk = new BulkBody();
    for (int i = 0; i < 3; i++) bulk.index("deadline", "d" + i, Map.of("image", rocket));
    JsonNode response = ES.client().bulk("/_bulk?pipeline=deadline", bulk);
    for (JsonNode item : response.get("items")) {
      JsonNode index = item.get("index");
      assertEquals(429, index.get("status").asInt(), index.toString());
      // The type clients match on, as the README's failure table states it.
      assertEquals("timeout_exception", index.at("/error/type").asText(), index.toString());
      assertTrue(index.toString().contains("image_caption timed out: no result within loupe.timeout [1ms]"), index.toString());
    }
    JsonNode node = ES.client().get("/_loupe/stats").get("nodes").elements().next().at("/models/default");
    assertEquals(3, node.at("/requests/timed_out").asLong(), node.toString());
    assertEquals(0, node.at("/requests/in_flight").asLong(), node.toString());
    assertEquals(0, node.at("/queue/depth").asLong(), node.toString());
    assertTrue(node.at("/model/loaded").asBoolean());
  }
}
