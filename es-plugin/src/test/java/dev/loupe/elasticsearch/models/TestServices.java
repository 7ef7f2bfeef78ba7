package dev.loupe.elasticsearch.captioning;

import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.elasticsearch.core.TimeValue;

/** CaptionServices over plain JDK executors, for tests outside a node. */
public final class TestServices implements AutoCloseable {
  public static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  public static final Path TINY_TIED = TESTDATA.resolve("golden/models/tiny-tied");

  private final ScheduledExecutorService threads = Executors.newScheduledThreadPool(2);

  public CaptionService service(Path modelDir, int maxRunning, int queueLimit, TimeValue timeout) {
    return new CaptionService(
        modelDir,
        "cpu",
        threads,
        (task, delay) -> {
          var scheduled = threads.schedule(task, delay.millis(), TimeUnit.MILLISECONDS);
          return () -> scheduled.cancel(false);
        },
        System::nanoTime,
        maxRunning,
        queueLimit,
        timeout);
  }

  /** A service over the tiny golden checkpoint, loaded before it is returned. */
  public CaptionService tiny(int maxRunning, int queueLimit, TimeValue timeout) {
    CaptionService service = service(TINY_TIED, maxRunning, queueLimit, timeout);
    service.startLoading(opener(TINY_TIED, maxRunning, queueLimit), Runnable::run);
    return service;
  }

  /** Opens the engine with the limits the service was given, as the plugin does from its settings. */
  public static Supplier<LoupeEngine> opener(Path modelDir, int maxRunning, int queueLimit) {
    return () -> Loupe.open(modelDir, Options.defaults().withThreads(2).withMaxRunning(maxRunning).withQueueLimit(queueLimit));
  }

  @Override
  public void close() {
    threads.shutdownNow();
  }
}
