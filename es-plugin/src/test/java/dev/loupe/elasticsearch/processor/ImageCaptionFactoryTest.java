package dev.loupe.elasticsearch.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.OutputConstraint;
import dev.loupe.PromptPreset;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.NodeModels;
import dev.loupe.elasticsearch.models.TestServices;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.elasticsearch.ElasticsearchParseException;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.core.TimeValue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Option parsing of image_caption: defaults, and one clear 400 per invalid option. */
class ImageCaptionFactoryTest {
  static TestServices services;
  static ImageCaptionFactory factory;

  @BeforeAll
  static void setUp() {
    LogConfigurator.configureESLogging();
    services = new TestServices();
    // Not loaded: parsing must not need the engine.
    ModelService service = services.service(TestServices.TINY_TIED, 1, 1, TimeValue.MINUS_ONE);
    factory = new ImageCaptionFactory(TestServices.models(service), null, 1_000_000);
  }

  @AfterAll
  static void tearDown() {
    services.close();
  }

  private static ImageCaptionProcessor create(Map<String, Object> options) {
    Map<String, Object> config = new HashMap<>(options);
    ImageCaptionProcessor processor = factory.create(Map.of(), "t1", null, config, null);
    assertTrue(config.isEmpty(), "every known option is consumed: " + config);
    return processor;
  }

  @Test
  void defaults() {
    ImageCaptionProcessor processor = create(Map.of("field", "image"));
    assertEquals("image", processor.field());
    assertEquals("caption", processor.targetField());
    assertEquals(PromptPreset.CAPTION.instruction(), processor.job().prompt().text());
    assertEquals(0f, processor.job().sampling().temperature(), "greedy by default");
    assertEquals(128, processor.job().sampling().maxNewTokens());
    assertEquals(0, processor.job().minPixels());
    assertEquals(0, processor.job().maxPixels());
    assertEquals(EnumSet.of(ResultProperty.TEXT, ResultProperty.MODEL), processor.properties());
    assertEquals(false, processor.ignoreMissing());
    assertEquals(false, processor.removeBinary());
    assertEquals("image_caption", processor.getType());
    assertEquals("t1", processor.getTag());
    assertTrue(processor.isAsync());
  }

  @Test
  void jsonSchemaAndTheTagsPresetConstrainTheAnswer() {
    Map<String, Object> properties = new LinkedHashMap<>();
    properties.put("kind", Map.of("enum", List.of("photo", "drawing")));
    properties.put("count", Map.of("type", "integer"));
    Map<String, Object> options = new HashMap<>();
    options.put("field", "f");
    options.put("prompt", "Classify it.");
    options.put("json_schema", Map.of("type", "object", "properties", properties));
    ImageCaptionProcessor custom = create(options);
    OutputConstraint constraint = custom.job().prompt().constraint();
    assertEquals(OutputConstraint.Kind.JSON_SCHEMA, constraint.kind());
    assertTrue(constraint.source().contains("\"properties\":{\"kind\":{\"enum\":[\"photo\",\"drawing\"]},\"count\""), constraint.source());
    assertEquals(EnumSet.noneOf(ResultProperty.class), custom.properties(), "the parsed answer is the target field");

    ImageCaptionProcessor tags = create(new HashMap<>(Map.of("field", "f", "preset", "tags")));
    assertEquals(PromptPreset.TAGS.instruction(), tags.job().prompt().text());
    assertEquals(PromptPreset.TAGS.jsonSchema().orElseThrow(), tags.job().prompt().constraint().source());
    assertEquals(null, create(new HashMap<>(Map.of("field", "f"))).job().prompt().constraint());
  }

