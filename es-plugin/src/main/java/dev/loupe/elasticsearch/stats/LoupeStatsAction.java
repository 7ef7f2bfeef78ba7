package dev.loupe.elasticsearch.stats;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.FailedNodeException;
import org.elasticsearch.action.support.TransportAction;
import org.elasticsearch.action.support.nodes.BaseNodeResponse;
import org.elasticsearch.action.support.nodes.BaseNodesRequest;
import org.elasticsearch.action.support.nodes.BaseNodesResponse;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.cluster.node.DiscoveryNode;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.transport.AbstractTransportRequest;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;

/** {@code GET _loupe/stats}: every node's counters per model, gathered over the transport layer. */
public final class LoupeStatsAction {
  private LoupeStatsAction() {}

  public static final String NAME = "cluster:monitor/loupe/stats";
  public static final ActionType<Response> INSTANCE = new ActionType<>(NAME);

  /** Which nodes to ask (node ids, names or Elasticsearch's node filters; none = all). */
  public static final class Request extends BaseNodesRequest {
    public Request(String... nodeIds) {
      super(nodeIds);
    }
  }

  public static final class NodeRequest extends AbstractTransportRequest {
    public NodeRequest() {}

    public NodeRequest(StreamInput in) throws IOException {
      super(in);
    }
  }

  /** One node's models, by name. */
  public static final class NodeResponse extends BaseNodeResponse {
    private final Map<String, ModelStats> models;

    public NodeResponse(DiscoveryNode node, Map<String, ModelStats> models) {
      super(node);
      this.models = models;
    }

    public NodeResponse(StreamInput in, DiscoveryNode node) throws IOException {
      super(in, node);
      this.models = in.readOrderedMap(StreamInput::readString, ModelStats::read);
    }

    public Map<String, ModelStats> models() {
      return models;
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
      super.writeTo(out);
      out.writeMap(models, StreamOutput::writeString, (o, stats) -> stats.writeTo(o));
    }
  }

  /** {@code "nodes": {"<id>": {"name": ..., "models": {"<model>": {...}}}}} under the usual nodes header. */
  public static final class Response extends BaseNodesResponse<NodeResponse> implements ToXContentFragment {
    public Response(ClusterName clusterName, List<NodeResponse> nodes, List<FailedNodeException> failures) {
      super(clusterName, nodes, failures);
    }

    @Override
    protected List<NodeResponse> readNodesFrom(StreamInput in) throws IOException {
      return TransportAction.localOnly();
    }

    @Override
    protected void writeNodesTo(StreamOutput out, List<NodeResponse> nodes) throws IOException {
      TransportAction.localOnly();
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
      builder.startObject("nodes");
      for (NodeResponse node : getNodes()) {
        builder.startObject(node.getNode().getId());
        builder.field("name", node.getNode().getName());
        builder.startObject("models");
        for (Map.Entry<String, ModelStats> model : node.models().entrySet()) {
          builder.field(model.getKey());
          model.getValue().toXContent(builder, params);
        }
        builder.endObject();
        builder.endObject();
      }
      builder.endObject();
      return builder;
    }
  }
}
