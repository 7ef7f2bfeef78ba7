package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.processor.Images;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsResponse;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile and broken input against a real node: each bad document fails alone with a reason
 * that says why (so on_failure, ignore_failure and client retries work), bad processor
 * configs are a 400 naming the option, and the node keeps captioning afterwards.
 */
@Order(3)  // single-node classes first, sharing one node (junit-platform.properties)
class BadInputIT {
  @RegisterExtension static final EsClusterExtension ES = EsClusterExtension.shared(ClusterSpec.nodes(1));

  static String rocket;

  @BeforeAll
  static void pipelines() throws Exception {
    byte[] jpeg = Files.readAllBytes(TestPaths.testdata().resolve("images/rocket.jpg"));
    rocket = Base64.getEncoder().encodeToString(jpeg);
    es().put("/_ingest/pipeline/bad-strict", pipeline(options()));
    Map<String, Object> lenient = options();
    lenient.put("ignore_missing", true);
    es().put("/_ingest/pipeline/bad-lenient", pipeline(lenient));
    Map<String, Object> ignoring = options();
    ignoring.put("ignore_failure", true);
    es().put("/_ingest/pipeline/bad-ignoring", pipeline(ignoring));
  }

  static EsClient es() {
    return ES.client();
  }

  static Map<String, Object> options() {
    Map<String, Object> options = new LinkedHashMap<>();
    options.put("field", "image");
    options.put("min_pixels", 4096);
    options.put("max_pixels", 40960);
    options.put("max_new_tokens", 4);
    return options;
  }

  static Map<String, Object> pipeline(Map<String, Object> processor) {
    return Map.of("processors", List.of(Map.of("image_caption", processor)));
  }

  /** Indexes one document per entry in one bulk; returns the items by id. */
  static Map<String, JsonNode> bulk(String pipeline, Map<String, Map<String, Object>> documents) {
    BulkBody body = new BulkBody();
    documents.forEach((id, source) -> body.index("bad-input", id, source));
    JsonNode response = es().bulk("/_bulk?refresh=true&pipeline=" + pipeline, body);
    Map<String, JsonNode> items = new HashMap<>();
    response.get("items").forEach(item -> items.put(item.at("/index/_id").asText(), item.get("index")));
    assertEquals(documents.size(), items.size(), response.toString());
    return items;
  }

  static void assertFailed(JsonNode item, int status, String reasonPart) {
    assertEquals(status, item.get("status").asInt(), item.toString());
    String reason = item.at("/error/reason").asText() + " " + item.at("/error/caused_by/reason").asText();
    assertTrue(reason.contains(reasonPart), "expected [" + reasonPart + "] in " + item);
  }

  /** Indexed (201 created, or 200 when a test indexes the same id again). */
  static void assertIndexed(JsonNode item) {
    assertTrue(item.get("status").asInt() == 201 || item.get("status").asInt() == 200, item.toString());
    assertFalse(item.has("error"), item.toString());
  }

  @Test
  void badDocumentsFailAloneWithTheirReason() {
    String truncated = Base64.getEncoder().encodeToString(Arrays.copyOf(Base64.getDecoder().decode(rocket), 2000));
    Map<String, Map<String, Object>> docs = new LinkedHashMap<>();
    docs.put("good-1", Map.of("image", rocket));
    docs.put("not-an-image", Map.of("image", Base64.getEncoder().encodeToString("plain text, not pixels".getBytes())));
    docs.put("truncated-jpeg", Map.of("image", truncated));
    docs.put("100-megapixels", Map.of("image", Base64.getEncoder().encodeToString(Images.pngHeaderOnly(10_000, 10_000))));
    docs.put("not-base64", Map.of("image", "%%% definitely not base64 %%%"));
    docs.put("missing-field", Map.of("title", "no image here"));
    docs.put("wrong-type", Map.of("image", 12345));
    docs.put("object-type", Map.of("image", Map.of("url", "http://example.com/a.jpg")));
    docs.put("good-2", Map.of("image", rocket));
    Map<String, JsonNode> items = bulk("bad-strict", docs);

    assertIndexed(items.get("good-1"));
    assertIndexed(items.get("good-2"));
    assertFailed(items.get("not-an-image"), 400, "[bad_image]");
    assertFailed(items.get("truncated-jpeg"), 400, "[bad_image]");
    assertFailed(items.get("100-megapixels"), 400, "[limit_exceeded]");
    assertFailed(items.get("not-base64"), 400, "field [image] is not valid base64");
    assertFailed(items.get("missing-field"), 400, "field [image] not present as part of path [image]");
    assertFailed(items.get("wrong-type"), 400, "field [image] must be a base64 string or binary to caption it, found [Integer]");
    assertFailed(items.get("object-type"), 400, "must be a base64 string or binary");

    JsonNode good = es().get("/bad-input/_doc/good-2").get("_source");
    assertFalse(good.at("/caption/text").asText().isEmpty(), good.toString());
    assertEquals("loupe-model", good.at("/caption/model").asText());
  }