  @Test
  void everyOption() {
    Map<String, Object> options = new HashMap<>();
    options.put("field", "doc.image");
    options.put("target_field", "out");
    options.put("preset", "ocr");
    options.put("max_new_tokens", 32);
    options.put("temperature", 0.7);
    options.put("top_p", "0.9");
    options.put("top_k", 20);
    options.put("repetition_penalty", 1.05);
    options.put("seed", 42L);
    options.put("min_pixels", 4096);
    options.put("max_pixels", 40960);
    options.put("ignore_missing", true);
    options.put("remove_binary", true);
    options.put("properties", List.of("text", "tokens", "timings", "cached_tokens", "prompt_tokens", "finish_reason"));
    ImageCaptionProcessor processor = create(options);
    assertEquals("out", processor.targetField());
    assertEquals(PromptPreset.OCR.instruction(), processor.job().prompt().text());
    assertEquals(32, processor.job().sampling().maxNewTokens());
    assertEquals(0.7f, processor.job().sampling().temperature());
    assertEquals(0.9f, processor.job().sampling().topP());
    assertEquals(20, processor.job().sampling().topK());
    assertEquals(1.05f, processor.job().sampling().repetitionPenalty());
    assertEquals(42L, processor.job().sampling().seed());
    assertEquals(4096, processor.job().minPixels());
    assertEquals(40960, processor.job().maxPixels());
    assertTrue(processor.ignoreMissing());
    assertTrue(processor.removeBinary());
    assertEquals(6, processor.properties().size());
  }

  @Test
  void customPrompt() {
    assertEquals("What is written here?", create(Map.of("field", "f", "prompt", "What is written here?")).job().prompt().text());
    for (PromptPreset preset : PromptPreset.values()) {
      assertEquals(preset.instruction(), create(Map.of("field", "f", "preset", preset.optionName())).job().prompt().text());
    }
  }

  @Test
  void unknownOptionsAreLeftForElasticsearchToReject() {
    Map<String, Object> config = new HashMap<>(Map.of("field", "f", "model_path", "/etc"));
    factory.create(Map.of(), null, null, config, null);
    assertEquals(Map.of("model_path", "/etc"), config);
  }

