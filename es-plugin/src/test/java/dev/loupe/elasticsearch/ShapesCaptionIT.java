package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.TestPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Base64;
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
    BulkBody bulk = new BulkBody();
    for (String name : truth.keySet()) {
      String image = Base64.getEncoder().encodeToString(Files.readAllBytes(TestPaths.examples().resolve(name)));
      bulk.index(INDEX, name, Map.of("name", name, "image", image));
    }
    JsonNode response = ES.client().bulk("/_bulk?pipeline=shapes&refresh=true", bulk);
    assertFalse(response.get("errors").asBoolean(), response.toString());
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
    for (String phrase : List.of("red circle", "green square", "triangle", "star", "purple")) {
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
