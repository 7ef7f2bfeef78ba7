package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.Options;
import dev.loupe.elasticsearch.models.ModelConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.core.TimeValue;
import org.junit.jupiter.api.Test;

class LoupeSettingsTest {
  static Options engineOptions(Settings settings) {
    return ModelConfig.of(ModelConfig.DEFAULT, Path.of("model"), settings).engineOptions(settings);
  }

  @Test
  void modelsByName() {
    Settings settings =
        Settings.builder()
            .put("loupe.model.path", "captioner")
            .put("loupe.device", "cuda:0")
            .put("loupe.models.embedder.path", "/models/embed")
            .put("loupe.models.embedder.device", "cpu")
            .put("loupe.models.embedder.batch.max_running", 4)
            .put("loupe.models.reranker.path", "rerank")
            .put("loupe.models.reranker.queue.size", 8)
            .build();
    Map<String, ModelConfig> models = ModelConfig.all(settings, Path.of("/etc/es"));
    assertEquals(List.of("default", "embedder", "reranker"), List.copyOf(models.keySet()));
    assertEquals(new ModelConfig("default", Path.of("/etc/es/captioner"), "cuda:0", 0, 0, 16, 1024), models.get("default"));
    assertEquals(new ModelConfig("embedder", Path.of("/models/embed"), "cpu", 0, 0, 4, 1024), models.get("embedder"));
    assertEquals(new ModelConfig("reranker", Path.of("/etc/es/rerank"), "cuda:0", 0, 0, 16, 8), models.get("reranker"));
    Options embedder = models.get("embedder").engineOptions(settings);
    assertEquals("cpu", embedder.device());
    assertEquals(4, embedder.maxRunning());
    assertEquals("default,embedder,reranker", ModelConfig.names(models.keySet()));
  }

  @Test
  void badModelSettingsNameTheSetting() {
    IllegalArgumentException noPath =
        assertThrows(IllegalArgumentException.class,
            () -> ModelConfig.all(Settings.builder().put("loupe.models.embedder.device", "cpu").build(), Path.of("/c")));
    assertEquals("model [embedder] has settings but no [loupe.models.embedder.path]", noPath.getMessage());
    IllegalArgumentException twice =
        assertThrows(IllegalArgumentException.class,
            () -> ModelConfig.all(
                Settings.builder().put("loupe.model.path", "a").put("loupe.models.default.path", "b").build(), Path.of("/c")));
    assertTrue(twice.getMessage().contains("both name the model [default]"), twice.getMessage());
    IllegalArgumentException name =
        assertThrows(IllegalArgumentException.class,
            () -> ModelConfig.all(Settings.builder().put("loupe.models.Big.path", "a").build(), Path.of("/c")));
    assertTrue(name.getMessage().contains("model name [Big]"), name.getMessage());
    IllegalArgumentException device =
        assertThrows(IllegalArgumentException.class,
            () -> ModelConfig.all(
                Settings.builder().put("loupe.models.e.path", "a").put("loupe.models.e.device", "gpu").build(), Path.of("/c")));
    assertTrue(device.getMessage().contains("[loupe.models.e.device] must be [cpu] or [cuda:N], got [gpu]"), device.getMessage());
    assertTrue(ModelConfig.all(Settings.EMPTY, Path.of("/c")).isEmpty());
  }

  @Test
  void defaults() {
    Settings none = Settings.EMPTY;
    assertEquals("cpu", LoupeSettings.DEVICE_SETTING.get(none));
    assertEquals(0, LoupeSettings.THREADS.get(none));
    assertEquals(16, LoupeSettings.MAX_RUNNING.get(none));
    assertEquals(1024, LoupeSettings.QUEUE_SIZE.get(none));
    assertEquals(TimeValue.timeValueMinutes(5), LoupeSettings.TIMEOUT.get(none));
    assertEquals(50_000_000L, LoupeSettings.IMAGE_MAX_PIXELS.get(none), "a 100 MP image is refused by default");
    assertEquals(32L << 20, LoupeSettings.IMAGE_MAX_BYTES.get(none).getBytes());
    assertEquals("rounded", LoupeSettings.CPU_BF16_ACTIVATIONS.get(none), "the fast path, PyTorch's bf16 semantics");
    assertEquals(false, LoupeSettings.CPU_INT8_WEIGHTS.get(none));
    assertTrue(engineOptions(none).decodeGraphs(), "CUDA graphs are on unless turned off");
    assertEquals("rounded", engineOptions(none).cpuBf16Activations());
  }