  @Test
  void aModelIsANameNeverAPath() {
    ElasticsearchParseException error =
        assertThrows(ElasticsearchParseException.class, () -> create(Map.of("field", "f", "model", "/etc")));
    assertTrue(error.getMessage().contains("[model] must name one of the node's models"), error.getMessage());
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of(Map.of(), "[field] required property is missing"),
        Arguments.of(Map.of("field", "f", "prompt", "x", "preset", "ocr"), "[prompt] cannot be combined with [preset]"),
        Arguments.of(Map.of("field", "f", "prompt", "  "), "[prompt] must not be empty"),
        Arguments.of(Map.of("field", "f", "json_schema", "{}"), "[json_schema] must be a JSON Schema object"),
        Arguments.of(Map.of("field", "f", "preset", "tags", "json_schema", Map.of("type", "object")),
            "[json_schema] cannot be combined with preset [tags], which has its own schema"),
        Arguments.of(Map.of("field", "f", "preset", "tags", "properties", List.of("text")),
            "[properties] cannot be combined with a structured answer"),
        Arguments.of(Map.of("field", "f", "preset", "poem"), "[preset] unknown preset [poem], expected one of [caption, description, keywords, ocr, tags]"),
        Arguments.of(Map.of("field", "f", "max_new_tokens", 0), "[max_new_tokens] must be between 1 and 4096, got 0"),
        Arguments.of(Map.of("field", "f", "max_new_tokens", 5000), "[max_new_tokens] must be between 1 and 4096"),
        Arguments.of(Map.of("field", "f", "max_new_tokens", "many"), "[max_new_tokens] must be a whole number, got [many]"),
        Arguments.of(Map.of("field", "f", "max_new_tokens", 2.5), "[max_new_tokens] must be a whole number, got [2.5]"),
        Arguments.of(Map.of("field", "f", "temperature", -0.1), "[temperature] must be between 0 (greedy) and 100"),
        Arguments.of(Map.of("field", "f", "temperature", "hot"), "[temperature] must be a number, got [hot]"),
        Arguments.of(Map.of("field", "f", "top_p", 0), "[top_p] must be in (0, 1]"),
        Arguments.of(Map.of("field", "f", "top_p", 1.5), "[top_p] must be in (0, 1]"),
        Arguments.of(Map.of("field", "f", "top_k", -1), "[top_k] must be between 0 and"),
        Arguments.of(Map.of("field", "f", "repetition_penalty", 0), "[repetition_penalty] must be in (0, 10]"),
        Arguments.of(Map.of("field", "f", "seed", "lucky"), "[seed] must be a whole number"),
        Arguments.of(Map.of("field", "f", "min_pixels", 0), "[min_pixels] must be between 1 and"),
        Arguments.of(Map.of("field", "f", "max_pixels", 2_000_000), "[max_pixels] must not exceed the node's [loupe.image.max_resize_pixels] (1000000)"),
        Arguments.of(Map.of("field", "f", "min_pixels", 50_000, "max_pixels", 40_000), "[min_pixels] must not exceed [max_pixels] (40000)"),
        Arguments.of(Map.of("field", "f", "properties", List.of()), "[properties] must name at least one of [text, tokens, timings, model"),
        Arguments.of(Map.of("field", "f", "properties", List.of("text", "mood")), "[properties] illegal property [mood], expected one of"),
        Arguments.of(Map.of("field", "f", "ignore_missing", "maybe"), "[ignore_missing]"));
  }

  @ParameterizedTest
  @MethodSource("invalid")
  void invalidOptionIsAConfigurationErrorNamingIt(Map<String, Object> options, String expected) {
    ElasticsearchParseException error =
        assertThrows(ElasticsearchParseException.class, () -> factory.create(Map.of(), "t1", null, new HashMap<>(options), null));
    assertTrue(error.getMessage().contains(expected), "expected [" + expected + "] in: " + error.getMessage());
    assertEquals("t1", error.getMetadata("es.processor_tag").get(0));
    assertEquals("image_caption", error.getMetadata("es.processor_type").get(0));
  }

  @Test
  void modelDirectoryWithoutConfigIsAConfigurationError(@TempDir Path empty) {
    var broken = new ImageCaptionFactory(TestServices.models(services.service(empty, 1, 1, TimeValue.MINUS_ONE)), null, 0);
    ElasticsearchParseException error =
        assertThrows(ElasticsearchParseException.class, () -> broken.create(Map.of(), null, null, new HashMap<>(Map.of("field", "f")), null));
    assertTrue(error.getMessage().contains("[loupe.model.path] model directory [" + empty + "] does not exist or has no config.json"),
        error.getMessage());
  }

  @Test
  void modelThatFailedToLoadIsAConfigurationError(@TempDir Path dir) throws Exception {
    java.nio.file.Files.writeString(dir.resolve("config.json"), "{}");
    ModelService service = services.service(dir, 1, 1, TimeValue.MINUS_ONE);
    service.startLoading(TestServices.opener(dir, 1, 1), Runnable::run);
    var broken = new ImageCaptionFactory(TestServices.models(service), null, 0);
    ElasticsearchParseException error =
        assertThrows(ElasticsearchParseException.class, () -> broken.create(Map.of(), null, null, new HashMap<>(Map.of("field", "f")), null));
    assertTrue(error.getMessage().contains("[loupe.model.path] model [default] at [" + dir + "] failed to load: "), error.getMessage());
  }

  @Test
  void nodeWithoutTheModelStillAcceptsThePipeline() {
    var noModel = new ImageCaptionFactory(new NodeModels(Map.of()), null, 0);
    assertEquals("f", noModel.create(Map.of(), null, null, new HashMap<>(Map.of("field", "f")), null).field());
    var otherModel = new ImageCaptionFactory(
        TestServices.models(services.service("embedder", TestServices.TINY_EMBED, 1, 1, TimeValue.MINUS_ONE)), null, 0);
    ImageCaptionProcessor named =
        otherModel.create(Map.of(), null, null, new HashMap<>(Map.of("field", "f", "model", "captioner")), null);
    assertEquals("captioner", named.model(), "another ingest node may serve it");
  }

  @Test
  void anEmbeddingModelCannotCaption() {
    ModelService embedder = services.loaded("embedder", TestServices.TINY_EMBED, 1, 1, TimeValue.MINUS_ONE);
    var factory = new ImageCaptionFactory(TestServices.models(embedder), null, 0);
    ElasticsearchParseException error =
        assertThrows(ElasticsearchParseException.class,
            () -> factory.create(Map.of(), null, null, new HashMap<>(Map.of("field", "f", "model", "embedder")), null));
    assertTrue(error.getMessage().contains("[model] model [embedder] is an embedding checkpoint"), error.getMessage());
    embedder.close();
  }
}
