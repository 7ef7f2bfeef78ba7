package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The trained shapes model (models/shapes-tiny) through the Java API. Token-exact: on held-out
 * scenes Loupe's greedy output is HF transformers' greedy output for every product prompt.
 * Semantic: the captions and the tags (JSON) of the sample images name the shapes and colours
 * really drawn there.
 *
 * <p>{@code -Dloupe.shapes.heldout=/path/heldout.json} runs the parity cases of another export
 * (tools/shapes-model/evaluate.py --export DIR --export-count 200 for the full held-out set).
 */
class ShapesModelTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path REPO = TESTDATA.getParent();
  static final Path MODEL = REPO.resolve("models/shapes-tiny");
  static final Path EXAMPLES = REPO.resolve("examples/images");
  static final Path HELDOUT =
      Path.of(System.getProperty("loupe.shapes.heldout", TESTDATA.resolve("shapes/heldout.json").toString()));
  static final String CAPTION_PROMPT = "Write one short sentence describing this image.";
  static final String KEYWORDS_PROMPT =
      "List 5 to 10 comma-separated keywords for this image, most important first. Output only the keywords.";
  /** The tags preset's prompt (dev.loupe.PromptPreset.TAGS), answered unconstrained here. */
  static final String TAGS_PROMPT =
      "Tag this image as JSON: the objects in it, their main colours, whether it shows any text, and the scene.";
  static final List<String> COLOURS = List.of("red", "orange", "yellow", "green", "blue", "purple");
  static final List<String> SHAPES = List.of("circle", "square", "triangle", "star");

  static LoupeEngine engine;

  @BeforeAll
  static void open() {
    engine = Loupe.open(MODEL, Options.defaults().withThreads(2));
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static Stream<Arguments> heldout() throws IOException {
    JsonNode doc = new ObjectMapper().readTree(HELDOUT.toFile());
    int maxNew = doc.get("max_new_tokens").asInt();
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : doc.get("cases")) {
      List<Integer> ids = new ArrayList<>();
      c.get("hf_ids").forEach(id -> ids.add(id.asInt()));
      Path image = HELDOUT.getParent().resolve(c.get("image").asText());
      out.add(Arguments.of(image.getFileName() + " " + c.get("preset").asText(), image, c.get("prompt").asText(),
          maxNew, ids, c.get("hf_text").asText()));
    }
    assertTrue(out.size() >= 24, "held-out cases: " + out.size());
    return out.stream();
  }

  static Caption caption(Path image, String prompt, int maxNew) {
    return engine.submit(CaptionRequest.of(ImageInput.ofFile(image), Prompt.of(prompt), SamplingParams.greedy(maxNew)))
        .join();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("heldout")
  void greedyOutputIsHfGreedyOutput(String name, Path image, String prompt, int maxNew, List<Integer> hfIds,
      String hfText) {
    Caption caption = caption(image, prompt, maxNew);
    assertEquals(hfIds, caption.tokenIds(), name);
    assertEquals(hfText, caption.text(), name);
  }

  static Map<String, String> sampleCaptions() throws IOException {
    Map<String, String> truth = new TreeMap<>();
    new ObjectMapper().readTree(EXAMPLES.resolve("captions.json").toFile()).fields()
        .forEachRemaining(e -> truth.put(e.getKey(), e.getValue().asText()));
    assertTrue(truth.size() >= 6, "sample images: " + truth.size());
    return truth;
  }

  /** The colour and shape words of a text, in order. */
  static List<String> attributes(String text) {
    return Arrays.stream(text.toLowerCase().split("[^a-z]+"))
        .filter(w -> COLOURS.contains(w) || SHAPES.contains(w))
        .toList();
  }

  /** A known image: its caption and keywords name exactly what is drawn, in order. */
  @Test
  void knownImageIsDescribedCorrectly() {
    Path image = EXAMPLES.resolve("shapes_01.png");  // an orange star above a red circle
    assertEquals("An orange star above a red circle.", caption(image, CAPTION_PROMPT, 48).text());
    assertEquals(List.of("orange", "star", "red", "circle"), attributes(caption(image, KEYWORDS_PROMPT, 48).text()));
  }

  /**
   * Every sample image: the caption names its colours and shapes in order for at least 7 of
   * the 8 (HF greedy gets all 8, they are chosen so; 94 % exact on 200 unselected held-out
   * scenes), and colours, which the model never misses, are always right.
   */
  @Test
  void sampleCaptionsNameTheirShapesAndColours() throws IOException {
    Map<String, String> truth = sampleCaptions();
    List<String> wrong = new ArrayList<>();
    for (var e : truth.entrySet()) {
      String caption = caption(EXAMPLES.resolve(e.getKey()), CAPTION_PROMPT, 48).text();
      List<String> expected = attributes(e.getValue());
      assertTrue(expected.size() >= 2, e.getValue());
      assertEquals(colours(expected), colours(attributes(caption)), e.getKey() + ": \"" + caption + "\"");
      if (!expected.equals(attributes(caption))) wrong.add(e.getKey() + ": \"" + caption + "\" for \"" + e.getValue() + "\"");
    }
    assertTrue(wrong.size() <= truth.size() / 8, "wrong captions: " + wrong);
  }

  /**
   * Every sample image, tags preset without a constraint: the model writes by itself JSON with
   * the schema's keys in order, and its objects and colours are the ones drawn
   * (examples/images/tags.json; the demo images are chosen so that HF greedy tags them exactly
   * right).
   */
  @Test
  void sampleTagsNameTheirShapesAndColours() throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode truth = json.readTree(EXAMPLES.resolve("tags.json").toFile());
    assertEquals(sampleCaptions().keySet(), new TreeSet<>(names(truth.fieldNames())));
    for (var e : truth.properties()) {
      String text = caption(EXAMPLES.resolve(e.getKey()), TAGS_PROMPT, 48).text();
      JsonNode tags = json.readTree(text);
      assertEquals(List.of("objects", "colors", "text_present", "scene"), names(tags.fieldNames()), text);
      assertEquals(e.getValue().get("objects"), tags.get("objects"), e.getKey() + ": " + text);
      assertEquals(e.getValue().get("colors"), tags.get("colors"), e.getKey() + ": " + text);
      assertEquals(e.getValue().get("text_present"), tags.get("text_present"), e.getKey() + ": " + text);
    }
  }

  static List<String> names(Iterator<String> names) {
    List<String> out = new ArrayList<>();
    names.forEachRemaining(out::add);
    return out;
  }

  static List<String> colours(List<String> attributes) {
    return attributes.stream().filter(COLOURS::contains).toList();
  }
}
