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
    assertEquals("", defaults.cpuBf16Activations(), "the process environment, else rounded");
    assertFalse(defaults.int8TextWeights());
  }

  @Test
  void unknownActivationModeIsRefusedWithTheChoices() {
    IllegalArgumentException error =
        assertThrows(IllegalArgumentException.class, () -> Options.defaults().withCpuBf16Activations("bf16"));
    assertTrue(error.getMessage().contains("'rounded', 'exact' or ''"), error.getMessage());
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
    assertEquals(base, changed.withCpuBf16Activations("").withInt8TextWeights(false));
    assertTrue(base.decodeGraphs(), "CUDA decode graphs are on by default");
    Options eager = base.withDecodeGraphs(false);
    assertFalse(eager.decodeGraphs());
    assertEquals(base.threads(), eager.threads());
    assertEquals(base, eager.withDecodeGraphs(true));
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
