package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code image_caption} in a real Elasticsearch 9.2 node with the tiny golden checkpoint:
 * pipeline create, {@code _simulate}, {@code _bulk}, captions equal to HF transformers'
 * greedy tokens, prefix sharing between processors, {@code _loupe/stats} and
 * {@code _nodes/stats/ingest}.
 */
@Order(2)  // single-node classes first, sharing one node (junit-platform.properties)
class ImageCaptionIT {
  @RegisterExtension static final EsClusterExtension ES = EsClusterExtension.shared(ClusterSpec.nodes(1));

  static JsonNode oneImage;
  static String rocketBase64;

  @BeforeAll
  static void golden() throws IOException {
    JsonNode manifest = new ObjectMapper().readTree(TestPaths.testdata().resolve("golden/manifest.json").toFile());
    for (JsonNode c : manifest.get("cases")) {
      if (c.get("name").asText().equals("one_image")) oneImage = c;
    }
    rocketBase64 = base64(TestPaths.testdata().resolve(oneImage.get("images").get(0).asText()));
  }

  static String base64(Path file) throws IOException {
    return Base64.getEncoder().encodeToString(Files.readAllBytes(file));
  }

  /** The golden one_image case (prompt, resize budget, length) as an image_caption processor. */
  static Map<String, Object> goldenProcessor() {
    Map<String, Object> options = new LinkedHashMap<>();
    options.put("field", "image");
    options.put("prompt", "Describe this image.");
    options.put("min_pixels", oneImage.at("/images_kwargs/size/shortest_edge").asLong());
    options.put("max_pixels", oneImage.at("/images_kwargs/size/longest_edge").asLong());
    options.put("max_new_tokens", oneImage.at("/results/tiny-tied/num_new_tokens").asInt());
    options.put("properties", List.of("text", "tokens", "model", "prompt_tokens", "cached_tokens", "finish_reason"));
    return options;
  }

  static Map<String, Object> pipeline(Map<String, Object>... processors) {
    List<Object> list = new ArrayList<>();
    for (Map<String, Object> p : processors) list.add(Map.of("image_caption", p));
    return Map.of("processors", list);
  }

  static List<Integer> goldenIds() {
    List<Integer> ids = new ArrayList<>();
    oneImage.at("/results/tiny-tied/generated_ids").forEach(id -> ids.add(id.asInt()));
    return ids;
  }

  static List<Integer> ids(JsonNode tokens) {
    List<Integer> ids = new ArrayList<>();
    tokens.forEach(id -> ids.add(id.asInt()));
    return ids;
  }

  static EsClient es() {
    return ES.client();
  }

  @Test
  void simulateGivesTheGoldenGreedyCaption() {
    Map<String, Object> body =
        Map.of("pipeline", pipeline(goldenProcessor()), "docs", List.of(Map.of("_source", Map.of("image", rocketBase64))));
    JsonNode caption = es().post("/_ingest/pipeline/_simulate", body).at("/docs/0/doc/_source/caption");
    assertEquals(goldenIds(), ids(caption.get("tokens")), caption.toString());
    assertEquals("loupe-model", caption.get("model").asText(), "the model directory's name (the harness copies it to config/loupe-model)");
    assertEquals(oneImage.get("num_tokens").asInt(), caption.get("prompt_tokens").asInt());
    assertEquals("length", caption.get("finish_reason").asText());
    assertFalse(caption.get("text").asText().isEmpty());
  }

  @Test
  void bulkCaptionsEverySampleImage() throws IOException {
    es().put("/_ingest/pipeline/ic-bulk", pipeline(goldenProcessor()));
    List<String> names = List.of("rocket.jpg", "chelsea.jpg", "generated_shapes.png", "gen_lossy_96x72.webp", "gen_anim_70x50.gif", "gen_bgr24_75x45.bmp");
    BulkBody bulk = new BulkBody();
    for (String name : names) {
      bulk.index("ic-bulk", name, Map.of("name", name, "image", base64(TestPaths.testdata().resolve("images").resolve(name))));
    }
    JsonNode response = es().bulk("/_bulk?pipeline=ic-bulk&refresh=true", bulk);
    assertFalse(response.get("errors").asBoolean(), response.toString());
    JsonNode hits = es().get("/ic-bulk/_search?size=20").at("/hits/hits");
    assertEquals(names.size(), hits.size());
    for (JsonNode hit : hits) {
      JsonNode caption = hit.at("/_source/caption");
      assertEquals(20, caption.get("tokens").size(), hit.toString());
      assertFalse(caption.get("text").asText().isEmpty());
      if (hit.get("_id").asText().equals("rocket.jpg")) {
        assertEquals(goldenIds(), ids(caption.get("tokens")));
      }
    }
  }

