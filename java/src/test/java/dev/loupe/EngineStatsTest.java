package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The engine's counters as the Java API reports them. */
class EngineStatsTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final ImageInput ROCKET = ImageInput.ofFile(TESTDATA.resolve("images/rocket.jpg"));

  @Test
  void visionCacheAndPrefixCacheCounters() {
    try (LoupeEngine engine = Loupe.open(TESTDATA.resolve("golden/models/tiny-tied"), Options.defaults().withThreads(2).withPixels(4096, 40960))) {
      EngineStats fresh = engine.stats();
      assertEquals(0, fresh.visionCacheHits());
      assertEquals(0, fresh.visionCacheMisses());

      engine.captionNow(ROCKET, Prompt.of("Describe this image.").withSystemPrompt("First."), SamplingParams.greedy(2));
      EngineStats first = engine.stats();
      assertEquals(1, first.visionCacheMisses(), first.toString());
      assertEquals(0, first.visionCacheHits());

      // Another system prompt puts the image after different tokens: no prefix reaches it,
      // so its features must come from the vision cache.
      engine.captionNow(ROCKET, Prompt.of("Describe this image.").withSystemPrompt("Second."), SamplingParams.greedy(2));
      EngineStats second = engine.stats();
      assertEquals(1, second.visionCacheHits(), second.toString());
      assertEquals(1, second.visionCacheMisses());
      assertEquals(2, second.completed());
      assertTrue(second.prefixHitTokens() > 0, "the template's first tokens are shared: " + second);
    }
  }

  @Test
  void everyCounterArrivesByName() {
    try (LoupeEngine engine = Loupe.open(TESTDATA.resolve("golden/models/tiny-tied"), Options.defaults().withThreads(2).withPixels(4096, 40960))) {
      engine.captionNow(ROCKET, Prompt.of("Describe this image."), SamplingParams.greedy(3));
      EngineStats s = engine.stats();
      assertEquals(1, s.completed(), s.toString());
      assertEquals(0, s.failed());
      assertEquals(0, s.waiting());
      assertEquals(0, s.running());
      assertTrue(s.prefillSteps() >= 1 && s.decodeSteps() >= 1, s.toString());
      assertTrue(s.generatedTokens() >= 1 && s.generatedTokens() <= 3, s.toString());
      assertTrue(s.prefillTokens() > 0 && s.kvCapacityTokens() > 0 && s.kvCachedTokens() > 0, s.toString());
      assertEquals(s.kvCapacityTokens(), s.kvFreeTokens() + s.kvCachedTokens(), "nothing running holds KV: " + s);
      assertEquals(0, s.retractions());
    }
  }

  @Test
  void aCounterTheRuntimeDoesNotSendIsAnError() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> EngineStats.fromLines("waiting=1\nrunning=2\n"));
    assertTrue(e.getMessage().contains("[kv_capacity_tokens]"), e.getMessage());
  }
}
