package dev.loupe.elasticsearch.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.Caption;
import dev.loupe.LoupeEngine;
import dev.loupe.Prompt;
import dev.loupe.SamplingParams;
import dev.loupe.CaptionRequest;
import dev.loupe.EmbedRequest;
import dev.loupe.ImageInput;
import dev.loupe.LoupeFuture;
import dev.loupe.RetrievalInput;
import dev.loupe.elasticsearch.stats.ModelStats;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.elasticsearch.ElasticsearchTimeoutException;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Admission, back-pressure, deadlines, cancellation and exactly-once completion of a model's service. */
class ModelServiceTest {
  static final SamplingParams JOB = SamplingParams.greedy(3);
  static byte[] rocket;

  TestServices services;

  @BeforeAll
  static void image() throws Exception {
    LogConfigurator.configureESLogging();
    rocket = Files.readAllBytes(TestServices.TESTDATA.resolve("images/rocket.jpg"));
  }

  @BeforeEach
  void threads() {
    services = new TestServices();
  }

  @AfterEach
  void stop() {
    services.close();
  }

  /** Captions the image with a short greedy prompt, as image_caption does. */
  record CaptionTask(Supplier<byte[]> image, SamplingParams sampling) implements ModelTask<Caption> {
    @Override
    public String operation() {
      return "image_caption";
    }

    @Override
    public LoupeFuture<Caption> start(LoupeEngine engine, Duration deadline) {
      return engine.submit(
          new CaptionRequest(List.of(ImageInput.ofBytes(image.get())), Prompt.of("Describe this image."), sampling, 4096, 40960,
              deadline, null));
    }
  }

  static <T> void submit(ModelService service, Supplier<byte[]> image, SamplingParams sampling, BiConsumer<Caption, Exception> done) {
    service.submit(new CaptionTask(image, sampling), done);
  }

  static ModelStats.Requests captions(long submitted, long captioned, long failed, long rejected, long timedOut, long inFlight) {
    return new ModelStats.Requests(submitted, captioned, 0, 0, 0, failed, rejected, timedOut, inFlight);
  }

  /** Collects completions; fails the test if any document completes twice. */
  static final class Outcomes {
    final Map<Integer, Object> results = new ConcurrentHashMap<>();
    final AtomicInteger duplicates = new AtomicInteger();
    final CountDownLatch all;

    Outcomes(int count) {
      all = new CountDownLatch(count);
    }

    <T> BiConsumer<T, Exception> handler(int document) {
      return (result, error) -> {
        Object previous = results.put(document, result != null ? result : error);
        if (previous != null) duplicates.incrementAndGet();
        all.countDown();
      };
    }

    void await() throws InterruptedException {
      assertTrue(all.await(120, TimeUnit.SECONDS), "every document completes: " + results.size());
      Thread.sleep(50);
      assertEquals(0, duplicates.get(), "no document completes twice");
    }

    long count(Class<?> type) {
      return results.values().stream().filter(type::isInstance).count();
    }
  }

