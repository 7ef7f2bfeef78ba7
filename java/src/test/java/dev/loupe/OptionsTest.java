package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OptionsTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));

  @Test
  void cpuNumericsDefaultToTheLibraryDefaults() {
    Options defaults = Options.defaults();
    assertEquals("rounded", defaults.cpuBf16Activations(), "PyTorch's bf16 semantics, the fast path");
    assertFalse(defaults.int8TextWeights());
  }

  @Test
  void unknownActivationModeIsRefusedWithTheChoices() {
    IllegalArgumentException error =
        assertThrows(IllegalArgumentException.class, () -> Options.defaults().withCpuBf16Activations("bf16"));
    assertTrue(error.getMessage().contains("'rounded' or 'exact'"), error.getMessage());
  }

  @Test
  void withersChangeOnlyTheirComponent() {
    Options base = Options.defaults().withThreads(3).withPixels(10, 20);
    Options changed = base.withCpuBf16Activations("exact").withInt8TextWeights(true);
    assertEquals("exact", changed.cpuBf16Activations());
    assertTrue(changed.int8TextWeights());
    assertEquals(base.withCpuBf16Activations("exact").withInt8TextWeights(true), changed);
    assertEquals(3, changed.threads());
    assertEquals(20, changed.maxPixels());
    assertEquals(base, changed.withCpuBf16Activations("rounded").withInt8TextWeights(false));
    assertTrue(base.decodeGraphs(), "CUDA decode graphs are on by default");
    Options eager = base.withDecodeGraphs(false);
    assertFalse(eager.decodeGraphs());
    assertEquals(base.threads(), eager.threads());
    assertEquals(base, eager.withDecodeGraphs(true));
  }

  @Test
  void everyNativeOptionIsDescribedWithItsNativeDefault() {
    java.util.Map<String, OptionDescription> byName = new java.util.HashMap<>();
    for (OptionDescription d : Options.descriptions()) byName.put(d.name(), d);
    assertEquals("64", byName.get("max_running").defaultValue());
    assertEquals(64, Options.defaults().maxRunning());
    assertEquals(32L << 20, Options.defaults().maxImageBytes());
    assertEquals("int64", byName.get("vision_cache_bytes").type());
    assertTrue(byName.containsKey("max_batch_tokens"), "options without a typed wither are reachable by name");
    assertEquals(java.util.List.of("rounded", "exact"), byName.get("cpu_bf16_activations").choices());
    assertEquals(java.util.List.of("fast", "generic"), byName.get("cuda_attention").choices());
  }

  @Test
  void anyOptionIsSetByNameAndCheckedByType() {
    Options o = Options.defaults().with("max_batch_tokens", 4096).with("kv_cache_fraction", "0.5").with("prefix_cache", "false");
    assertEquals("4096", o.value("max_batch_tokens"));
    assertEquals("0.5", o.value("kv_cache_fraction"));
    assertFalse(o.prefixCache());
    assertEquals(Options.defaults().withPrefixCache(false).with("max_batch_tokens", "4096").with("kv_cache_fraction", 0.5), o);
    assertTrue(o.nativeLines().contains("max_batch_tokens=4096\n"), o.nativeLines());
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> o.with("max_batch", 1));
    assertTrue(unknown.getMessage().startsWith("unknown option 'max_batch'"), unknown.getMessage());
    IllegalArgumentException type = assertThrows(IllegalArgumentException.class, () -> o.with("threads", "many"));
    assertEquals("option threads takes a int32, not 'many'", type.getMessage());
    assertThrows(IllegalArgumentException.class, () -> o.with("prefix_cache", 1));
    assertThrows(IllegalArgumentException.class, () -> o.with("prefix_cache", "yes"));
  }

  /** An option with no wither of its own reaches the native library by name: max_side refuses a wide image. */
  @Test
  void optionsByNameReachTheNativeLibrary() {
    Path model = TESTDATA.resolve("golden/models/tiny-tied");
    ImageInput image = ImageInput.ofFile(TESTDATA.resolve("images/gen_grey_120x90.png"));
    try (LoupeEngine engine = Loupe.open(model, Options.defaults().withThreads(1).with("max_side", 100))) {
      java.util.concurrent.CompletionException error =
          assertThrows(
              java.util.concurrent.CompletionException.class,
              () -> engine.submit(CaptionRequest.of(image, Prompt.of("Describe."), SamplingParams.greedy(2)).withPixels(4096, 40960)).join());
      assertTrue(error.getCause() instanceof LimitExceededException, String.valueOf(error.getCause()));
    }
    LoupeException refused =
        assertThrows(LoupeException.class, () -> Loupe.open(model, Options.defaults().with("kv_cache_bytes", -1L)));
    assertTrue(refused.getMessage().contains("option kv_cache_bytes must be a non-negative integer"), refused.getMessage());
  }

  /** The int8 option reaches the native loader: the bf16 checkpoint is quantised and still captions. */
  @Test
  void int8TextWeightsOpenAndCaption() {
    Path model = TESTDATA.resolve("golden/models/tiny-untied");
    try (LoupeEngine engine = Loupe.open(model, Options.defaults().withThreads(2).withInt8TextWeights(true))) {
      Caption caption =
          engine
              .submit(
                  CaptionRequest.of(
                          ImageInput.ofFile(TESTDATA.resolve("images/rocket.jpg")), Prompt.of("Describe."), SamplingParams.greedy(6))
                      .withPixels(4096, 40960))
              .join();
      assertTrue(caption.tokenIds().size() >= 1 && caption.tokenIds().size() <= 6, caption.tokenIds().toString());
    }
  }
}
