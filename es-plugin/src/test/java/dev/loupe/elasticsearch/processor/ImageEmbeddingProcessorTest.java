package dev.loupe.elasticsearch.processor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.RetrievalInput;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.TestServices;
import java.nio.file.Files;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.elasticsearch.ElasticsearchParseException;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.VersionType;
import org.elasticsearch.ingest.IngestDocument;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** image_embedding over the real runtime and the tiny embedding checkpoint, outside a node. */
class ImageEmbeddingProcessorTest {
  static TestServices services;
  static ModelService embedder;
  static ModelService captioner;
  static ImageEmbeddingFactory factory;
  static byte[] rocket;

  @BeforeAll
  static void setUp() throws Exception {
    LogConfigurator.configureESLogging();
    services = new TestServices();
    embedder = services.loaded("embedder", TestServices.TINY_EMBED, 4, 16, TimeValue.timeValueMinutes(2));
    captioner = services.loaded("default", TestServices.TINY_TIED, 1, 4, TimeValue.timeValueMinutes(2));
    factory = new ImageEmbeddingFactory(TestServices.models(embedder, captioner), null, 1_000_000);
    rocket = Files.readAllBytes(TestServices.TESTDATA.resolve("images/rocket.jpg"));
  }

  @AfterAll
  static void tearDown() {
    embedder.close();
    captioner.close();
    services.close();
  }

  static ImageEmbeddingProcessor processor(Map<String, Object> options) {
    Map<String, Object> config = new HashMap<>(options);
    ImageEmbeddingProcessor processor = factory.create(Map.of(), "e1", null, config, null);
    assertTrue(config.isEmpty(), "every known option is consumed: " + config);
    return processor;
  }

  static Object[] run(ImageEmbeddingProcessor processor, IngestDocument document) throws Exception {
    CompletableFuture<Object[]> result = new CompletableFuture<>();
    processor.execute(document, (doc, error) -> result.complete(new Object[] {doc, error}));
    return result.get(60, TimeUnit.SECONDS);
  }

  static IngestDocument document(Map<String, Object> fields) {
    return new IngestDocument("images", "1", 1, null, VersionType.INTERNAL, new HashMap<>(fields));
  }

  static float[] vector(IngestDocument document, String field) {
    List<?> values = document.getFieldValue(field, List.class);
    float[] vector = new float[values.size()];
    for (int i = 0; i < vector.length; i++) vector[i] = (Float) values.get(i);
    return vector;
  }

  /** The Java API's vector (LoupeEngine.embed) on the same engine. */
  static float[] javaApi(EmbedRequest request) {
    return Loupes.embed(embedder, request);
  }

  @Test
  void imageVectorIsTheJavaApisVector() throws Exception {
    IngestDocument document = document(Map.of("image", Base64.getEncoder().encodeToString(rocket)));
    Object[] outcome = run(processor(Map.of("field", "image", "model", "embedder")), document);
    assertNull(outcome[1]);
    assertSame(document, outcome[0]);
    float[] expected = javaApi(EmbedRequest.of(RetrievalInput.image(ImageInput.ofBytes(rocket))));
    assertArrayEquals(expected, vector(document, "embedding"), 1e-6f);
    double norm = 0;
    for (float v : expected) norm += v * v;
    assertEquals(1.0, norm, 1e-4, "unit length: dot_product similarity");
    assertTrue(document.hasField("image"));
  }

  @Test
  void textFieldDimsAndInstruction() throws Exception {
    IngestDocument document = document(Map.of("title", "a red rocket", "image", rocket));
    Object[] outcome =
        run(processor(Map.of("field", "image", "text_field", "title", "model", "embedder", "dims", 64,
            "instruction", "Represent the picture", "target_field", "vec", "remove_binary", true)), document);
    assertNull(outcome[1]);
    float[] expected =
        javaApi(new EmbedRequest(new RetrievalInput(List.of(ImageInput.ofBytes(rocket)), "a red rocket"), "Represent the picture", 64, 0, null));
    assertArrayEquals(expected, vector(document, "vec"), 1e-6f);
    assertEquals(64, expected.length);
    assertFalse(document.hasField("image"), "remove_binary");
    IngestDocument textOnly = document(Map.of("title", "a red rocket"));
    assertNull(run(processor(Map.of("text_field", "title", "model", "embedder")), textOnly)[1]);
    assertArrayEquals(javaApi(EmbedRequest.of(RetrievalInput.text("a red rocket"))), vector(textOnly, "embedding"), 1e-6f);
  }

