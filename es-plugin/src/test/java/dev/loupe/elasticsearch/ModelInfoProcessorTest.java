package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.Loupe;
import dev.loupe.elasticsearch.processor.ModelInfoProcessor;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.index.VersionType;
import org.elasticsearch.ingest.IngestDocument;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelInfoProcessorTest {
  static final Path SKELETON_2B = Path.of(System.getProperty("loupe.testdata"), "skeleton", "qwen3-vl-2b");

  @BeforeAll
  static void esLogging() {
    // Outside a node nobody installs Elasticsearch's logger factory; exception classes need it.
    LogConfigurator.configureESLogging();
  }

  private static IngestDocument document() {
    Map<String, Object> source = new HashMap<>();
    source.put("title", "a photo");
    return new IngestDocument("images", "1", 1, null, VersionType.INTERNAL, source);
  }

  @Test
  void writesVersionAndModelFactsToTargetField() {
    AtomicInteger loads = new AtomicInteger();
    var factory = new ModelInfoProcessor.Factory(SKELETON_2B, loads::incrementAndGet);
    Map<String, Object> config = new HashMap<>(Map.of("target_field", "facts"));
    ModelInfoProcessor processor = factory.create(Map.of(), "tag", null, config, null);
    assertTrue(config.isEmpty(), "every option must be consumed: " + config);
    assertEquals(1, loads.get(), "the native library is loaded before the first document");

    IngestDocument result = processor.execute(document());
    assertEquals(Loupe.version(), result.getFieldValue("facts.loupe_version", String.class));
    assertEquals("Qwen3VLForConditionalGeneration", result.getFieldValue("facts.model.architecture", String.class));
    assertEquals(28, result.getFieldValue("facts.model.text_layers", Integer.class));
    assertEquals(3, result.getFieldValue("facts.model.deepstack_layers", Integer.class));
    assertEquals(true, result.getFieldValue("facts.model.tie_word_embeddings", Boolean.class));
    assertEquals("a photo", result.getFieldValue("title", String.class));
  }

  @Test
  void targetFieldDefaultsToLoupe() {
    var processor = new ModelInfoProcessor.Factory(SKELETON_2B, () -> {}).create(Map.of(), null, null, new HashMap<>(), null);
    assertEquals(2048, processor.execute(document()).getFieldValue("loupe.model.text_hidden_size", Integer.class));
  }

  @Test
  void unsetModelPathIsAConfigurationError() {
    var factory = new ModelInfoProcessor.Factory(null, () -> {});
    ElasticsearchException error =
        assertThrows(ElasticsearchException.class, () -> factory.create(Map.of(), "t", null, new HashMap<>(), null));
    assertTrue(error.getMessage().contains("loupe.model.path"), error.getMessage());
  }

  @Test
  void missingModelDirectoryIsAConfigurationError(@TempDir Path dir) {
    var factory = new ModelInfoProcessor.Factory(dir.resolve("absent"), () -> {});
    ElasticsearchException error =
        assertThrows(ElasticsearchException.class, () -> factory.create(Map.of(), "t", null, new HashMap<>(), null));
    assertTrue(error.getMessage().contains("does not exist"), error.getMessage());
  }

  @Test
  void nativeErrorsFailTheDocumentWithTheirKind(@TempDir Path emptyModelDir) {
    var processor = new ModelInfoProcessor.Factory(emptyModelDir, () -> {}).create(Map.of(), null, null, new HashMap<>(), null);
    IllegalStateException error = assertThrows(IllegalStateException.class, () -> processor.execute(document()));
    assertTrue(error.getMessage().startsWith("loupe [model_load]"), error.getMessage());
  }

  @Test
  void relativeModelPathResolvesAgainstConfigDir() {
    var settings = org.elasticsearch.common.settings.Settings.builder().put("loupe.model.path", "models/2b").build();
    assertEquals(Path.of("/etc/es/models/2b"), LoupeSettings.modelDirectory(settings, Path.of("/etc/es")));
    assertEquals(null, LoupeSettings.modelDirectory(org.elasticsearch.common.settings.Settings.EMPTY, Path.of("/etc/es")));
  }
}
