package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsNode;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.nio.file.Files;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two nodes on loopback, both with the plugin and the model, in one cluster: an
 * {@code image_caption} pipeline runs through either node (each captions on its own model),
 * both give the same greedy caption for the same image, and {@code _loupe/stats} asked on
 * either node reports both.
 */
@Order(7)  // right after ClusterLoadIT, whose two-node cluster it shares (junit-platform.properties)
class TwoNodeIT {
  /** ClusterLoadIT's spec: the two classes share one cluster start. */
  @RegisterExtension static final EsClusterExtension ES = EsClusterExtension.shared(ClusterLoadIT.CLUSTER);

  private static final String PIPELINE = "two-node-caption";
  private static final String INDEX = "two-node";
  private static String image;

  @BeforeAll
  static void pipeline() throws Exception {
    image = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.testdata().resolve("images/gen_rgba_100x80.png")));
    ES.client().put("/_ingest/pipeline/" + PIPELINE, Map.of("processors", List.of(Map.of("image_caption", Map.of(
        "field", "image", "max_new_tokens", 6, "min_pixels", 1024, "max_pixels", 4096, "remove_binary", true,
        "properties", List.of("text", "tokens", "model"))))));
  }

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
  void bulkThroughEitherNodeCaptionsOnThatNode() {
    Map<String, Long> captionedBefore = captionedPerNode();
    for (EsNode node : ES.cluster().nodes()) {
      BulkBody body = new BulkBody()
          .index(INDEX, node.name() + "-a", Map.of("via", node.name(), "image", image))
          .index(INDEX, node.name() + "-b", Map.of("via", node.name(), "image", image));
      JsonNode answer = node.client().bulk("/_bulk?pipeline=" + PIPELINE + "&refresh=true", body);
      assertFalse(answer.path("errors").asBoolean(), answer.toString());
    }

    Map<String, JsonNode> captions = new HashMap<>();
    for (EsNode via : ES.cluster().nodes()) {
      for (String suffix : List.of("-a", "-b")) {
        // Read through the other node: the documents are in the cluster, not only where they came in.
        JsonNode source = ES.node(1 - ES.cluster().nodes().indexOf(via)).client().get("/" + INDEX + "/_doc/" + via.name() + suffix).path("_source");
        assertEquals(via.name(), source.path("via").asText());
        assertFalse(source.has("image"), "remove_binary: " + source);
        assertFalse(source.path("caption").path("text").asText().isEmpty(), source.toString());
        assertEquals("loupe-model", source.path("caption").path("model").asText(), "es-node copies the model to config/loupe-model: " + source);
        captions.put(via.name() + suffix, source.path("caption"));
      }
    }
    // Greedy decoding of the same image on the same checkpoint: every node writes the same tokens.
    JsonNode first = captions.values().iterator().next();
    for (JsonNode caption : captions.values()) {
      assertEquals(first.path("tokens"), caption.path("tokens"), captions.toString());
      assertEquals(first.path("text"), caption.path("text"), captions.toString());
    }

    // Ingest runs on the node that received the bulk: each node captioned its own two documents.
    Map<String, Long> captionedAfter = captionedPerNode();
    for (EsNode node : ES.cluster().nodes()) {
      assertEquals(2L, captionedAfter.get(node.name()) - captionedBefore.get(node.name()), captionedAfter.toString());
    }
  }

  @Test
  void statsFromEitherNodeListBothNodes() {
    for (EsNode asked : ES.cluster().nodes()) {
      JsonNode answer = asked.client().get("/_loupe/stats");
      assertEquals(2, answer.path("_nodes").path("total").asInt(), answer.toString());
      assertEquals(2, answer.path("_nodes").path("successful").asInt(), answer.toString());
      assertEquals(ES.cluster().name(), answer.path("cluster_name").asText());
      Set<String> names = new HashSet<>();
      for (JsonNode member : answer.path("nodes")) {
        names.add(member.path("name").asText());
        JsonNode node = member.path("models").path("default");
        assertTrue(node.path("model").path("path").asText().endsWith("loupe-model"), node.toString());
        assertEquals("cpu", node.path("model").path("device").asText(), node.toString());
        assertEquals(4, node.path("queue").path("limit").asInt(), node.toString());
      }
      assertEquals(Set.of(ES.node(0).name(), ES.node(1).name()), names, answer.toString());
    }
  }

  private static Map<String, Long> captionedPerNode() {
    Map<String, Long> captioned = new HashMap<>();
    for (JsonNode node : ES.client().get("/_loupe/stats").path("nodes")) {
      captioned.put(node.path("name").asText(), node.path("models").path("default").path("requests").path("captioned").asLong());
    }
    return captioned;
  }
}
