package dev.loupe.elasticsearch.rerank;

import java.util.ArrayList;
import java.util.List;
import org.elasticsearch.common.document.DocumentField;
import org.elasticsearch.search.SearchHit;
import org.elasticsearch.search.SearchHits;
import org.elasticsearch.search.fetch.subphase.FetchFieldsContext;
import org.elasticsearch.search.fetch.subphase.FieldAndFormat;
import org.elasticsearch.search.internal.SearchContext;
import org.elasticsearch.search.rank.RankShardResult;
import org.elasticsearch.search.rank.context.RankFeaturePhaseRankShardContext;
import org.elasticsearch.search.rank.feature.RankFeatureDoc;
import org.elasticsearch.search.rank.feature.RankFeatureShardResult;

/**
 * On each shard: fetches the text and image fields of the window's top documents, as
 * {@code [text, image]} feature data ("" for a missing one), for the coordinating node to score.
 */
final class RerankShardContext extends RankFeaturePhaseRankShardContext {
  private final RerankFields fields;

  RerankShardContext(RerankFields fields) {
    super(fields.primaryField());
    this.fields = fields;
  }

  @Override
  public void prepareForFetch(SearchContext context) {
    List<FieldAndFormat> fetch = new ArrayList<>();
    if (fields.textField() != null) fetch.add(new FieldAndFormat(fields.textField(), null));
    if (fields.imageField() != null) fetch.add(new FieldAndFormat(fields.imageField(), null));
    context.fetchFieldsContext(new FetchFieldsContext(fetch));
  }

  @Override
  public RankShardResult buildRankFeatureShardResult(SearchHits hits, int shardId) {
    SearchHit[] found = hits.getHits();
    RankFeatureDoc[] docs = new RankFeatureDoc[found.length];
    for (int i = 0; i < found.length; i++) {
      docs[i] = new RankFeatureDoc(found[i].docId(), found[i].getScore(), shardId);
      docs[i].featureData(List.of(value(found[i], fields.textField()), value(found[i], fields.imageField())));
    }
    return new RankFeatureShardResult(docs);
  }

  private static String value(SearchHit hit, String field) {
    if (field == null) return "";
    DocumentField value = hit.field(field);
    return value == null || value.getValue() == null ? "" : value.getValue().toString();
  }
}
