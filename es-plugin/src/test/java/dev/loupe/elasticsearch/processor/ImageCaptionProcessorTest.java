package dev.loupe.elasticsearch.processor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.TestServices;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.VersionType;
import org.elasticsearch.ingest.IngestDocument;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The processor over the real runtime and the tiny golden checkpoint, outside a node. */
class ImageCaptionProcessorTest {
  static TestServices services;
  static ModelService service;
  static ImageCaptionFactory factory;
  static JsonNode oneImage;
  static byte[] rocket;

  @BeforeAll
  static void setUp() throws Exception {
    LogConfigurator.configureESLogging();
    services = new TestServices();
    service = services.tiny(4, 16, TimeValue.timeValueMinutes(2));
    factory = new ImageCaptionFactory(TestServices.models(service), null, 0);
    JsonNode manifest = new ObjectMapper().readTree(TestServices.TESTDATA.resolve("golden/manifest.json").toFile());
    for (JsonNode c : manifest.get("cases")) {
      if (c.get("name").asText().equals("one_image")) oneImage = c;
    }
    rocket = Files.readAllBytes(TestServices.TESTDATA.resolve(oneImage.get("images").get(0).asText()));
  }

  @AfterAll
  static void tearDown() {
    service.close();
    services.close();
  }

  /** The golden one_image case as processor options: its prompt, resize budget and length. */
  static Map<String, Object> goldenOptions() {
    Map<String, Object> options = new HashMap<>();
    options.put("field", "image");
    options.put("prompt", "Describe this image.");
    options.put("min_pixels", oneImage.at("/images_kwargs/size/shortest_edge").asLong());
    options.put("max_pixels", oneImage.at("/images_kwargs/size/longest_edge").asLong());
    options.put("max_new_tokens", oneImage.at("/results/tiny-tied/num_new_tokens").asInt());
    options.put("properties", List.of("text", "tokens", "model", "prompt_tokens", "cached_tokens", "finish_reason", "timings"));
    return options;
  }

  static ImageCaptionProcessor processor(Map<String, Object> options) {
    return factory.create(Map.of(), null, null, new HashMap<>(options), null);
  }

  static IngestDocument document(Object image) {
    Map<String, Object> source = new HashMap<>();
    source.put("title", "a rocket");
    if (image != null) source.put("image", image);
    return new IngestDocument("images", "1", 1, null, VersionType.INTERNAL, source);
  }

  /** Runs the processor; returns the handler's (document, exception) pair after its one call. */
  static Object[] run(ImageCaptionProcessor processor, IngestDocument document) throws Exception {
    CompletableFuture<Object[]> result = new CompletableFuture<>();
    List<Object[]> calls = new ArrayList<>();
    processor.execute(
        document,
        (doc, error) -> {
          synchronized (calls) {
            calls.add(new Object[] {doc, error});
          }
          result.complete(new Object[] {doc, error});
        });
    Object[] outcome = result.get(60, TimeUnit.SECONDS);
    Thread.sleep(20);
    synchronized (calls) {
      assertEquals(1, calls.size(), "the handler is called exactly once");
    }
    return outcome;
  }

  static List<Integer> goldenIds() {
    List<Integer> ids = new ArrayList<>();
    oneImage.at("/results/tiny-tied/generated_ids").forEach(id -> ids.add(id.asInt()));
    return ids;
  }

  @Test
  void captionOfABase64ImageIsTheGoldenGreedyCaption() throws Exception {
    IngestDocument document = document(Base64.getEncoder().encodeToString(rocket));
    Object[] outcome = run(processor(goldenOptions()), document);
    assertNull(outcome[1]);
    assertSame(document, outcome[0]);
    assertEquals(goldenIds(), document.getFieldValue("caption.tokens", List.class));
    assertEquals("tiny-tied", document.getFieldValue("caption.model", String.class));
    assertEquals(oneImage.get("num_tokens").asInt(), document.getFieldValue("caption.prompt_tokens", Integer.class));
    assertEquals("length", document.getFieldValue("caption.finish_reason", String.class));
    assertFalse(document.getFieldValue("caption.text", String.class).isEmpty());
    assertTrue(document.getFieldValue("caption.timings.total_ms", Double.class) > 0);
    assertEquals("a rocket", document.getFieldValue("title", String.class));
    assertTrue(document.hasField("image"), "remove_binary is off by default");
  }

  @Test
  void binaryFieldAndRemoveBinary() throws Exception {
    Map<String, Object> options = goldenOptions();
    options.put("remove_binary", true);
    options.put("target_field", "result");
    options.put("properties", List.of("tokens"));
    IngestDocument document = document(rocket);
    assertNull(run(processor(options), document)[1]);
    assertEquals(goldenIds(), document.getFieldValue("result.tokens", List.class));
    assertFalse(document.hasField("image"));
    assertFalse(document.hasField("result.text"), "only the asked properties are written");
  }