  @Test
  void ignoreMissingIndexesWithoutCaption() {
    Map<String, JsonNode> items = bulk("bad-lenient", Map.of("lenient-missing", Map.of("title", "text only"), "lenient-null", new HashMap<>(Map.of("title", "null image"))));
    assertIndexed(items.get("lenient-missing"));
    JsonNode source = es().get("/bad-input/_doc/lenient-missing").get("_source");
    assertEquals("text only", source.get("title").asText());
    assertFalse(source.has("caption"));
  }

  @Test
  void ignoreFailureIndexesTheDocumentAnyway() {
    Map<String, JsonNode> items = bulk("bad-ignoring", Map.of("ignored-bad", Map.of("title", "broken", "image", "aGVsbG8=")));
    assertIndexed(items.get("ignored-bad"));
    assertFalse(es().get("/bad-input/_doc/ignored-bad").get("_source").has("caption"));
  }

  @Test
  void invalidProcessorConfigIsA400NamingTheOption() {
    Map<String, Map<String, Object>> cases = new LinkedHashMap<>();
    cases.put("[preset] unknown preset [poem]", Map.of("field", "image", "preset", "poem"));
    cases.put("[field] required property is missing", Map.of("preset", "ocr"));
    cases.put("[prompt] cannot be combined with [preset]", Map.of("field", "image", "prompt", "Read it.", "preset", "ocr"));
    cases.put("[max_new_tokens] must be between 1 and 4096", Map.of("field", "image", "max_new_tokens", 0));
    cases.put("[properties] illegal property [mood]", Map.of("field", "image", "properties", List.of("mood")));
    cases.put(
        "[model] must name one of the node's models (loupe.models.<name>.path in elasticsearch.yml), got [/etc/passwd]",
        Map.of("field", "image", "model", "/etc/passwd"));
    cases.put(
        "processor [image_caption] doesn't support one or more provided configuration parameters [model_path]",
        Map.of("field", "image", "model_path", "/etc/passwd"));
    cases.forEach(
        (expected, processor) -> {
          EsResponse response = es().send("PUT", "/_ingest/pipeline/bad-config", pipeline(processor));
          assertEquals(400, response.status(), response.body());
          assertTrue(response.body().contains(expected), "expected [" + expected + "] in " + response.body());
        });
    assertEquals(404, es().send("GET", "/_ingest/pipeline/bad-config", null).status(), "no invalid pipeline was stored");
  }

  @Test
  void nodeKeepsServingAfterBadInput() {
    badDocumentsFailAloneWithTheirReason();
    // One node: the replica stays unassigned, so yellow is as healthy as it gets.
    assertEquals("yellow", es().get("/_cluster/health/bad-input?wait_for_status=yellow&timeout=30s").get("status").asText());
    es().put("/bad-input/_doc/after?pipeline=bad-strict&refresh=true", Map.of("image", rocket));
    assertFalse(es().get("/bad-input/_doc/after").at("/_source/caption/text").asText().isEmpty());
    JsonNode stats = es().get("/_loupe/stats").get("nodes").elements().next().at("/models/default");
    assertTrue(stats.at("/model/loaded").asBoolean());
    // Every failed document is counted, field errors (missing, wrong type, empty) included:
    // as many as the processor's own _nodes/stats/ingest counter.
    JsonNode processor =
        es().get("/_nodes/stats/ingest").get("nodes").elements().next().at("/ingest/pipelines/bad-strict/processors/0/image_caption/stats");
    assertTrue(processor.get("failed").asLong() >= 7, processor.toString());
    assertTrue(stats.at("/requests/failed").asLong() >= processor.get("failed").asLong(), stats + " vs " + processor);
  }
}