  @Test
  void fullQueueRejectsAndEveryDocumentCompletesOnce() throws Exception {
    ModelService service = services.service(TestServices.TINY_TIED, 2, 4, TimeValue.timeValueMinutes(2));
    CountDownLatch loaded = new CountDownLatch(1);
    Supplier<LoupeEngine> slowOpen =
        () -> {
          try {
            loaded.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return TestServices.opener(TestServices.TINY_TIED, 2, 4).get();
        };
    ExecutorService loader = Executors.newSingleThreadExecutor();
    try {
      service.startLoading(slowOpen, loader);
      Outcomes outcomes = new Outcomes(10);
      // The model is still loading: 4 documents fit the queue, 6 are rejected at once.
      for (int i = 0; i < 10; i++) submit(service, () -> rocket, JOB, outcomes.handler(i));
      assertEquals(6, outcomes.results.size());
      for (Object rejected : outcomes.results.values()) {
        assertInstanceOf(EsRejectedExecutionException.class, rejected);
        assertTrue(((Exception) rejected).getMessage().contains("queue is full"), ((Exception) rejected).getMessage());
      }
      assertEquals(4, service.stats().queue().depth());
      loaded.countDown();
      outcomes.await();
      assertEquals(4, outcomes.count(Caption.class));
      ModelStats stats = service.stats();
      assertEquals(captions(10, 4, 0, 6, 0, 0), stats.requests());
      assertTrue(stats.model().loaded());
      assertEquals(0, stats.queue().depth());
      assertEquals(4, stats.queue().limit());
      assertTrue(stats.imagesPerSecond() > 0 && stats.tokensPerSecond() > 0);
      assertTrue(stats.latencyMs().total() > 0 && stats.latencyMs().total() >= stats.latencyMs().decode());
    } finally {
      service.close();
      loader.shutdownNow();
    }
  }

  @Test
  void concurrentBurstNeverLosesADocument() throws Exception {
    ModelService service = services.tiny(2, 8, TimeValue.timeValueMinutes(2));
    ExecutorService clients = Executors.newFixedThreadPool(4);
    try {
      int documents = 40;
      Outcomes outcomes = new Outcomes(documents);
      for (int i = 0; i < documents; i++) {
        int id = i;
        clients.execute(() -> submit(service, () -> rocket, JOB, outcomes.handler(id)));
      }
      outcomes.await();
      long captioned = outcomes.count(Caption.class);
      long rejected = outcomes.count(EsRejectedExecutionException.class);
      assertEquals(documents, captioned + rejected, outcomes.results.toString());
      assertTrue(captioned >= 8, "at least a full queue is captioned: " + captioned);
      ModelStats.Requests counted = service.stats().requests();
      assertEquals(captions(documents, captioned, 0, rejected, 0, 0), counted);
    } finally {
      clients.shutdownNow();
      service.close();
    }
  }

  @Test
  void deadlineFailsADocumentThatWaitsTooLong() throws Exception {
    ModelService service = services.service(TestServices.TINY_TIED, 1, 4, TimeValue.timeValueMillis(200));
    service.startLoading(() -> { throw new AssertionError("never loads in this test"); }, task -> {});  // stays loading
    Outcomes outcomes = new Outcomes(1);
    submit(service, () -> rocket, JOB, outcomes.handler(0));
    outcomes.await();
    Object result = outcomes.results.get(0);
    assertInstanceOf(ElasticsearchTimeoutException.class, result);
    assertTrue(((Exception) result).getMessage().contains("timed out"), ((Exception) result).getMessage());
    assertTrue(((Exception) result).getMessage().contains("loupe.timeout [200ms]"), ((Exception) result).getMessage());
    ModelStats stats = service.stats();
    assertEquals(captions(1, 0, 0, 0, 1, 0), stats.requests());
    assertEquals(0, stats.queue().depth());
  }

  @Test
  void deadlinePassedInTheEngineFailsTheDocumentsWithTheSetting() throws Exception {
    // The engine owns deadlines once the model is loaded (its own tests end queued and running
    // requests there): here every document reaches it with 1 ms left and is ended by it.
    ModelService service = services.tiny(1, 4, TimeValue.timeValueMillis(1));
    Outcomes outcomes = new Outcomes(3);
    for (int i = 0; i < 3; i++) submit(service, () -> rocket, JOB, outcomes.handler(i));
    outcomes.await();
    for (Object result : outcomes.results.values()) {
      assertInstanceOf(ElasticsearchTimeoutException.class, result);
      assertTrue(((Exception) result).getMessage().contains("no result within loupe.timeout [1ms]"), ((Exception) result).getMessage());
    }
    ModelStats stats = service.stats();
    assertEquals(captions(3, 0, 0, 0, 3, 0), stats.requests());
    assertEquals(0, stats.queue().depth());
    assertEquals(0, stats.queue().running());
    service.close();
  }

  @Test
  void badImageFailsOnlyItsDocument() throws Exception {
    ModelService service = services.tiny(2, 8, TimeValue.timeValueMinutes(1));
    Outcomes outcomes = new Outcomes(3);
    submit(service, () -> rocket, JOB, outcomes.handler(0));
    submit(service, () -> "not an image".getBytes(), JOB, outcomes.handler(1));
    submit(service, () -> { throw new IllegalArgumentException("field [image] is not valid base64"); }, JOB, outcomes.handler(2));
    outcomes.await();
    assertInstanceOf(Caption.class, outcomes.results.get(0));
    assertInstanceOf(IllegalArgumentException.class, outcomes.results.get(1));
    assertTrue(((Exception) outcomes.results.get(1)).getMessage().startsWith("image_caption cannot use the image: [bad_image]"));
    assertEquals("field [image] is not valid base64", ((Exception) outcomes.results.get(2)).getMessage());
    assertEquals(captions(3, 1, 2, 0, 0, 0), service.stats().requests());
    service.close();
  }

  @Test
  void modelThatFailsToLoadFailsWaitingAndLaterDocuments(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), "{}");
    ModelService service = services.service(dir, 1, 4, TimeValue.MINUS_ONE);
    Outcomes waiting = new Outcomes(1);
    submit(service, () -> rocket, JOB, waiting.handler(0));  // arrives while loading
    service.startLoading(TestServices.opener(dir, 1, 4), Runnable::run);
    waiting.await();
    Outcomes later = new Outcomes(1);
    submit(service, () -> rocket, JOB, later.handler(0));
    later.await();
    for (Object result : List.of(waiting.results.get(0), later.results.get(0))) {
      assertInstanceOf(IllegalStateException.class, result);
      assertTrue(((Exception) result).getMessage().contains("model [default] at [" + dir + "] failed to load"), ((Exception) result).getMessage());
    }
    ModelStats stats = service.stats();
    assertTrue(!stats.model().loaded() && stats.model().error() != null, stats.model().toString());
    assertEquals(2, stats.requests().failed());
  }

  @Test
  void nodeWithoutTheModelFailsWorkWithTheReason() throws Exception {
    NodeModels models = TestServices.models(services.service("captioner", TestServices.TINY_TIED, 1, 4, TimeValue.MINUS_ONE));
    Outcomes outcomes = new Outcomes(1);
    models.submit("embedder", new CaptionTask(() -> rocket, JOB), outcomes.handler(0));
    outcomes.await();
    Exception error = (Exception) outcomes.results.get(0);
    assertEquals(
        "image_caption cannot run: this node has no model [embedder] (node setting [loupe.models.embedder.path] is not set;"
            + " models on this node: [captioner]); run it on nodes that have the model",
        error.getMessage());
  }

  @Test
  void embeddingsShareTheServiceAndAreCountedApart() throws Exception {
    ModelService service = services.loaded("embedder", TestServices.TINY_EMBED, 2, 8, TimeValue.timeValueMinutes(1));
    Outcomes outcomes = new Outcomes(2);
    for (int i = 0; i < 2; i++) {
      service.submit(
          new ModelTask<float[]>() {
            @Override
            public String operation() {
              return "image_embedding";
            }

            @Override
            public LoupeFuture<float[]> start(LoupeEngine engine, Duration deadline) {
              return engine.embed(EmbedRequest.of(RetrievalInput.image(ImageInput.ofBytes(rocket))).withTimeout(deadline));
            }
          },
          outcomes.handler(i));
    }
    outcomes.await();
    assertEquals(2, outcomes.count(float[].class));
    ModelStats stats = service.stats();
    assertEquals(new ModelStats.Requests(2, 0, 2, 0, 0, 0, 0, 0, 0), stats.requests());
    assertEquals("embedding", stats.model().kind());
    assertTrue(stats.embeddingsPerSecond() > 0 && stats.latencyMs().embed() > 0);
    service.close();
  }

  @Test
  void cancelEndsTheWorkAndFreesTheEngine() throws Exception {
    ModelService service = services.tiny(1, 4, TimeValue.MINUS_ONE);
    Outcomes outcomes = new Outcomes(1);
    CountDownLatch started = new CountDownLatch(1);
    Runnable cancel =
        service.submit(
            new CaptionTask(
                () -> {
                  started.countDown();
                  return rocket;
                },
                SamplingParams.greedy(4096)),
            outcomes.handler(0));
    assertTrue(started.await(30, TimeUnit.SECONDS));
    cancel.run();
    outcomes.await();
    assertInstanceOf(org.elasticsearch.tasks.TaskCancelledException.class, outcomes.results.get(0));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (service.stats().queue().running() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
    assertEquals(0, service.stats().queue().running(), "the engine stopped the cancelled request");
    assertEquals(1, service.stats().requests().failed());
    service.close();
  }

  @Test
  void closeCompletesDocumentsInFlight() throws Exception {
    ModelService service = services.tiny(1, 4, TimeValue.MINUS_ONE);
    Outcomes outcomes = new Outcomes(3);
    SamplingParams slow = SamplingParams.greedy(4096);
    for (int i = 0; i < 3; i++) submit(service, () -> rocket, slow, outcomes.handler(i));
    Thread.sleep(100);
    service.close();
    outcomes.await();
    assertEquals(3, outcomes.results.values().stream().filter(r -> r instanceof Exception).count() + outcomes.count(Caption.class));
    assertNotNull(service.stats());
  }
}
