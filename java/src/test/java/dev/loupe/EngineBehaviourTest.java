package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Concurrency, streaming, cancellation, every error type and close with requests in flight. */
class EngineBehaviourTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path TINY = TESTDATA.resolve("golden/models/tiny-tied");
  static final ImageInput ROCKET = ImageInput.ofFile(TESTDATA.resolve("images/rocket.jpg"));
  static final ImageInput CAT = ImageInput.ofFile(TESTDATA.resolve("images/chelsea.jpg"));
  static final Prompt DESCRIBE = Prompt.of("Describe this image.");
  static LoupeEngine engine;

  @BeforeAll
  static void open() {
    engine = Loupe.open(TINY, Options.defaults().withThreads(2).withPixels(4096, 40960));
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static Throwable failure(CaptionFuture future) {
    CompletionException e = assertThrows(CompletionException.class, future::join);
    return e.getCause();
  }

  @Test
  void manyThreadsGetTheSameCaptionsAsOneAtATime() throws Exception {
    Caption rocketAlone = engine.caption(ROCKET, DESCRIBE, SamplingParams.greedy(12)).join();
    Caption catAlone = engine.caption(CAT, DESCRIBE, SamplingParams.greedy(12)).join();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<Caption>> results = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        ImageInput image = i % 2 == 0 ? ROCKET : CAT;
        results.add(pool.submit(() -> engine.caption(image, DESCRIBE, SamplingParams.greedy(12)).join()));
      }
      for (int i = 0; i < results.size(); i++) {
        Caption expected = i % 2 == 0 ? rocketAlone : catAlone;
        assertEquals(expected.tokenIds(), results.get(i).get(60, TimeUnit.SECONDS).tokenIds(), "request " + i);
      }
    } finally {
      pool.shutdownNow();
    }
    assertTrue(engine.stats().completed() >= 26);
  }

  @Test
  void batchSubmissionReturnsFuturesInRequestOrder() {
    List<CaptionRequest> batch = new ArrayList<>();
    for (int i = 0; i < 5; i++) batch.add(CaptionRequest.of(i % 2 == 0 ? ROCKET : CAT, DESCRIBE, SamplingParams.greedy(6)));
    List<CaptionFuture> futures = engine.captionAll(batch);
    Caption rocket = engine.caption(ROCKET, DESCRIBE, SamplingParams.greedy(6)).join();
    assertEquals(5, futures.size());
    assertEquals(rocket.tokenIds(), futures.get(0).join().tokenIds());
    assertEquals(rocket.tokenIds(), futures.get(4).join().tokenIds());
  }

  @Test
  void listenerSeesEveryTokenAndTheTextInOrder() {
    List<Integer> tokens = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    CaptionRequest request =
        CaptionRequest.of(ROCKET, DESCRIBE, SamplingParams.greedy(16))
            .withListener(
                (token, delta) -> {
                  synchronized (tokens) {
                    tokens.add(token);
                    text.append(delta);
                  }
                });
    Caption caption = engine.submit(request).join();
    synchronized (tokens) {
      assertEquals(caption.tokenIds(), tokens);
      assertTrue(caption.text().startsWith(text.toString()), text + " vs " + caption.text());
    }
  }

  @Test
  void cancellingFromTheListenerStopsGeneration() {
    CaptionFuture[] self = new CaptionFuture[1];
    AtomicInteger seen = new AtomicInteger();
    CaptionRequest request =
        CaptionRequest.of(ROCKET, DESCRIBE, SamplingParams.greedy(4000))
            .withListener(
                (token, delta) -> {
                  if (seen.incrementAndGet() == 2) {
                    synchronized (self) {
                      while (self[0] == null) {
                        try {
                          self.wait();
                        } catch (InterruptedException e) {
                          return;
                        }
                      }
                    }
                    self[0].cancel(true);
                  }
                });
    CaptionFuture future = engine.submit(request);
    synchronized (self) {
      self[0] = future;
      self.notifyAll();
    }
    assertInstanceOf(CancelledException.class, failure(future));
    assertTrue(future.isCompletedExceptionally());
  }

  @Test
  void cancelledFutureReportsCancelled() {
    CaptionFuture future = engine.caption(CAT, DESCRIBE, SamplingParams.greedy(3000));
    assertTrue(future.cancel(true));
    assertInstanceOf(CancelledException.class, failure(future));
  }

  @Test
  void corruptImageIsABadImage() {
    byte[] jpeg = ROCKET.bytes();
    byte[] corrupt = Arrays.copyOf(jpeg, 200);
    Throwable error = failure(engine.caption(ImageInput.ofBytes(corrupt), DESCRIBE, SamplingParams.greedy(4)));
    assertInstanceOf(BadImageException.class, error);
    assertEquals(ErrorKind.BAD_IMAGE, ((LoupeException) error).kind());
    assertFalse(error.getMessage().isBlank());
    Throwable garbage =
        failure(engine.caption(ImageInput.ofBytes("not an image".getBytes()), DESCRIBE, SamplingParams.greedy(4)));
    assertInstanceOf(BadImageException.class, garbage);
    assertThrows(BadImageException.class, () -> ImageInput.ofBase64("%%%"));
  }

  @Test
  void imageLimitsAreEnforced() {
    try (LoupeEngine strict =
        Loupe.open(TINY, Options.defaults().withThreads(1).withImageLimits(4096, 50_000_000L, 2))) {
      Throwable tooBig = failure(strict.caption(CAT, DESCRIBE, SamplingParams.greedy(2)));
      assertInstanceOf(LimitExceededException.class, tooBig);
      ImageInput small = ImageInput.ofFile(TESTDATA.resolve("images/gen_grey_120x90.png"));
      CaptionRequest three =
          new CaptionRequest(List.of(small, small, small), DESCRIBE, SamplingParams.greedy(2), 0, 0, null, null);
      assertInstanceOf(LimitExceededException.class, failure(strict.submit(three)));
    }
  }

  @Test
  void missingModelDirectoryIsAModelLoadError(@TempDir Path dir) throws IOException {
    ModelLoadException missing =
        assertThrows(ModelLoadException.class, () -> Loupe.open(dir.resolve("absent"), Options.defaults()));
    assertTrue(missing.getMessage().contains("absent"), missing.getMessage());
    Files.writeString(dir.resolve("config.json"), "{}");
    assertThrows(ModelLoadException.class, () -> Loupe.open(dir, Options.defaults()));
  }

  @Test
  void unknownDeviceIsRefused() {
    LoupeException error =
        assertThrows(LoupeException.class, () -> Loupe.open(TINY, Options.defaults().withDevice("tpu")));
    assertTrue(error.kind() == ErrorKind.INVALID_ARGUMENT || error.kind() == ErrorKind.NO_DEVICE, error.kind() + "");
  }

  @Test
  void deadlinePassedIsATimeout() {
    CaptionRequest request =
        CaptionRequest.of(CAT, DESCRIBE, SamplingParams.greedy(4000)).withTimeout(Duration.ofMillis(30));
    assertInstanceOf(RequestTimeoutException.class, failure(engine.submit(request)));
  }

  @Test
  void closingWithRequestsInFlightCompletesThemAll() {
    LoupeEngine local = Loupe.open(TINY, Options.defaults().withThreads(1));
    List<CaptionFuture> futures = new ArrayList<>();
    for (int i = 0; i < 12; i++) futures.add(local.caption(i % 2 == 0 ? ROCKET : CAT, DESCRIBE, SamplingParams.greedy(500)));
    local.close();
    for (CaptionFuture future : futures) {
      try {
        future.join();
      } catch (CompletionException e) {
        assertInstanceOf(CancelledException.class, e.getCause());
      }
    }
    assertEquals(0, local.inFlight());
    assertInstanceOf(CancelledException.class, failure(local.caption(ROCKET, DESCRIBE, SamplingParams.greedy(2))));
    local.close();  // idempotent
  }

  @Test
  void promptLargerThanTheKvPoolIsRefusedWithItsKind() {
    try (LoupeEngine small = Loupe.open(TINY, Options.defaults().withThreads(1).withKvCacheBytes(16 * 1024))) {
      Throwable error = failure(small.caption(CAT, DESCRIBE, SamplingParams.greedy(4)));
      assertInstanceOf(LimitExceededException.class, error);
      assertTrue(error.getMessage().contains("KV pool"), error.getMessage());
    }
  }

  @Test
  void interleavedPromptNeedsOneSegmentMoreThanImages() {
    CaptionRequest wrong =
        new CaptionRequest(
            List.of(ROCKET, CAT), Prompt.interleaved(List.of("Compare ", " with it.")), SamplingParams.greedy(2), 0, 0, null, null);
    assertInstanceOf(InvalidRequestException.class, failure(engine.submit(wrong)));
    CaptionRequest right =
        new CaptionRequest(
            List.of(ROCKET, CAT), Prompt.interleaved(List.of("Compare ", " with ", ".")), SamplingParams.greedy(2), 0, 0, null, null);
    assertEquals(2, engine.submit(right).join().tokenIds().size());
  }
}
