package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.RetrievalInput;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsResponse;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Semantic image search inside one node with three models: the trained shapes captioner
 * ({@code default}), the trained shapes embedding model ({@code embedder}) and a tiny random
 * reranker ({@code reranker}). The demo images go through {@code image_caption} +
 * {@code image_embedding}; paraphrased queries (words no caption uses) find their image with
 * {@code loupe_text_embedding} kNN, which caption (BM25) search misses; hybrid search and the
 * {@code loupe_rerank} retriever run on the same index; vectors and scores equal the Java API's.
 */
@Order(5)  // a dedicated node, with the dedicated-node classes (junit-platform.properties)
class SemanticSearchIT {
  @RegisterExtension
  static final EsClusterExtension ES =
      EsClusterExtension.dedicated(
          ClusterSpec.nodes(1)
              .model(TestPaths.shapesModel())
              .namedModel("embedder", TestPaths.shapesEmbedModel())
              .namedModel("reranker", TestPaths.tinyReranker())
              .heap("768m"));

  static final String INDEX = "shapes-semantic";
  static final ObjectMapper JSON = new ObjectMapper();
  static Map<String, String> captionsByName;
  static List<JsonNode> queries;

  static EsClient es() {
    return ES.client();
  }

  @BeforeAll
  static void indexTheDemoImages() throws IOException {
    captionsByName = new TreeMap<>();
    JSON.readTree(TestPaths.examples().resolve("captions.json").toFile()).fields()
        .forEachRemaining(e -> captionsByName.put(e.getKey(), e.getValue().asText()));
    queries = new ArrayList<>();
    JSON.readTree(TestPaths.examples().resolveSibling("queries.json").toFile()).get("queries").forEach(queries::add);

    es().put("/_ingest/pipeline/caption-and-embed", Map.of("processors", List.of(
        Map.of("image_caption", Map.of("field", "image", "preset", "caption", "max_new_tokens", 32)),
        Map.of("image_embedding", Map.of("field", "image", "model", "embedder", "target_field", "embedding")))));
    es().put("/" + INDEX, Map.of("mappings", Map.of("properties", Map.of(
        "name", Map.of("type", "keyword"),
        "image", Map.of("type", "binary"),
        "caption", Map.of("properties", Map.of("text", Map.of("type", "text"), "model", Map.of("type", "keyword"))),
        "embedding", Map.of("type", "dense_vector", "dims", 128, "similarity", "dot_product",
            "index_options", Map.of("type", "int8_hnsw"))))));
    BulkBody bulk = new BulkBody();
    for (String name : captionsByName.keySet()) {
      bulk.index(INDEX, name, Map.of("name", name, "image", base64(name)));
    }
    JsonNode response = es().bulk("/_bulk?pipeline=caption-and-embed&refresh=true", bulk);
    assertFalse(response.get("errors").asBoolean(), response.toString());
  }

