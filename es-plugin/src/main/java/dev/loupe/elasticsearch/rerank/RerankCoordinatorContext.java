package dev.loupe.elasticsearch.rerank;

import dev.loupe.elasticsearch.inference.InferenceAction;
import dev.loupe.elasticsearch.inference.RetrievalItem;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.search.rank.context.RankFeaturePhaseRankCoordinatorContext;
import org.elasticsearch.search.rank.feature.RankFeatureDoc;

/**
 * On the coordinating node: scores the window's documents against the query with the reranker
 * (one inference request, every pair batched and sharing the query's prefix), on a node that
 * serves the model. The score is the reranker's probability that the document answers the query.
 */
final class RerankCoordinatorContext extends RankFeaturePhaseRankCoordinatorContext {
  private final Client client;
  private final RerankFields fields;

  RerankCoordinatorContext(int size, int from, int rankWindowSize, Client client, RerankFields fields) {
    super(size, from, rankWindowSize, false);
    this.client = client;
    this.fields = fields;
  }

  @Override
  protected void computeScores(RankFeatureDoc[] docs, ActionListener<float[]> listener) {
    List<RetrievalItem> documents = new ArrayList<>(docs.length);
    try {
      for (RankFeatureDoc doc : docs) documents.add(item(doc));
    } catch (IllegalArgumentException e) {
      listener.onFailure(e);
      return;
    }
    InferenceAction.Params params =
        new InferenceAction.Params(
            InferenceAction.Kind.RERANK, fields.model(), new RetrievalItem(fields.query(), null), documents, fields.instruction(), 0,
            0, false);
    client.execute(InferenceAction.INSTANCE, new InferenceAction.Request(params), listener.map(InferenceAction.Response::values));
  }

  private RetrievalItem item(RankFeatureDoc doc) {
    List<String> data = doc.featureData == null ? List.of() : doc.featureData;
    String text = data.size() > 0 ? data.get(0) : "";
    String image = data.size() > 1 ? data.get(1) : "";
    byte[] bytes = null;
    if (!image.isEmpty()) {
      try {
        bytes = Base64.getDecoder().decode(image.replaceAll("\\s+", ""));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "[loupe_rerank] field [" + fields.imageField() + "] of a document is not base64: " + e.getMessage(), e);
      }
    }
    return new RetrievalItem(text, bytes);
  }
}
