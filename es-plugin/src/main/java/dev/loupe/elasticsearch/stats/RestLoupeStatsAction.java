package dev.loupe.elasticsearch.stats;

import static org.elasticsearch.rest.RestRequest.Method.GET;

import java.util.List;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.common.Strings;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.action.RestActions;

/** {@code GET _loupe/stats} and {@code GET _loupe/stats/<node filters>}. */
public final class RestLoupeStatsAction extends BaseRestHandler {
  @Override
  public String getName() {
    return "loupe_stats_action";
  }

  @Override
  public List<Route> routes() {
    return List.of(new Route(GET, "/_loupe/stats"), new Route(GET, "/_loupe/stats/{nodeId}"));
  }

  @Override
  protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
    String[] nodeIds = Strings.splitStringByCommaToArray(request.param("nodeId"));
    LoupeStatsAction.Request statsRequest = new LoupeStatsAction.Request(nodeIds);
    return channel -> client.execute(LoupeStatsAction.INSTANCE, statsRequest, new RestActions.NodesResponseRestListener<>(channel));
  }
}
