package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.PromptPreset;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
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
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole product on meaningful pictures: a node loads the trained shapes model (the demo's
 * default), a bulk of the sample images goes through a caption + keywords pipeline, and the
 * captions are the images' true descriptions, so a phrase search finds exactly the images that
 * show the phrase. Token-exact parity lives in ImageCaptionIT; this class catches what parity on
 * random weights cannot (a wrong image orientation, colour order or prompt would still be
 * "identical to HF" there but describe the wrong picture here).
 */
@Order(5)  // a dedicated node, with the dedicated-node classes (junit-platform.properties)
class ShapesCaptionIT {
  @RegisterExtension
  static final EsClusterExtension ES = EsClusterExtension.dedicated(ClusterSpec.nodes(1).model(TestPaths.shapesModel()));

  static final String INDEX = "shapes";
  static Map<String, String> truth;

  @BeforeAll
  static void indexTheSampleImages() throws IOException {
    truth = new TreeMap<>();
    new ObjectMapper().readTree(TestPaths.examples().resolve("captions.json").toFile()).fields()
        .forEachRemaining(e -> truth.put(e.getKey(), e.getValue().asText()));
    ES.client().put("/_ingest/pipeline/shapes", Map.of("processors", List.of(
        Map.of("image_caption", Map.of("field", "image", "preset", "caption", "max_new_tokens", 32)),
        Map.of("image_caption", Map.of("field", "image", "target_field", "keywords", "preset", "keywords",
            "max_new_tokens", 32, "remove_binary", true)))));
    indexTheImages(INDEX, "shapes");
    indexTags();
  }

