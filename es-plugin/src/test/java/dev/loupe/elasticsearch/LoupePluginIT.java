package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The plugin on a real Elasticsearch node (the integ-test distribution of the version the
 * plugin is built for) with the plugin zip installed by {@code elasticsearch-plugin install},
 * default entitlements plus the plugin's policy. Shares
 * the single tiny-model node with the other single-node ITs.
 */
@Order(1)  // single-node classes first, sharing one node (junit-platform.properties)
class LoupePluginIT {
  @RegisterExtension static final EsClusterExtension ES = EsClusterExtension.shared(ClusterSpec.nodes(1));

  static EsClient es() {
    return ES.client();
  }

  @Test
  void nodeLoadedThePlugin() throws Exception {
    JsonNode node = es().get("/_nodes/plugins").path("nodes").elements().next();
    assertTrue(node.path("plugins").toString().contains("\"name\":\"loupe\""), node.path("plugins").toString());
    assertTrue(ES.node(0).log().contains("loaded plugin [loupe]"), "node log must show the plugin loaded");
    assertTrue(ES.node(0).log().contains("loaded model ["), "the model loads at node start");
    assertTrue(ES.node(0).log().contains("(JavaCPP maxPhysicalBytes=0)"), "JavaCPP's RSS check is off inside the node");
  }

  @Test
  void unknownOptionIsRejectedByElasticsearch() {
    EsResponse response =
        es().send(
            "PUT",
            "/_ingest/pipeline/bad",
            Map.of("processors", List.of(Map.of("image_caption", Map.of("field", "image", "model_path", "/etc")))));
    assertEquals(400, response.status(), response.body());
    assertTrue(
        response.body().contains("processor [image_caption] doesn't support one or more provided configuration parameters [model_path]"),
        response.body());
  }
}
