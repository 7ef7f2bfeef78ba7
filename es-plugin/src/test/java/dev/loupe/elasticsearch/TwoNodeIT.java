package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsNode;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two nodes on loopback, both with the plugin, in one cluster: ingest works through either. */
class TwoNodeIT {
  @RegisterExtension static final EsClusterExtension ES = EsClusterExtension.shared(ClusterSpec.nodes(2));

  @Test
  void bothNodesJoinedWithThePlugin() {
    JsonNode nodes = ES.client().get("/_nodes/plugins").path("nodes");
    assertEquals(2, nodes.size(), nodes.toString());
    Set<String> names = new HashSet<>();
    for (JsonNode node : nodes) {
      names.add(node.path("name").asText());
      assertTrue(node.path("plugins").toString().contains("\"name\":\"loupe\""), node.toString());
    }
    assertEquals(Set.of(ES.node(0).name(), ES.node(1).name()), names);
  }

  @Test
  void bulkThroughEitherNodeRunsThePipeline() {
    ES.client().put("/_ingest/pipeline/two-node-info", Map.of("processors", new Object[] {Map.of("loupe_model_info", Map.of())}));
    for (EsNode node : ES.cluster().nodes()) {
      BulkBody body = new BulkBody().index("two-node-info", node.name(), Map.of("via", node.name()));
      JsonNode answer = node.client().bulk("/_bulk?pipeline=two-node-info&refresh=true", body);
      assertEquals(false, answer.path("errors").asBoolean(), answer.toString());
    }
    for (EsNode node : ES.cluster().nodes()) {
      JsonNode source = ES.node(1).client().get("/two-node-info/_doc/" + node.name()).path("_source");
      assertEquals(node.name(), source.path("via").asText());
      assertEquals("qwen3_vl", source.path("loupe").path("model").path("model_type").asText(), source.toString());
    }
  }
}
