package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsResponse;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.nio.file.Files;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two nodes, and only the first serves models: searches coordinated by the second reach the
 * models over the transport action (node attribute loupe_models) and answer exactly what the
 * first answers; ingest on the node without the model fails with the reason.
 */
@Order(8)  // a dedicated two-node cluster, after the shared one (junit-platform.properties)
class RoutedInferenceIT {
  @RegisterExtension
  static final EsClusterExtension ES =
      EsClusterExtension.dedicated(
          ClusterSpec.nodes(2)
              .model(null)
              .nodeModel(0, "embedder", TestPaths.shapesEmbedModel())
              .nodeModel(0, "reranker", TestPaths.tinyReranker()));

  static final String INDEX = "routed";

  @BeforeAll
  static void indexVectorsThroughTheModelNode() throws Exception {
    EsClient modelNode = ES.node(0).client();
    modelNode.put("/_ingest/pipeline/embed", Map.of("processors", List.of(
        Map.of("image_embedding", Map.of("field", "image", "model", "embedder", "remove_binary", true)))));
    modelNode.put("/" + INDEX, Map.of(
        "settings", Map.of("number_of_shards", 2, "number_of_replicas", 0),
        "mappings", Map.of("properties", Map.of(
            "title", Map.of("type", "text"),
            "embedding", Map.of("type", "dense_vector", "dims", 128, "similarity", "dot_product")))));
    BulkBody bulk = new BulkBody();
    for (String name : List.of("shapes_01.png", "shapes_02.jpg", "shapes_03.png", "shapes_05.png")) {
      String image = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.examples().resolve(name)));
      bulk.index(INDEX, name, Map.of("title", "picture " + name, "image", image));
    }
    JsonNode response = modelNode.bulk("/_bulk?pipeline=embed&refresh=true", bulk);
    assertFalse(response.get("errors").asBoolean(), response.toString());
  }

  static Map<String, Object> knnQuery(String model, String text) {
    Map<String, Object> builder = new LinkedHashMap<>(Map.of("model", model, "text", text));
    builder.put("instruction", "Retrieve images that match the user's query.");
    return Map.of("knn", Map.of("field", "embedding", "k", 3, "num_candidates", 10,
        "query_vector_builder", Map.of("loupe_text_embedding", builder)), "_source", false);
  }

  @Test
  void aCoordinatingNodeWithoutTheModelGetsTheSameAnswer() {
    Map<String, Object> query = knnQuery("embedder", "an amber star and a navy star-shaped figure");
    JsonNode viaModelNode = ES.node(0).client().post("/" + INDEX + "/_search", query).at("/hits/hits");
    JsonNode viaOtherNode = ES.node(1).client().post("/" + INDEX + "/_search", query).at("/hits/hits");
    assertEquals("shapes_02.jpg", viaOtherNode.at("/0/_id").asText(), viaOtherNode.toString());
    assertEquals(viaModelNode, viaOtherNode, "same hits, same scores");
  }

  @Test
  void rerankingCoordinatedByTheOtherNode() {
    Map<String, Object> rerank = new LinkedHashMap<>();
    rerank.put("retriever", Map.of("standard", Map.of("query", Map.of("match", Map.of("title", "picture")))));
    rerank.put("model", "reranker");
    rerank.put("query", "a blue circle");
    rerank.put("field", "title");
    Map<String, Object> body = Map.of("retriever", Map.of("loupe_rerank", rerank), "_source", false);
    JsonNode viaModelNode = ES.node(0).client().post("/" + INDEX + "/_search", body).at("/hits/hits");
    JsonNode viaOtherNode = ES.node(1).client().post("/" + INDEX + "/_search", body).at("/hits/hits");
    assertEquals(4, viaOtherNode.size(), viaOtherNode.toString());
    assertEquals(viaModelNode, viaOtherNode);
  }

  @Test
  void aModelNoNodeServesIsAClearError() {
    EsResponse response = ES.node(1).client().send("POST", "/" + INDEX + "/_search", knnQuery("captioner", "x"));
    assertEquals(400, response.status(), response.body());
    assertTrue(response.body().contains("no node in the cluster serves the Loupe model [captioner]"), response.body());
  }

  @Test
  void ingestOnANodeWithoutTheModelFailsTheDocumentWithTheReason() throws Exception {
    String image = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.examples().resolve("shapes_01.png")));
    JsonNode result = ES.node(1).client().post("/_ingest/pipeline/embed/_simulate",
        Map.of("docs", List.of(Map.of("_source", Map.of("image", image)))));
    String reason = result.at("/docs/0/error/reason").asText();
    assertTrue(reason.contains("this node has no model [embedder]"), result.toString());
    JsonNode stats = ES.node(1).client().get("/_loupe/stats/_local").get("nodes").elements().next();
    assertEquals(0, stats.get("models").size(), "the second node serves no model: " + stats);
  }
}
