package dev.loupe.elasticsearch.rerank;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.Query;
import org.elasticsearch.TransportVersion;
import org.elasticsearch.TransportVersions;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.search.rank.RankBuilder;
import org.elasticsearch.search.rank.RankDoc;
import org.elasticsearch.search.rank.context.QueryPhaseRankCoordinatorContext;
import org.elasticsearch.search.rank.context.QueryPhaseRankShardContext;
import org.elasticsearch.search.rank.context.RankFeaturePhaseRankCoordinatorContext;
import org.elasticsearch.search.rank.context.RankFeaturePhaseRankShardContext;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * The rank feature phase of {@code loupe_rerank}, added to the inner retriever's search: shards
 * return the window's fields ({@link RerankShardContext}), the coordinating node scores them
 * ({@link RerankCoordinatorContext}). The query phase is the inner retriever's own.
 */
public final class LoupeRerankBuilder extends RankBuilder {
  public static final String NAME = LoupeRerankRetrieverBuilder.NAME;

  private final RerankFields fields;

  LoupeRerankBuilder(int rankWindowSize, RerankFields fields) {
    super(rankWindowSize);
    this.fields = fields;
  }

  public LoupeRerankBuilder(StreamInput in) throws IOException {
    super(in);
    this.fields = RerankFields.read(in);
  }

  @Override
  protected void doWriteTo(StreamOutput out) throws IOException {
    fields.writeTo(out);
  }

  @Override
  public String getWriteableName() {
    return NAME;
  }

  @Override
  public TransportVersion getMinimalSupportedVersion() {
    return TransportVersions.V_8_15_0;  // a plugin cannot add a transport version; every 9.x node reads this one
  }

  @Override
  protected void doXContent(XContentBuilder builder, Params params) throws IOException {
    builder.field("model", fields.model());
    builder.field("query", fields.query());
    if (fields.textField() != null) builder.field("field", fields.textField());
    if (fields.imageField() != null) builder.field("image_field", fields.imageField());
    if (fields.instruction() != null) builder.field("instruction", fields.instruction());
  }

  @Override
  public boolean isCompoundBuilder() {
    return false;
  }

  @Override
  public Explanation explainHit(Explanation baseExplanation, RankDoc doc, List<String> queryNames) {
    if (doc == null || !baseExplanation.isMatch()) return baseExplanation;
    return Explanation.match(
        doc.score, "loupe_rerank: rank [" + doc.rank + "], reranker [" + fields.model() + "] probability [" + doc.score + "]",
        baseExplanation);
  }

  @Override
  public QueryPhaseRankShardContext buildQueryPhaseShardContext(List<Query> queries, int from) {
    return null;  // the inner retriever's query phase, unchanged
  }

  @Override
  public QueryPhaseRankCoordinatorContext buildQueryPhaseCoordinatorContext(int size, int from) {
    return null;
  }

  @Override
  public RankFeaturePhaseRankShardContext buildRankFeaturePhaseShardContext() {
    return new RerankShardContext(fields);
  }

  @Override
  public RankFeaturePhaseRankCoordinatorContext buildRankFeaturePhaseCoordinatorContext(int size, int from, Client client) {
    return new RerankCoordinatorContext(size, from, rankWindowSize(), client, fields);
  }

  @Override
  protected boolean doEquals(RankBuilder other) {
    return fields.equals(((LoupeRerankBuilder) other).fields);
  }

  @Override
  protected int doHashCode() {
    return fields.hashCode();
  }
}