  @Test
  void engineOptionsFollowTheSettings() {
    Settings settings =
        Settings.builder()
            .put("loupe.device", "cuda:1")
            .put("loupe.threads", 6)
            .put("loupe.kv_cache.size", "2gb")
            .put("loupe.batch.max_running", 8)
            .put("loupe.image.max_bytes", "4mb")
            .put("loupe.image.max_pixels", 1_000_000)
            .put("loupe.image.max_resize_pixels", 500_000)
            .put("loupe.cpu.bf16_activations", "exact")
            .put("loupe.cpu.int8_weights", true)
            .put("loupe.cuda.decode_graphs", false)
            .build();
    Options options = engineOptions(settings);
    assertEquals("cuda:1", options.device());
    assertEquals(6, options.threads());
    assertEquals(2L << 30, options.kvCacheBytes());
    assertEquals(8, options.maxRunning());
    assertEquals(1024, options.queueLimit(), "the engine queues, within loupe.queue.size");
    assertEquals(4L << 20, options.maxImageBytes());
    assertEquals(1_000_000, options.maxDecodedPixels());
    assertEquals(500_000, options.maxPixels());
    assertEquals(0, options.minPixels());
    assertEquals("exact", options.cpuBf16Activations());
    assertTrue(options.int8TextWeights());
    assertFalse(options.decodeGraphs());
  }

  @Test
  void anyOtherRuntimeOptionIsANodeSettingByItsNativeName() {
    Settings settings =
        Settings.builder().put("loupe.engine.max_batch_tokens", 4096).put("loupe.engine.prefix_cache", false).build();
    Options options = engineOptions(settings);
    assertEquals("4096", options.value("max_batch_tokens"));
    assertFalse(options.prefixCache());
    assertEquals(
        "4096", LoupeSettings.ENGINE_OPTION.getConcreteSetting("loupe.engine.max_batch_tokens").get(settings));
  }

  @Test
  void runtimeOptionsAreCheckedAgainstTheNativeCatalog() {
    IllegalArgumentException own =
        assertThrows(
            IllegalArgumentException.class,
            () -> engineOptions(Settings.builder().put("loupe.engine.threads", 4).build()));
    assertEquals("[loupe.engine.threads] is set through [loupe.threads]", own.getMessage());
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> LoupeSettings.ENGINE_OPTION.getConcreteSetting("loupe.engine.max_batch").get(Settings.builder().put("loupe.engine.max_batch", 1).build()));
    assertTrue(unknown.getMessage().contains("[loupe.engine.max_batch]: unknown option 'max_batch'"), unknown.getMessage());
    IllegalArgumentException type =
        assertThrows(
            IllegalArgumentException.class,
            () -> engineOptions(Settings.builder().put("loupe.engine.chunk_size", "big").build()));
    assertEquals("[loupe.engine.chunk_size]: option chunk_size takes a int32, not 'big'", type.getMessage());
  }

  @Test
  void invalidValuesNameTheSetting() {
    IllegalArgumentException device =
        assertThrows(IllegalArgumentException.class, () -> LoupeSettings.DEVICE_SETTING.get(Settings.builder().put("loupe.device", "gpu").build()));
    assertTrue(device.getMessage().contains("[loupe.device] must be [cpu] or [cuda:N], got [gpu]"), device.getMessage());
    IllegalArgumentException running =
        assertThrows(IllegalArgumentException.class, () -> LoupeSettings.MAX_RUNNING.get(Settings.builder().put("loupe.batch.max_running", 0).build()));
    assertTrue(running.getMessage().contains("loupe.batch.max_running"), running.getMessage());
    IllegalArgumentException timeout =
        assertThrows(IllegalArgumentException.class, () -> LoupeSettings.TIMEOUT.get(Settings.builder().put("loupe.timeout", "soon").build()));
    assertTrue(timeout.getMessage().contains("loupe.timeout"), timeout.getMessage());
    IllegalArgumentException mode =
        assertThrows(
            IllegalArgumentException.class,
            () -> LoupeSettings.CPU_BF16_ACTIVATIONS.get(Settings.builder().put("loupe.cpu.bf16_activations", "fp32").build()));
    assertTrue(mode.getMessage().contains("[loupe.cpu.bf16_activations] must be [rounded] or [exact], got [fp32]"), mode.getMessage());
  }
}