  @Test
  void processorsOnOneImageShareItsPrefixAndStatsShowIt() {
    JsonNode before = nodeStats();
    List<Map<String, Object>> processors = new ArrayList<>();
    for (String preset : List.of("caption", "keywords", "ocr")) {
      Map<String, Object> options = new LinkedHashMap<>();
      options.put("field", "image");
      options.put("preset", preset);
      options.put("target_field", preset);
      options.put("min_pixels", 4096);
      options.put("max_pixels", 40960);
      options.put("max_new_tokens", 5);
      options.put("properties", List.of("text", "cached_tokens", "prompt_tokens"));
      processors.add(options);
    }
    es().put("/_ingest/pipeline/ic-presets", pipeline(processors.toArray(Map[]::new)));
    es().put("/ic-presets/_doc/1?pipeline=ic-presets&refresh=true", Map.of("image", rocketBase64));
    JsonNode source = es().get("/ic-presets/_doc/1").get("_source");
    int promptImageTokens = source.at("/caption/prompt_tokens").asInt();
    assertTrue(promptImageTokens > 0);
    assertTrue(source.at("/keywords/cached_tokens").asInt() > 0, source.toString());
    assertTrue(source.at("/ocr/cached_tokens").asInt() > 0, source.toString());

    JsonNode after = nodeStats();
    assertEquals(3, after.at("/requests/captioned").asLong() - before.at("/requests/captioned").asLong());
    long cached = after.at("/prefix_cache/cached_tokens").asLong() - before.at("/prefix_cache/cached_tokens").asLong();
    assertTrue(cached >= source.at("/keywords/cached_tokens").asInt() + source.at("/ocr/cached_tokens").asInt(), after.toString());
    assertTrue(after.at("/prefix_cache/hit_rate").asDouble() > 0, after.toString());
  }

  @Test
  void statsReportEveryNodeInTheNodesFormat() {
    es().post("/_ingest/pipeline/_simulate", Map.of("pipeline", pipeline(goldenProcessor()), "docs", List.of(Map.of("_source", Map.of("image", rocketBase64)))));
    JsonNode stats = es().get("/_loupe/stats?pretty");
    assertEquals(1, stats.at("/_nodes/total").asInt(), stats.toString());
    assertEquals(1, stats.at("/_nodes/successful").asInt());
    assertFalse(stats.get("cluster_name").asText().isEmpty());
    JsonNode member = stats.get("nodes").elements().next();
    assertEquals(ES.node(0).name(), member.get("name").asText());
    assertEquals(List.of("default"), List.copyOf(iterable(member.get("models").fieldNames())), "loupe.model.path is the model [default]");
    JsonNode node = member.at("/models/default");
    assertTrue(node.at("/model/loaded").asBoolean(), node.toString());
    assertTrue(node.at("/model/kind").asText().startsWith("generative"), node.toString());
    assertTrue(node.at("/model/path").asText().endsWith("loupe-model"), node.toString());
    assertEquals("cpu", node.at("/model/device").asText());
    JsonNode docs = node.get("requests");
    long accounted = docs.get("captioned").asLong() + docs.get("embedded").asLong() + docs.get("reranked").asLong()
        + docs.get("failed").asLong() + docs.get("rejected").asLong()
        + docs.get("timed_out").asLong() + docs.get("in_flight").asLong();
    assertEquals(docs.get("submitted").asLong(), accounted, docs.toString());
    assertTrue(docs.get("captioned").asLong() >= 1);
    assertTrue(node.get("images_per_second").asDouble() > 0);
    assertTrue(node.get("tokens_per_second").asDouble() > 0);
    assertTrue(node.at("/queue/limit").asLong() > 0);
    for (String stage : List.of("image", "queue", "vision", "prefill", "decode", "total")) {
      assertTrue(node.at("/latency_ms/" + stage).isNumber(), stage);
    }
    assertTrue(node.at("/latency_ms/total").asDouble() > 0);
    assertTrue(node.at("/vision_cache/hits").isNumber() && node.at("/vision_cache/misses").isNumber());
    assertTrue(node.at("/vision_cache/misses").asLong() >= 1, "the first image ran the vision tower: " + node);

    JsonNode local = es().get("/_loupe/stats/_local");
    assertEquals(1, local.at("/_nodes/total").asInt(), local.toString());
    assertEquals(stats.get("nodes").fieldNames().next(), local.get("nodes").fieldNames().next());
  }

  @Test
  void ingestStatsCountTheProcessor() {
    es().put("/_ingest/pipeline/ic-ingest-stats", pipeline(goldenProcessor()));
    es().put("/ic-ingest-stats/_doc/1?pipeline=ic-ingest-stats", Map.of("image", rocketBase64));
    JsonNode pipelines = es().get("/_nodes/stats/ingest").get("nodes").elements().next().at("/ingest/pipelines/ic-ingest-stats");
    JsonNode processor = pipelines.at("/processors/0/image_caption");
    assertEquals("image_caption", processor.get("type").asText(), pipelines.toString());
    assertEquals(1, processor.at("/stats/count").asInt(), pipelines.toString());
    assertEquals(0, processor.at("/stats/failed").asInt());
  }

  @Test
  void decodingRunsOnTheLoupeThreadPool() {
    es().post("/_ingest/pipeline/_simulate", Map.of("pipeline", pipeline(goldenProcessor()), "docs", List.of(Map.of("_source", Map.of("image", rocketBase64)))));
    JsonNode pools = es().get("/_cat/thread_pool/loupe?format=json&h=name,type,size,queue_size,completed");
    assertEquals(1, pools.size(), pools.toString());
    assertEquals("loupe", pools.get(0).get("name").asText());
    assertEquals("fixed", pools.get(0).get("type").asText());
    assertTrue(pools.get(0).get("completed").asLong() >= 1, pools.toString());
  }

  static <T> List<T> iterable(java.util.Iterator<T> items) {
    List<T> list = new ArrayList<>();
    items.forEachRemaining(list::add);
    return list;
  }

  static JsonNode nodeStats() {
    return es().get("/_loupe/stats").get("nodes").elements().next().at("/models/default");
  }
}