  /** Every sample image into {@code index} through {@code pipeline}, in one refreshed bulk. */
  static void indexTheImages(String index, String pipeline) throws IOException {
    BulkBody bulk = new BulkBody();
    for (String name : truth.keySet()) {
      String image = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.examples().resolve(name)));
      bulk.index(index, name, Map.of("name", name, "image", image));
    }
    JsonNode response = ES.client().bulk("/_bulk?pipeline=" + pipeline + "&refresh=true", bulk);
    assertFalse(response.get("errors").asBoolean(), response.toString());
  }

  static final String TAGS_INDEX = "shapes-tags";
  static final List<String> SHAPES = List.of("circle", "square", "triangle", "star");
  static final List<String> COLOURS = List.of("red", "orange", "yellow", "green", "blue", "purple");

  /**
   * The structured-output pipeline: the tags preset (its built-in schema) and a pipeline's own
   * json_schema (the same facets narrowed to this model's vocabulary as enums), each parsed into
   * typed fields of an explicit mapping.
   */
  static void indexTags() throws IOException {
    Map<String, Object> keyword = Map.of("type", "keyword");
    ES.client().put("/" + TAGS_INDEX, Map.of("mappings", Map.of("properties", Map.of(
        "tags", Map.of("properties", Map.of(
            "objects", keyword, "colors", keyword, "text_present", Map.of("type", "boolean"), "scene", Map.of("type", "text"))),
        "facets", Map.of("properties", Map.of("objects", keyword, "colors", keyword, "count", Map.of("type", "integer")))))));
    Map<String, Object> schema = Map.of(
        "type", "object",
        "properties", orderedMap(
            "objects", Map.of("type", "array", "items", Map.of("enum", SHAPES), "minItems", 1, "maxItems", 2),
            "colors", Map.of("type", "array", "items", Map.of("enum", COLOURS), "minItems", 1, "maxItems", 2),
            "text_present", Map.of("type", "boolean"),
            "scene", Map.of("type", "string", "maxLength", 60)),
        "required", List.of("objects", "colors", "text_present", "scene"),
        "additionalProperties", false);
    ES.client().put("/_ingest/pipeline/shapes-tags", Map.of("processors", List.of(
        Map.of("image_caption", Map.of("field", "image", "target_field", "tags", "preset", "tags", "max_new_tokens", 96)),
        Map.of("image_caption", Map.of("field", "image", "target_field", "facets", "max_new_tokens", 96,
            "prompt", PromptPreset.TAGS.instruction(), "json_schema", schema, "remove_binary", true)))));
    indexTheImages(TAGS_INDEX, "shapes-tags");
  }

  static Map<String, Object> orderedMap(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    return map;
  }

  /** The shapes (one per object, in order) and the distinct colours (in order) a true caption names. */
  static List<List<String>> objectsAndColours(String caption) {
    List<String> objects = new ArrayList<>(), colours = new ArrayList<>();
    for (String word : caption.toLowerCase().replaceAll("[^a-z ]", " ").split(" +")) {
      if (SHAPES.contains(word)) objects.add(word);
      if (COLOURS.contains(word) && !colours.contains(word)) colours.add(word);
    }
    return List.of(objects, colours);
  }

  static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(v -> out.add(v.asText()));
    return out;
  }

  @Test
  void tagsPresetGivesTheTrueShapesAndColoursAsTypedFields() {
    JsonNode hits = ES.client().get("/" + TAGS_INDEX + "/_search?size=100").at("/hits/hits");
    assertEquals(truth.size(), hits.size());
    for (JsonNode hit : hits) {
      String name = hit.get("_id").asText();
      List<List<String>> expected = objectsAndColours(truth.get(name));
      for (String field : List.of("tags", "facets")) {
        JsonNode tags = hit.at("/_source/" + field);
        assertEquals(expected.get(0), strings(tags.get("objects")), name + " " + field + " objects: " + tags);
        assertEquals(expected.get(1), strings(tags.get("colors")), name + " " + field + " colors: " + tags);
        assertTrue(tags.get("text_present").isBoolean() && !tags.get("text_present").asBoolean(), name + ": " + tags);
        assertTrue(tags.get("scene").asText().endsWith("background"), name + ": " + tags);
      }
      assertFalse(hit.at("/_source").has("image"), name);
    }
  }

  @Test
  void termsAggregationsCountTheTaggedFacets() {
    Map<String, Long> colours = new TreeMap<>(), objects = new TreeMap<>();
    for (String caption : truth.values()) {
      List<List<String>> facets = objectsAndColours(caption);
      new TreeSet<>(facets.get(0)).forEach(o -> objects.merge(o, 1L, Long::sum));
      facets.get(1).forEach(c -> colours.merge(c, 1L, Long::sum));
    }
    for (String field : List.of("tags", "facets")) {
      JsonNode aggs = ES.client().post("/" + TAGS_INDEX + "/_search?size=0", Map.of("aggs", Map.of(
          "colors", Map.of("terms", Map.of("field", field + ".colors", "size", 20)),
          "objects", Map.of("terms", Map.of("field", field + ".objects", "size", 20)),
          "with_text", Map.of("filter", Map.of("term", Map.of(field + ".text_present", true))))))
          .get("aggregations");
      assertEquals(colours, buckets(aggs.at("/colors/buckets")), field + ".colors");
      assertEquals(objects, buckets(aggs.at("/objects/buckets")), field + ".objects");
      assertEquals(0, aggs.at("/with_text/doc_count").asLong(), "no sample image shows text");
    }
    // A filter on a typed facet finds exactly the images that show it.
    long red = ES.client().post("/" + TAGS_INDEX + "/_search?size=0&track_total_hits=true",
        Map.of("query", Map.of("term", Map.of("tags.colors", "red")))).at("/hits/total/value").asLong();
    assertEquals(colours.getOrDefault("red", 0L), red);
  }

  static Map<String, Long> buckets(JsonNode buckets) {
    Map<String, Long> out = new TreeMap<>();
    buckets.forEach(b -> out.put(b.get("key").asText(), b.get("doc_count").asLong()));
    return out;
  }

  @Test
  void anAnswerCutByMaxNewTokensFailsTheDocumentInsteadOfIndexingPartOfIt() throws IOException {
    String name = truth.keySet().iterator().next();
    String image = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.examples().resolve(name)));
    JsonNode simulated = ES.client().post("/_ingest/pipeline/_simulate", Map.of(
        "pipeline", Map.of("processors", List.of(Map.of("image_caption", Map.of(
            "field", "image", "target_field", "tags", "preset", "tags", "max_new_tokens", 6)))),
        "docs", List.of(Map.of("_source", Map.of("image", image))))).at("/docs/0");
    assertFalse(simulated.has("doc"), simulated.toString());
    String reason = simulated.at("/error/reason").asText();
    assertTrue(reason.contains("stopped before the answer was complete") && reason.contains("max_new_tokens [6]"), simulated.toString());
    assertEquals("illegal_argument_exception", simulated.at("/error/type").asText(), simulated.toString());
  }

  @Test
  void anInvalidJsonSchemaIsRefusedWhenThePipelineIsDefined() {
    EsResponse response = ES.client().send("PUT", "/_ingest/pipeline/bad-schema", Map.of("processors", List.of(
        Map.of("image_caption", Map.of("field", "image", "json_schema", Map.of("type", "colour"))))));
    assertEquals(400, response.status(), response.body());
    assertTrue(response.body().contains("json_schema"), response.body());
    EsResponse both = ES.client().send("PUT", "/_ingest/pipeline/bad-schema", Map.of("processors", List.of(
        Map.of("image_caption", Map.of("field", "image", "preset", "tags", "json_schema", Map.of("type", "object"))))));
    assertEquals(400, both.status(), both.body());
    assertTrue(both.body().contains("own schema"), both.body());
  }

  @Test
  void everyCaptionIsTheImagesTrueDescription() {
    JsonNode hits = ES.client().get("/" + INDEX + "/_search?size=100").at("/hits/hits");
    assertEquals(truth.size(), hits.size());
    for (JsonNode hit : hits) {
      String name = hit.get("_id").asText();
      JsonNode source = hit.get("_source");
      assertEquals(truth.get(name), source.at("/caption/text").asText(), name);
      assertEquals("loupe-model", source.at("/caption/model").asText());
      assertFalse(source.has("image"), "remove_binary drops the image after the last processor: " + name);
    }
  }

  @Test
  void keywordsNameTheShapesAndColoursOfTheImage() {
    for (JsonNode hit : ES.client().get("/" + INDEX + "/_search?size=100").at("/hits/hits")) {
      String name = hit.get("_id").asText();
      String keywords = hit.at("/_source/keywords/text").asText().toLowerCase();
      assertFalse(keywords.isBlank(), name);
      for (String word : shapeAndColourWords(truth.get(name))) {
        assertTrue(keywords.contains(word), name + ": keywords [" + keywords + "] miss [" + word + "] of [" + truth.get(name) + "]");
      }
    }
  }

  @Test
  void phraseSearchFindsExactlyTheImagesThatShowIt() {
    // Every coloured shape the sample images show, and single words: a phrase must match as a whole.
    Set<String> phrases = new TreeSet<>(List.of("triangle", "star", "purple"));
    for (String caption : truth.values()) {
      String[] words = caption.toLowerCase().replaceAll("[^a-z ]", " ").split(" +");
      for (int i = 0; i + 1 < words.length; i++) {
        if (COLOURS.contains(words[i]) && SHAPES.contains(words[i + 1])) phrases.add(words[i] + " " + words[i + 1]);
      }
    }
    for (String phrase : phrases) {
      Set<String> expected = truth.entrySet().stream()
          .filter(e -> e.getValue().toLowerCase().contains(phrase))
          .map(Map.Entry::getKey)
          .collect(Collectors.toCollection(TreeSet::new));
      assertFalse(expected.isEmpty(), "no sample image shows " + phrase);
      JsonNode hits = ES.client()
          .post("/" + INDEX + "/_search?size=100", Map.of("query", Map.of("match_phrase", Map.of("caption.text", phrase))))
          .at("/hits/hits");
      Set<String> found = new TreeSet<>();
      hits.forEach(h -> found.add(h.get("_id").asText()));
      assertEquals(expected, found, phrase);
    }
  }

  /** The colour and shape words of a true caption ("A red square to the left of ..."). */
  static Set<String> shapeAndColourWords(String caption) {
    Set<String> vocabulary = Set.of("red", "orange", "yellow", "green", "blue", "purple", "circle", "square", "triangle", "star");
    Set<String> words = new TreeSet<>();
    for (String word : caption.toLowerCase().replaceAll("[^a-z ]", " ").split(" +")) {
      if (vocabulary.contains(word)) words.add(word);
    }
    return words;
  }
}
