package dev.loupe.elasticsearch.inference;

import dev.loupe.EmbedRequest;
import dev.loupe.LoupeEngine;
import dev.loupe.LoupeFuture;
import dev.loupe.ModelCapabilities;
import dev.loupe.RerankRequest;
import dev.loupe.RetrievalInput;
import dev.loupe.elasticsearch.models.ModelConfig;
import dev.loupe.elasticsearch.models.ModelService;
import dev.loupe.elasticsearch.models.ModelTask;
import dev.loupe.elasticsearch.models.NodeModels;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionListenerResponseHandler;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.ContextPreservingActionListener;
import org.elasticsearch.action.support.HandledTransportAction;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.common.util.concurrent.ThreadContext;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.CancellableTask;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportRequestOptions;
import org.elasticsearch.transport.TransportService;

/**
 * Runs {@link InferenceAction} where the model is: on this node when it serves the model,
 * otherwise on one of the nodes whose {@value InferenceAction#NODE_ATTRIBUTE} attribute lists it
 * (round robin), and with a clear error when no node does.
 */
public final class TransportInferenceAction extends HandledTransportAction<InferenceAction.Request, InferenceAction.Response> {
  private final TransportService transportService;
  private final ClusterService clusterService;
  private final NodeModels models;
  private final ThreadContext threadContext;
  private final Executor responses;
  private final AtomicInteger nextNode = new AtomicInteger();

  @Inject
  public TransportInferenceAction(
      TransportService transportService, ActionFilters actionFilters, ClusterService clusterService, NodeModels models) {
    // Direct: the work only enqueues (the model's service has its own pool and queue).
    super(InferenceAction.NAME, transportService, actionFilters, InferenceAction.Request::new, EsExecutors.DIRECT_EXECUTOR_SERVICE);
    this.transportService = transportService;
    this.clusterService = clusterService;
    this.models = models;
    ThreadPool threadPool = transportService.getThreadPool();
    this.threadContext = threadPool.getThreadContext();
    this.responses = threadPool.generic();  // results continue the search: not on a native or transport thread
  }

  @Override
  protected void doExecute(Task task, InferenceAction.Request request, ActionListener<InferenceAction.Response> listener) {
    InferenceAction.Params params = request.params();
    if (models.get(params.model()) != null || params.forwarded()) {
      runHere(task, params, new ContextPreservingActionListener<>(threadContext.newRestorableContext(false), listener));
      return;
    }
    List<DiscoveryNode> candidates = nodesServing(params.model());
    if (candidates.isEmpty()) {
      listener.onFailure(
          new IllegalArgumentException(
              "no node in the cluster serves the Loupe model [" + params.model() + "]: set [" + setting(params.model())
                  + "] on the nodes that should run it"));
      return;
    }
    DiscoveryNode target = candidates.get(Math.floorMod(nextNode.getAndIncrement(), candidates.size()));
    transportService.sendChildRequest(
        target, InferenceAction.NAME, new InferenceAction.Request(params.forward()), task, TransportRequestOptions.EMPTY,
        new ActionListenerResponseHandler<>(listener, InferenceAction.Response::new, responses));
  }

  private List<DiscoveryNode> nodesServing(String model) {
    return clusterService.state().nodes().stream()
        .filter(node -> servedBy(node, model))
        .sorted((a, b) -> a.getId().compareTo(b.getId()))
        .toList();
  }

  static boolean servedBy(DiscoveryNode node, String model) {
    String names = node.getAttributes().get(InferenceAction.NODE_ATTRIBUTE);
    return names != null && Arrays.asList(names.split(",")).contains(model);
  }

  private static String setting(String model) {
    return model.equals(ModelConfig.DEFAULT) ? "loupe.model.path" : "loupe.models." + model + ".path";
  }

  private void runHere(Task task, InferenceAction.Params params, ActionListener<InferenceAction.Response> listener) {
    String unable = unable(params);
    if (unable != null) {
      listener.onFailure(new IllegalArgumentException(unable));
      return;
    }
    ModelTask<?> work = switch (params.kind()) {
      case EMBED -> new Embed(params);
      case RERANK -> new Rerank(params);
    };
    Runnable cancel = submit(params.model(), work, listener);
    if (task instanceof CancellableTask cancellable) {
      cancellable.addListener(cancel::run);
    }
  }

  /** Why the model cannot do this kind of work (known once it has loaded), or null. */
  private String unable(InferenceAction.Params params) {
    ModelService model = models.get(params.model());
    ModelCapabilities can = model == null ? null : model.capabilities();
    if (can == null) return null;
    if (params.kind() == InferenceAction.Kind.EMBED && !can.embeddingModel()) {
      return "[" + LoupeTextEmbeddingBuilder.NAME + "] model [" + params.model()
          + "] is not an embedding checkpoint (no sentence-transformers last-token pooling): it cannot embed";
    }
    if (params.kind() == InferenceAction.Kind.RERANK && !can.canScore()) {
      return "[loupe_rerank] model [" + params.model() + "] cannot score: a reranker needs an output head and the tokens"
          + " \"yes\" and \"no\"";
    }
    return null;
  }

  private <T> Runnable submit(String model, ModelTask<T> work, ActionListener<InferenceAction.Response> listener) {
    return models.submit(
        model,
        work,
        (result, error) ->
            responses.execute(
                () -> {
                  if (error != null) listener.onFailure(error);
                  else listener.onResponse(new InferenceAction.Response(values(result)));
                }));
  }

  private static float[] values(Object result) {
    if (result instanceof float[] embedding) return embedding;
    double[] scores = (double[]) result;
    float[] values = new float[scores.length];
    for (int i = 0; i < scores.length; i++) values[i] = (float) scores[i];
    return values;
  }

  private record Embed(InferenceAction.Params params) implements ModelTask<float[]> {
    @Override
    public String operation() {
      return LoupeTextEmbeddingBuilder.NAME;
    }

    @Override
    public LoupeFuture<float[]> start(LoupeEngine engine, Duration deadline) {
      return engine.embed(
          new EmbedRequest(params.query().toInput(), params.instruction(), params.dimensions(), params.maxPixels(), deadline));
    }
  }

  private record Rerank(InferenceAction.Params params) implements ModelTask<double[]> {
    @Override
    public String operation() {
      return "loupe_rerank";
    }

    @Override
    public LoupeFuture<double[]> start(LoupeEngine engine, Duration deadline) {
      List<RetrievalInput> documents = params.documents().stream().map(RetrievalItem::toInput).toList();
      return engine.rerank(
          new RerankRequest(params.query().toInput(), documents, params.instruction(), params.maxPixels(), deadline));
    }
  }
}