  @Test
  void missingFieldsFailOrPassWithIgnoreMissing() throws Exception {
    Object[] failed = run(processor(Map.of("field", "image", "model", "embedder")), document(Map.of("title", "x")));
    assertInstanceOf(IllegalArgumentException.class, failed[1]);
    assertTrue(((Exception) failed[1]).getMessage().contains("[image]"), ((Exception) failed[1]).getMessage());
    IngestDocument untouched = document(Map.of("title", "x"));
    Object[] skipped = run(processor(Map.of("field", "image", "model", "embedder", "ignore_missing", true)), untouched);
    assertNull(skipped[1]);
    assertFalse(untouched.hasField("embedding"));
    Object[] bad = run(processor(Map.of("field", "image", "model", "embedder")), document(Map.of("image", "bm90IGFuIGltYWdl")));
    assertInstanceOf(IllegalArgumentException.class, bad[1]);
    assertTrue(((Exception) bad[1]).getMessage().startsWith("image_embedding cannot use the image: [bad_image]"), ((Exception) bad[1]).getMessage());
    Object[] number = run(processor(Map.of("text_field", "n", "model", "embedder")), document(Map.of("n", 3)));
    assertTrue(((Exception) number[1]).getMessage().contains("field [n] must be a string"), ((Exception) number[1]).getMessage());
  }

  @Test
  void everyBadOptionIsAConfigurationErrorNamingIt() {
    Map<Map<String, Object>, String> cases = new java.util.LinkedHashMap<>();
    cases.put(Map.of("model", "embedder"), "[field] required property is missing (or give [text_field])");
    cases.put(Map.of("field", "i", "model", "embedder", "dims", 32), "[dims] must be between 64 and 4096, got 32");
    cases.put(Map.of("field", "i", "model", "embedder", "dims", 4096), "[dims] must not exceed model [embedder]'s embedding size");
    cases.put(Map.of("field", "i", "model", "embedder", "max_pixels", 2_000_000), "[max_pixels] must not exceed the node's");
    cases.put(Map.of("field", "i", "model", "embedder", "instruction", " "), "[instruction] must not be empty");
    cases.put(Map.of("field", "i", "model", "../models"), "[model] must name one of the node's models");
    cases.put(Map.of("field", "i"), "[model] model [default] is not an embedding checkpoint");
    for (Map.Entry<Map<String, Object>, String> c : cases.entrySet()) {
      ElasticsearchParseException error =
          assertThrows(ElasticsearchParseException.class, () -> factory.create(Map.of(), "e1", null, new HashMap<>(c.getKey()), null));
      assertTrue(error.getMessage().contains(c.getValue()), c.getKey() + ": " + error.getMessage());
    }
  }

  /** The processor and the captioner decode a shared base64 field value once. */
  @Test
  void base64OfOneFieldValueIsDecodedOnce() {
    String text = Base64.getEncoder().encodeToString(rocket);
    assertSame(ImageField.decodeBase64("image", text), ImageField.decodeBase64("image", text));
  }

  /** A blocking LoupeEngine.embed call on the service's engine. */
  static final class Loupes {
    static float[] embed(ModelService service, EmbedRequest request) {
      CompletableFuture<float[]> out = new CompletableFuture<>();
      service.submit(
          new dev.loupe.elasticsearch.models.ModelTask<float[]>() {
            @Override
            public String operation() {
              return "test";
            }

            @Override
            public dev.loupe.LoupeFuture<float[]> start(dev.loupe.LoupeEngine engine, java.time.Duration deadline) {
              return engine.embed(request);
            }
          },
          (vector, error) -> {
            if (error != null) out.completeExceptionally(error);
            else out.complete(vector);
          });
      return out.join();
    }
  }
}