  @Test
  void processorsOnTheSameImageShareItsPrefix() throws Exception {
    byte[] shapes = Files.readAllBytes(TestServices.TESTDATA.resolve("images/generated_shapes.png"));
    IngestDocument document = document(Base64.getEncoder().encodeToString(shapes));
    List<Integer> cached = new ArrayList<>();
    for (String preset : List.of("caption", "keywords", "ocr")) {
      Map<String, Object> options = new HashMap<>();
      options.put("field", "image");
      options.put("preset", preset);
      options.put("target_field", preset);
      options.put("max_new_tokens", 4);
      options.put("min_pixels", 4096);
      options.put("max_pixels", 40960);
      options.put("properties", List.of("text", "cached_tokens", "prompt_tokens"));
      assertNull(run(processor(options), document)[1]);
      cached.add(document.getFieldValue(preset + ".cached_tokens", Integer.class));
    }
    // The image and the template text before the instruction come from the radix cache.
    assertTrue(cached.get(1) > 0 && cached.get(2) > 0, "cached tokens per processor: " + cached);
    assertTrue(service.stats().cachedTokens() > 0);
  }

  @Test
  void missingField() throws Exception {
    Object[] outcome = run(processor(Map.of("field", "image")), document(null));
    assertInstanceOf(IllegalArgumentException.class, outcome[1]);
    assertTrue(((Exception) outcome[1]).getMessage().contains("field [image] not present"), ((Exception) outcome[1]).getMessage());

    IngestDocument untouched = document(null);
    outcome = run(processor(Map.of("field", "image", "ignore_missing", true)), untouched);
    assertNull(outcome[1]);
    assertFalse(untouched.hasField("caption"));
  }

  @Test
  void wrongFieldType() throws Exception {
    Object[] outcome = run(processor(Map.of("field", "image")), document(42));
    assertEquals(
        "field [image] must be a base64 string or binary to caption it, found [Integer]", ((Exception) outcome[1]).getMessage());
    outcome = run(processor(Map.of("field", "image")), document(""));
    assertEquals("field [image] is empty, cannot caption it", ((Exception) outcome[1]).getMessage());
  }

  @Test
  void documentsRefusedForTheirFieldAreCountedAsFailed() throws Exception {
    long failed = service.stats().requests().failed(), submitted = service.stats().requests().submitted();
    run(processor(Map.of("field", "image")), document(null));
    run(processor(Map.of("field", "image")), document(42));
    run(processor(Map.of("field", "image")), document(""));
    run(processor(Map.of("field", "image")), document("not base64 at all!"));
    assertEquals(failed + 4, service.stats().requests().failed());
    assertEquals(submitted + 4, service.stats().requests().submitted());
    run(processor(Map.of("field", "image", "ignore_missing", true)), document(null));  // allowed: not a failure
    assertEquals(failed + 4, service.stats().requests().failed());
  }

  @Test
  void invalidBase64() throws Exception {
    Object[] outcome = run(processor(Map.of("field", "image")), document("not base64 at all!"));
    assertInstanceOf(IllegalArgumentException.class, outcome[1]);
    assertTrue(((Exception) outcome[1]).getMessage().startsWith("field [image] is not valid base64"), ((Exception) outcome[1]).getMessage());
  }

  @Test
  void notAnImage() throws Exception {
    String text = Base64.getEncoder().encodeToString("just some text, not pixels".getBytes());
    Object[] outcome = run(processor(Map.of("field", "image")), document(text));
    assertInstanceOf(IllegalArgumentException.class, outcome[1]);
    assertTrue(((Exception) outcome[1]).getMessage().contains("[bad_image]"), ((Exception) outcome[1]).getMessage());
  }

  @Test
  void truncatedJpeg() throws Exception {
    byte[] truncated = java.util.Arrays.copyOf(rocket, rocket.length / 3);
    Object[] outcome = run(processor(Map.of("field", "image")), document(truncated));
    assertInstanceOf(IllegalArgumentException.class, outcome[1]);
    assertTrue(((Exception) outcome[1]).getMessage().contains("[bad_image]"), ((Exception) outcome[1]).getMessage());
  }

  @Test
  void hundredMegapixelImageIsRejectedFromItsHeader() throws Exception {
    Object[] outcome = run(processor(Map.of("field", "image")), document(Images.pngHeaderOnly(10_000, 10_000)));
    assertInstanceOf(IllegalArgumentException.class, outcome[1]);
    String message = ((Exception) outcome[1]).getMessage();
    assertTrue(message.contains("[limit_exceeded]") && message.contains("10000"), message);
  }
}
