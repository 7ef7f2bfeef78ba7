package dev.loupe.elasticsearch.models;

import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.elasticsearch.core.TimeValue;

/** ModelServices over plain JDK executors, for tests outside a node. */
public final class TestServices implements AutoCloseable {
  public static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  public static final Path TINY_TIED = TESTDATA.resolve("golden/models/tiny-tied");
  public static final Path TINY_EMBED = TESTDATA.resolve("golden/models/tiny-tied-embed");

  private final ScheduledExecutorService threads = Executors.newScheduledThreadPool(2);

  /** A service named {@code default} that has not started loading. */
  public ModelService service(Path modelDir, int maxRunning, int queueLimit, TimeValue timeout) {
    return service(ModelConfig.DEFAULT, modelDir, maxRunning, queueLimit, timeout);
  }

  public ModelService service(String name, Path modelDir, int maxRunning, int queueLimit, TimeValue timeout) {
    return new ModelService(
        new ModelConfig(name, modelDir, "cpu", 2, 0, maxRunning, queueLimit),
        threads,
        (task, delay) -> {
          var scheduled = threads.schedule(task, delay.millis(), TimeUnit.MILLISECONDS);
          return () -> scheduled.cancel(false);
        },
        System::nanoTime,
        timeout);
  }

  /** A service over the tiny golden checkpoint, loaded before it is returned. */
  public ModelService tiny(int maxRunning, int queueLimit, TimeValue timeout) {
    return loaded(ModelConfig.DEFAULT, TINY_TIED, maxRunning, queueLimit, timeout);
  }

  /** A service over {@code modelDir}, loaded before it is returned. */
  public ModelService loaded(String name, Path modelDir, int maxRunning, int queueLimit, TimeValue timeout) {
    ModelService service = service(name, modelDir, maxRunning, queueLimit, timeout);
    service.startLoading(opener(modelDir, maxRunning, queueLimit), Runnable::run);
    return service;
  }

  /** The node's models: these services by their names. */
  public static NodeModels models(ModelService... services) {
    java.util.Map<String, ModelService> byName = new java.util.LinkedHashMap<>();
    for (ModelService service : services) byName.put(service.config().name(), service);
    return new NodeModels(Map.copyOf(byName));
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
