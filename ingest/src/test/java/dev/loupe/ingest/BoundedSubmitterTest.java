package dev.loupe.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.CaptionRequest;
import dev.loupe.ImageInput;
import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.Prompt;
import dev.loupe.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class BoundedSubmitterTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));

  @Test
  void neverHasMoreThanTheWindowInFlight() throws Exception {
    try (LoupeEngine engine =
        Loupe.open(TESTDATA.resolve("golden/models/tiny-tied"), Options.defaults().withThreads(2).withPixels(4096, 40960))) {
      BoundedSubmitter submitter = new BoundedSubmitter(engine, 3);
      ImageInput image = ImageInput.ofFile(TESTDATA.resolve("images/rocket.jpg"));
      List<CompletableFuture<?>> futures = new ArrayList<>();
      int maxSeen = 0;
      for (int i = 0; i < 12; i++) {
        futures.add(submitter.submit(CaptionRequest.of(image, Prompt.of("Describe."), SamplingParams.greedy(8))));
        maxSeen = Math.max(maxSeen, engine.inFlight());
      }
      submitter.drain();
      assertTrue(maxSeen <= 3, "in flight: " + maxSeen);
      for (CompletableFuture<?> f : futures) f.join();
      assertEquals(0, submitter.inFlight());
    }
  }
}
