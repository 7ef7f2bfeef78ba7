package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.Loupe;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsResponse;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The walking skeleton end to end: a real Elasticsearch node (the integ-test distribution of
 * the version the plugin is built for) with the plugin zip installed by
 * {@code elasticsearch-plugin install}, default entitlements plus the plugin's policy. Shares
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
  void pipelineWritesNativeResultIntoIndexedDocument() throws Exception {
    JsonNode config = EsClient.JSON.readTree(TestPaths.tinyModel().resolve("config.json").toFile());
    es().put("/_ingest/pipeline/loupe-skeleton", Map.of("processors", List.of(Map.of("loupe_model_info", Map.of("target_field", "loupe")))));
    es().put("/skeleton/_doc/1?pipeline=loupe-skeleton&refresh=true", Map.of("title", "a photo"));
    JsonNode source = es().get("/skeleton/_doc/1").path("_source");

    assertEquals("a photo", source.path("title").asText());
    assertEquals(Loupe.version(), source.path("loupe").path("loupe_version").asText());
    JsonNode model = source.path("loupe").path("model");
    assertEquals("Qwen3VLForConditionalGeneration", model.path("architecture").asText());
    assertEquals("qwen3_vl", model.path("model_type").asText());
    assertEquals(config.at("/text_config/hidden_size").asInt(), model.path("text_hidden_size").asInt());
    assertEquals(config.at("/text_config/num_hidden_layers").asInt(), model.path("text_layers").asInt());
    assertEquals(config.at("/text_config/num_key_value_heads").asInt(), model.path("text_kv_heads").asInt());
    assertEquals(config.at("/text_config/vocab_size").asInt(), model.path("vocab_size").asInt());
    assertEquals(config.at("/vision_config/depth").asInt(), model.path("vision_depth").asInt());
    assertEquals(config.at("/vision_config/deepstack_visual_indexes").size(), model.path("deepstack_layers").asInt());
    assertTrue(model.path("tie_word_embeddings").asBoolean());
  }

  @Test
  void unknownOptionIsRejectedByElasticsearch() {
    EsResponse response =
        es().send("PUT", "/_ingest/pipeline/bad", Map.of("processors", List.of(Map.of("loupe_model_info", Map.of("model", "/etc")))));
    assertEquals(400, response.status(), response.body());
    assertTrue(
        response.body().contains("processor [loupe_model_info] doesn't support one or more provided configuration parameters [model]"),
        response.body());
  }
}
