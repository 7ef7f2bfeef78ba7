package dev.loupe.elasticsearch.stats;

import dev.loupe.elasticsearch.models.NodeModels;
import java.io.IOException;
import java.util.List;
import org.elasticsearch.action.FailedNodeException;
import org.elasticsearch.action.support.ActionFilters;
import org.elasticsearch.action.support.nodes.TransportNodesAction;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.injection.guice.Inject;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.transport.TransportService;

/** Asks each node for its models' counters (on the management pool). */
public final class TransportLoupeStatsAction
    extends TransportNodesAction<
        LoupeStatsAction.Request, LoupeStatsAction.Response, LoupeStatsAction.NodeRequest, LoupeStatsAction.NodeResponse, Void> {
  private final NodeModels models;

  @Inject
  public TransportLoupeStatsAction(
      ThreadPool threadPool,
      ClusterService clusterService,
      TransportService transportService,
      ActionFilters actionFilters,
      NodeModels models) {
    super(
        LoupeStatsAction.NAME,
        clusterService,
        transportService,
        actionFilters,
        LoupeStatsAction.NodeRequest::new,
        threadPool.executor(ThreadPool.Names.MANAGEMENT));
    this.models = models;
  }

  @Override
  protected LoupeStatsAction.Response newResponse(
      LoupeStatsAction.Request request, List<LoupeStatsAction.NodeResponse> responses, List<FailedNodeException> failures) {
    return new LoupeStatsAction.Response(clusterService.getClusterName(), responses, failures);
  }

  @Override
  protected LoupeStatsAction.NodeRequest newNodeRequest(LoupeStatsAction.Request request) {
    return new LoupeStatsAction.NodeRequest();
  }

  @Override
  protected LoupeStatsAction.NodeResponse newNodeResponse(StreamInput in, DiscoveryNode node) throws IOException {
    return new LoupeStatsAction.NodeResponse(in, node);
  }

  @Override
  protected LoupeStatsAction.NodeResponse nodeOperation(LoupeStatsAction.NodeRequest request, Task task) {
    return new LoupeStatsAction.NodeResponse(transportService.getLocalNode(), models.stats());
  }
}
