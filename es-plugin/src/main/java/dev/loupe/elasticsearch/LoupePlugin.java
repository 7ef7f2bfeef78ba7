package dev.loupe.elasticsearch;

import dev.loupe.Loupe;
import dev.loupe.elasticsearch.inference.InferenceAction;
import dev.loupe.elasticsearch.inference.LoupeTextEmbeddingBuilder;
import dev.loupe.elasticsearch.inference.TransportInferenceAction;
import dev.loupe.elasticsearch.models.ModelConfig;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.NodeModels;
import dev.loupe.elasticsearch.processor.ImageCaptionFactory;
import dev.loupe.elasticsearch.processor.ImageCaptionProcessor;
import dev.loupe.elasticsearch.processor.ImageEmbeddingFactory;
import dev.loupe.elasticsearch.processor.ImageEmbeddingProcessor;
import dev.loupe.elasticsearch.rerank.LoupeRerankBuilder;
import dev.loupe.elasticsearch.rerank.LoupeRerankRetrieverBuilder;
import dev.loupe.elasticsearch.stats.LoupeStatsAction;
import dev.loupe.elasticsearch.stats.RestLoupeStatsAction;
import dev.loupe.elasticsearch.stats.TransportLoupeStatsAction;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
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
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.ingest.Processor;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.IngestPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.SearchPlugin;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.search.rank.RankBuilder;
import org.elasticsearch.threadpool.ExecutorBuilder;
import org.elasticsearch.threadpool.FixedExecutorBuilder;
import org.elasticsearch.threadpool.ThreadPool;

/**
 * Loupe's Elasticsearch plugin: the {@code image_caption} and {@code image_embedding} ingest
 * processors, the {@code loupe_text_embedding} query vector builder, the {@code loupe_rerank}
 * retriever, the node's models with their own thread pool, and {@code GET _loupe/stats}.
 *
 * <p>Each model the node settings name ({@link ModelConfig}) starts loading in the background
 * while the node starts, once per node, shared by every pipeline and search; work that arrives
 * earlier waits in the queue. The node advertises its models in the node attribute
 * {@value InferenceAction#NODE_ATTRIBUTE}, so searches on other nodes can reach them.
 */
public class LoupePlugin extends Plugin implements IngestPlugin, ActionPlugin, SearchPlugin {
  static final String NAME = "loupe";
  /** The plugin's thread pool: base64 and image decoding, preprocessing and submission. */
  public static final String POOL = "loupe";

  private final Settings settings;
  private NodeModels models;
  private NativeRuntime nativeRuntime;

  public LoupePlugin(Settings settings) {
    this.settings = settings;
  }

  @Override
  public List<Setting<?>> getSettings() {
    return LoupeSettings.all();
  }

  /** {@code node.attr.loupe_models: <names>}: where the transport action finds each model. */
  @Override
  public Settings additionalSettings() {
    Map<String, ModelConfig> configured = ModelConfig.all(settings, Path.of("."));
    if (configured.isEmpty()) return Settings.EMPTY;
    return Settings.builder().put("node.attr." + InferenceAction.NODE_ATTRIBUTE, ModelConfig.names(configured.keySet())).build();
  }

  @Override
  public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
    // Few threads: they only turn fields into bytes (base64) and hand work to the engines,
    // the one place that admits or refuses it (queue.size). The hand-over queue is unbounded
    // so it never refuses first; what it can hold is bounded by the bulk bytes Elasticsearch
    // itself admits (indexing_pressure.memory.limit).
    int threads = Math.max(1, Math.min(4, EsExecutors.allocatedProcessors(settings) / 2));
    return List.of(
        new FixedExecutorBuilder(settings, POOL, threads, -1, "thread_pool." + POOL, EsExecutors.TaskTrackingConfig.DO_NOT_TRACK));
  }

  @Override
  public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
    NodeModels nodeModels = models(parameters.env, parameters.client.threadPool());
    long maxResize = LoupeSettings.IMAGE_MAX_RESIZE_PIXELS.get(parameters.env.settings());
    return Map.of(
        ImageCaptionProcessor.TYPE, new ImageCaptionFactory(nodeModels, parameters.threadContext, maxResize),
        ImageEmbeddingProcessor.TYPE, new ImageEmbeddingFactory(nodeModels, parameters.threadContext, maxResize));
  }

  @Override
  public Collection<?> createComponents(PluginServices services) {
    return List.of(models(services.environment(), services.threadPool()));
  }

  /** The node's models, whichever of Elasticsearch's hooks asks first. */
  private synchronized NodeModels models(Environment env, ThreadPool threadPool) {
    if (models != null) {
      return models;
    }
    Settings nodeSettings = env.settings();
    nativeRuntime = new NativeRuntime(env.pluginsDir().resolve(NAME), env.tmpDir());
    NativeRuntime runtime = nativeRuntime;
    Map<String, ModelService> services = new LinkedHashMap<>();
    for (ModelConfig config : ModelConfig.all(nodeSettings, env.configDir()).values()) {
      ModelService service =
          new ModelService(
              config,
              threadPool.executor(POOL),
              (task, delay) -> threadPool.schedule(task, delay, threadPool.generic())::cancel,
              System::nanoTime,
              LoupeSettings.TIMEOUT.get(nodeSettings));
      service.startLoading(
          () -> {
            runtime.ensureLoaded();
            return Loupe.open(config.path(), config.engineOptions(nodeSettings));
          },
          threadPool.generic());
      services.put(config.name(), service);
    }
    models = new NodeModels(services);
    return models;
  }

  @Override
  public List<QueryVectorBuilderSpec<?>> getQueryVectorBuilders() {
    return List.of(
        new QueryVectorBuilderSpec<>(
            LoupeTextEmbeddingBuilder.NAME, LoupeTextEmbeddingBuilder::new, LoupeTextEmbeddingBuilder::fromXContent));
  }

  @Override
  public List<RetrieverSpec<?>> getRetrievers() {
    return List.of(new RetrieverSpec<>(LoupeRerankRetrieverBuilder.NAME, LoupeRerankRetrieverBuilder::fromXContent));
  }

  @Override
  public List<NamedWriteableRegistry.Entry> getNamedWriteables() {
    return List.of(new NamedWriteableRegistry.Entry(RankBuilder.class, LoupeRerankBuilder.NAME, LoupeRerankBuilder::new));
  }

  @Override
  public Collection<ActionHandler> getActions() {
    return List.of(
        new ActionHandler(LoupeStatsAction.INSTANCE, TransportLoupeStatsAction.class),
        new ActionHandler(InferenceAction.INSTANCE, TransportInferenceAction.class));
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
    if (models != null) models.close();
  }
}