  static String base64(String image) throws IOException {
    return Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.examples().resolve(image)));
  }

  static Map<String, Object> textEmbedding(String text, String instruction) {
    Map<String, Object> builder = new LinkedHashMap<>();
    builder.put("model", "embedder");
    builder.put("text", text);
    if (instruction != null) builder.put("instruction", instruction);
    return Map.of("loupe_text_embedding", builder);
  }

  static Map<String, Object> knn(Map<String, Object> vectorBuilder, int k) {
    return Map.of("field", "embedding", "k", k, "num_candidates", 20, "query_vector_builder", vectorBuilder);
  }

  static List<String> ids(JsonNode response) {
    List<String> ids = new ArrayList<>();
    response.at("/hits/hits").forEach(hit -> ids.add(hit.get("_id").asText()));
    return ids;
  }

  static JsonNode search(Map<String, Object> body) {
    return es().post("/" + INDEX + "/_search", body);
  }

  @Test
  void everyDocumentHasACaptionAndAUnitVector() {
    // Elasticsearch 9 leaves vectors out of _source unless asked.
    JsonNode hits = search(Map.of("size", 100, "_source", Map.of("exclude_vectors", false))).at("/hits/hits");
    assertEquals(captionsByName.size(), hits.size());
    for (JsonNode hit : hits) {
      JsonNode source = hit.get("_source");
      assertEquals(captionsByName.get(hit.get("_id").asText()), source.at("/caption/text").asText());
      JsonNode vector = source.get("embedding");
      assertEquals(128, vector.size(), hit.get("_id").asText());
      double norm = 0;
      for (JsonNode v : vector) norm += v.asDouble() * v.asDouble();
      assertEquals(1.0, norm, 1e-4, "unit length for dot_product: " + hit.get("_id").asText());
    }
  }

  @Test
  void paraphrasedQueriesFindTheirImageFirstWhereCaptionSearchDoesNot() {
    int captionSearchMissed = 0;
    for (JsonNode query : queries) {
      String text = query.get("query").asText();
      String expected = query.at("/expected/0").asText();
      List<String> vector = ids(search(Map.of("knn", knn(textEmbedding(text, query.get("instruction").asText()), 3), "size", 3)));
      assertEquals(expected, vector.isEmpty() ? null : vector.get(0), "kNN for '" + text + "': " + vector);
      List<String> words = ids(search(Map.of("query", Map.of("match", Map.of("caption.text", text)), "size", 3)));
      if (words.isEmpty() || !words.get(0).equals(expected)) captionSearchMissed++;
    }
    assertTrue(captionSearchMissed > 0, "the paraphrases use words the captions do not: BM25 misses some of them");
  }

  @Test
  void hybridSearchAddsTheCaptionAndVectorScores() {
    JsonNode query = queries.get(0);
    String text = query.get("query").asText();
    Map<String, Object> knn = knn(textEmbedding(text, query.get("instruction").asText()), 8);
    Map<String, Object> match = Map.of("match", Map.of("caption.text", text));
    Map<String, Double> vectorScores = scores(search(Map.of("knn", knn, "size", 8)));
    Map<String, Double> wordScores = scores(search(Map.of("query", match, "size", 8)));
    JsonNode hybrid = search(Map.of("query", match, "knn", knn, "size", 8));
    Map<String, Double> hybridScores = scores(hybrid);
    assertFalse(hybridScores.isEmpty());
    for (Map.Entry<String, Double> hit : hybridScores.entrySet()) {
      double sum = vectorScores.getOrDefault(hit.getKey(), 0.0) + wordScores.getOrDefault(hit.getKey(), 0.0);
      assertEquals(sum, hit.getValue(), 1e-4, "hybrid = BM25 + kNN for " + hit.getKey());
    }
    assertTrue(hybridScores.containsKey(query.at("/expected/0").asText()), hybrid.toString());
  }

  static Map<String, Double> scores(JsonNode response) {
    Map<String, Double> scores = new LinkedHashMap<>();
    response.at("/hits/hits").forEach(hit -> scores.put(hit.get("_id").asText(), hit.get("_score").asDouble()));
    return scores;
  }

  @Test
  void theQueryVectorIsTheJavaApisVector() throws Exception {
    String text = "a golden dot next to a jade star";
    String instruction = "Retrieve images that match the user's query.";
    float[] expected;
    try (LoupeEngine engine = Loupe.open(TestPaths.shapesEmbedModel(), Options.defaults().withThreads(1))) {
      expected = engine.embed(EmbedRequest.of(RetrievalInput.text(text)).withInstruction(instruction)).get();
    }
    String parity = "vector-parity";
    es().put("/" + parity, Map.of("mappings", Map.of("properties", Map.of(
        "vec", Map.of("type", "dense_vector", "dims", 128, "similarity", "dot_product", "index_options", Map.of("type", "flat"))))));
    es().put("/" + parity + "/_doc/java?refresh=true", Map.of("vec", expected));
    Map<String, Object> knn = new LinkedHashMap<>(Map.of("field", "vec", "k", 1, "num_candidates", 1,
        "query_vector_builder", textEmbedding(text, instruction)));
    JsonNode hit = es().post("/" + parity + "/_search", Map.of("knn", knn)).at("/hits/hits/0");
    // dot_product score = (1 + q·d) / 2: 1 exactly when the unit vectors are equal.
    assertEquals(1.0, hit.get("_score").asDouble(), 1e-6, "query vector = Java API vector: " + hit);
    knn.put("query_vector_builder", textEmbedding("one emerald block", instruction));
    double other = es().post("/" + parity + "/_search", Map.of("knn", knn)).at("/hits/hits/0/_score").asDouble();
    assertTrue(other < 0.999, "a different text gives a different vector: " + other);
  }

  @Test
  void anImageQueryFindsThatImage() throws IOException {
    Map<String, Object> builder = Map.of("loupe_text_embedding", Map.of("model", "embedder", "image", base64("shapes_03.png")));
    JsonNode response = search(Map.of("knn", knn(builder, 3), "size", 3));
    assertEquals("shapes_03.png", ids(response).get(0), response.toString());
    assertTrue(response.at("/hits/hits/0/_score").asDouble() > 0.99, "same image, same instruction: " + response);
  }

  @Test
  void rerankRetrieverOrdersTheWindowByTheRerankersScores() throws Exception {
    String query = "a red circle";
    Map<String, Object> rerank = new LinkedHashMap<>();
    rerank.put("retriever", Map.of("standard", Map.of("query", Map.of("match_all", Map.of()))));
    rerank.put("model", "reranker");
    rerank.put("query", query);
    rerank.put("field", "caption.text");
    rerank.put("rank_window_size", 8);
    JsonNode response = search(Map.of("retriever", Map.of("loupe_rerank", rerank), "size", 8, "_source", List.of("caption")));
    JsonNode hits = response.at("/hits/hits");
    assertEquals(8, hits.size(), response.toString());
    List<RetrievalInput> documents = new ArrayList<>();
    for (JsonNode hit : hits) documents.add(RetrievalInput.text(hit.at("/_source/caption/text").asText()));
    double[] expected;
    try (LoupeEngine engine = Loupe.open(TestPaths.tinyReranker(), Options.defaults().withThreads(1))) {
      expected = engine.rerank(RetrievalInput.text(query), documents, null).get();
    }
    double previous = Double.POSITIVE_INFINITY;
    for (int i = 0; i < hits.size(); i++) {
      double score = hits.get(i).get("_score").asDouble();
      assertEquals(expected[i], score, 1e-5, "reranker score = Java API score: " + hits.get(i));
      assertTrue(score <= previous, "sorted by the reranker's score");
      previous = score;
    }
    JsonNode stats = es().get("/_loupe/stats").get("nodes").elements().next().at("/models/reranker");
    assertTrue(stats.at("/requests/reranked").asLong() >= 1, stats.toString());
    assertTrue(stats.at("/requests/scored_documents").asLong() >= 8, stats.toString());
  }

  @Test
  void rerankOnTheImageField() throws Exception {
    Map<String, Object> rerank = new LinkedHashMap<>();
    rerank.put("retriever", Map.of("standard", Map.of("query", Map.of("terms", Map.of("name", List.of("shapes_01.png", "shapes_02.jpg"))))));
    rerank.put("model", "reranker");
    rerank.put("query", "a blue circle");
    rerank.put("image_field", "image");
    JsonNode response = search(Map.of("retriever", Map.of("loupe_rerank", rerank), "_source", List.of("name")));
    JsonNode hits = response.at("/hits/hits");
    assertEquals(2, hits.size(), response.toString());
    List<RetrievalInput> documents = new ArrayList<>();
    for (JsonNode hit : hits) {
      documents.add(RetrievalInput.image(ImageInput.ofBytes(Files.readAllBytes(TestPaths.examples().resolve(hit.get("_id").asText())))));
    }
    double[] expected;
    try (LoupeEngine engine = Loupe.open(TestPaths.tinyReranker(), Options.defaults().withThreads(1))) {
      expected = engine.rerank(RetrievalInput.text("a blue circle"), documents, null).get();
    }
    for (int i = 0; i < hits.size(); i++) {
      assertEquals(expected[i], hits.get(i).get("_score").asDouble(), 1e-5, hits.get(i).toString());
    }
  }

  @Test
  void modelsTheClusterDoesNotServeAreClearErrors() {
    EsResponse missing = es().send("POST", "/" + INDEX + "/_search",
        Map.of("knn", knn(Map.of("loupe_text_embedding", Map.of("model", "nope", "text", "x")), 1)));
    assertEquals(400, missing.status(), missing.body());
    assertTrue(missing.body().contains("no node in the cluster serves the Loupe model [nope]"), missing.body());
    EsResponse captioner = es().send("POST", "/" + INDEX + "/_search",
        Map.of("knn", knn(Map.of("loupe_text_embedding", Map.of("model", "default", "text", "x")), 1)));
    assertEquals(400, captioner.status(), captioner.body());
    assertTrue(captioner.body().contains("model [default] is not an embedding checkpoint"), captioner.body());
    EsResponse path = es().send("PUT", "/_ingest/pipeline/bad-model",
        Map.of("processors", List.of(Map.of("image_embedding", Map.of("field", "image", "model", "/etc/passwd")))));
    assertEquals(400, path.status(), path.body());
    assertTrue(path.body().contains("must name one of the node's models"), path.body());
  }

  @Test
  void statsListEveryModelWithWhatItIs() {
    JsonNode models = es().get("/_loupe/stats").get("nodes").elements().next().get("models");
    assertTrue(models.at("/default/model/kind").asText().startsWith("generative"), models.toString());
    assertEquals("embedding", models.at("/embedder/model/kind").asText(), models.toString());
    assertEquals(128, models.at("/embedder/model/embedding_size").asInt(), models.toString());
    assertEquals("generative, scoring", models.at("/reranker/model/kind").asText(), models.toString());
    assertTrue(models.at("/embedder/requests/embedded").asLong() >= captionsByName.size(), models.toString());
    assertTrue(models.at("/default/requests/captioned").asLong() >= captionsByName.size(), models.toString());
    JsonNode attributes = es().get("/_nodes/_local").get("nodes").elements().next().get("attributes");
    assertEquals("default,embedder,reranker", attributes.get("loupe_models").asText(), attributes.toString());
  }
}
