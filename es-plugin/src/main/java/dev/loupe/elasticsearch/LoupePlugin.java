package dev.loupe.elasticsearch;

import dev.loupe.Loupe;
import dev.loupe.elasticsearch.captioning.CaptionService;
import dev.loupe.elasticsearch.processor.ImageCaptionFactory;
import dev.loupe.elasticsearch.processor.ImageCaptionProcessor;
import dev.loupe.elasticsearch.stats.LoupeStatsAction;
import dev.loupe.elasticsearch.stats.RestLoupeStatsAction;
import dev.loupe.elasticsearch.stats.TransportLoupeStatsAction;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.core.IOUtils;
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.ingest.Processor;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.IngestPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.threadpool.ExecutorBuilder;
import org.elasticsearch.threadpool.FixedExecutorBuilder;
import org.elasticsearch.threadpool.ThreadPool;

/**
 * Loupe's Elasticsearch plugin: the {@code image_caption} ingest processor, the node's
 * captioning service with its own thread pool, and {@code GET _loupe/stats}.
 *
 * <p>The model named by {@code loupe.model.path} starts loading in the background while the
 * node starts, once per node, shared by every pipeline; documents that arrive earlier wait
 * in the queue.
 */
public class LoupePlugin extends Plugin implements IngestPlugin, ActionPlugin {
  static final String NAME = "loupe";
  /** The plugin's thread pool: base64 and image decoding, preprocessing and submission. */
  public static final String POOL = "loupe";

  private CaptionService service;
  private NativeRuntime nativeRuntime;

  @Override
  public List<Setting<?>> getSettings() {
    return LoupeSettings.all();
  }

  @Override
  public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
    // Few threads: they only turn fields into bytes (base64) and hand documents to the engine,
    // the one place that admits or refuses them (loupe.queue.size). The hand-over queue is
    // unbounded so it never refuses first; what it can hold is bounded by the bulk bytes
    // Elasticsearch itself admits (indexing_pressure.memory.limit).
    int threads = Math.max(1, Math.min(4, EsExecutors.allocatedProcessors(settings) / 2));
    return List.of(
        new FixedExecutorBuilder(settings, POOL, threads, -1, "thread_pool." + POOL, EsExecutors.TaskTrackingConfig.DO_NOT_TRACK));
  }

  @Override
  public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
    CaptionService captions = service(parameters.env, parameters.client.threadPool());
    long maxResize = LoupeSettings.IMAGE_MAX_RESIZE_PIXELS.get(parameters.env.settings());
    return Map.of(ImageCaptionProcessor.TYPE, new ImageCaptionFactory(captions, parameters.threadContext, maxResize));
  }

  @Override
  public Collection<?> createComponents(PluginServices services) {
    return List.of(service(services.environment(), services.threadPool()));
  }

  /** The node's one service, whichever of Elasticsearch's hooks asks first. */
  private synchronized CaptionService service(Environment env, ThreadPool threadPool) {
    if (service != null) {
      return service;
    }
    Settings settings = env.settings();
    nativeRuntime = new NativeRuntime(env.pluginsDir().resolve(NAME), env.tmpDir());
    Path modelDir = LoupeSettings.modelDirectory(env);
    service =
        new CaptionService(
            modelDir,
            LoupeSettings.DEVICE_SETTING.get(settings),
            threadPool.executor(POOL),
            (task, delay) -> threadPool.schedule(task, delay, threadPool.generic())::cancel,
            System::nanoTime,
            LoupeSettings.MAX_RUNNING.get(settings),
            LoupeSettings.QUEUE_SIZE.get(settings),
            LoupeSettings.TIMEOUT.get(settings));
    NativeRuntime runtime = nativeRuntime;
    service.startLoading(
        () -> {
          runtime.ensureLoaded();
          return Loupe.open(modelDir, LoupeSettings.engineOptions(settings));
        },
        threadPool.generic());
    return service;
  }

  @Override
  public Collection<ActionHandler> getActions() {
    return List.of(new ActionHandler(LoupeStatsAction.INSTANCE, TransportLoupeStatsAction.class));
  }

  @Override
  public Collection<RestHandler> getRestHandlers(
      Settings settings,
      NamedWriteableRegistry namedWriteableRegistry,
      RestController restController,
      ClusterSettings clusterSettings,
      IndexScopedSettings indexScopedSettings,
      SettingsFilter settingsFilter,
      IndexNameExpressionResolver indexNameExpressionResolver,
      Supplier<DiscoveryNodes> nodesInCluster,
      Predicate<NodeFeature> clusterSupportsFeature) {
    return List.of(new RestLoupeStatsAction());
  }

  @Override
  public void close() {
    IOUtils.closeWhileHandlingException(service);
  }
}
