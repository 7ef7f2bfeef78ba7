package dev.loupe.elasticsearch.rerank;

import static org.elasticsearch.xcontent.ConstructingObjectParser.constructorArg;
import static org.elasticsearch.xcontent.ConstructingObjectParser.optionalConstructorArg;

import dev.loupe.elasticsearch.models.ModelConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.search.ScoreDoc;
import org.elasticsearch.index.query.QueryBuilder;
import org.elasticsearch.search.builder.SearchSourceBuilder;
import org.elasticsearch.search.rank.RankDoc;
import org.elasticsearch.search.retriever.CompoundRetrieverBuilder;
import org.elasticsearch.search.retriever.RetrieverBuilder;
import org.elasticsearch.search.retriever.RetrieverParserContext;
import org.elasticsearch.xcontent.ConstructingObjectParser;
import org.elasticsearch.xcontent.ParseField;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

/**
 * {@code "retriever": {"loupe_rerank": {"retriever": {...}, "model": "reranker", "query": "...",
 * "field": "caption.text", "image_field": "image", "instruction": "...", "rank_window_size": 20,
 * "min_score": 0.5}}}: reorders the inner retriever's top {@code rank_window_size} documents by
 * a Loupe reranker's probability that each answers the query.
 *
 * <p>Cost: one reranker prefill per document in the window (query + document tokens, images
 * included), batched, with the shared query prefix computed once; the window's fields travel
 * from the shards to the coordinating node, and on to the node serving the model.
 */
public final class LoupeRerankRetrieverBuilder extends CompoundRetrieverBuilder<LoupeRerankRetrieverBuilder> {
  public static final String NAME = "loupe_rerank";
  /** A window costs one prefill per document: bounded so a request cannot ask for an unbounded one. */
  static final int MAX_RANK_WINDOW_SIZE = 1000;
  static final int DEFAULT_RANK_WINDOW_SIZE = 20;

  private static final ParseField RETRIEVER = new ParseField("retriever");
  private static final ParseField MODEL = new ParseField("model");
  private static final ParseField QUERY = new ParseField("query");
  private static final ParseField FIELD = new ParseField("field");
  private static final ParseField IMAGE_FIELD = new ParseField("image_field");
  private static final ParseField INSTRUCTION = new ParseField("instruction");

  public static final ConstructingObjectParser<LoupeRerankRetrieverBuilder, RetrieverParserContext> PARSER =
      new ConstructingObjectParser<>(
          NAME,
          false,
          args -> {
            String model = args[1] == null ? ModelConfig.DEFAULT : (String) args[1];
            RerankFields fields = new RerankFields(model, (String) args[2], (String) args[3], (String) args[4], (String) args[5]);
            int window = args[6] == null ? DEFAULT_RANK_WINDOW_SIZE : (Integer) args[6];
            return new LoupeRerankRetrieverBuilder(List.of(RetrieverSource.from((RetrieverBuilder) args[0])), fields, window);
          });

  static {
    PARSER.declareNamedObject(
        constructorArg(),
        (p, c, n) -> {
          RetrieverBuilder inner = p.namedObject(RetrieverBuilder.class, n, c);
          c.trackRetrieverUsage(inner);
          return inner;
        },
        RETRIEVER);
    PARSER.declareString(optionalConstructorArg(), MODEL);
    PARSER.declareString(constructorArg(), QUERY);
    PARSER.declareString(optionalConstructorArg(), FIELD);
    PARSER.declareString(optionalConstructorArg(), IMAGE_FIELD);
    PARSER.declareString(optionalConstructorArg(), INSTRUCTION);
    PARSER.declareInt(optionalConstructorArg(), RANK_WINDOW_SIZE_FIELD);
    RetrieverBuilder.declareBaseParserFields(PARSER);
  }

  public static LoupeRerankRetrieverBuilder fromXContent(XContentParser parser, RetrieverParserContext context) {
    return PARSER.apply(parser, context);
  }

  private final RerankFields fields;

  LoupeRerankRetrieverBuilder(List<RetrieverSource> inner, RerankFields fields, int rankWindowSize) {
    super(inner, rankWindowSize);
    if (inner.size() != 1) throw new IllegalArgumentException("[" + NAME + "] takes exactly one inner [retriever]");
    if (rankWindowSize < 1 || rankWindowSize > MAX_RANK_WINDOW_SIZE) {
      throw new IllegalArgumentException(
          "[" + NAME + "] [rank_window_size] must be between 1 and " + MAX_RANK_WINDOW_SIZE + ", got " + rankWindowSize);
    }
    this.fields = fields;
  }

  @Override
  protected LoupeRerankRetrieverBuilder clone(List<RetrieverSource> newChildRetrievers, List<QueryBuilder> newPreFilterQueryBuilders) {
    LoupeRerankRetrieverBuilder copy = new LoupeRerankRetrieverBuilder(newChildRetrievers, fields, rankWindowSize);
    copy.preFilterQueryBuilders = newPreFilterQueryBuilders;
    copy.retrieverName = retrieverName;
    copy.minScore = minScore;
    return copy;
  }

  @Override
  protected SearchSourceBuilder finalizeSourceBuilder(SearchSourceBuilder source) {
    return source.rankBuilder(new LoupeRerankBuilder(rankWindowSize, fields));
  }

  /** The inner search's hits arrive reranked; min_score applies to the reranker's scores. */
  @Override
  protected RankDoc[] combineInnerRetrieverResults(List<ScoreDoc[]> rankResults, boolean explain) {
    List<RankDoc> docs = new ArrayList<>();
    for (ScoreDoc doc : rankResults.getFirst()) {
      if (minScore == null || doc.score >= minScore) docs.add(new RankDoc(doc.doc, doc.score, doc.shardIndex));
    }
    return docs.toArray(RankDoc[]::new);
  }

  @Override
  public String getName() {
    return NAME;
  }

  @Override
  protected void doToXContent(XContentBuilder builder, Params params) throws IOException {
    builder.field(RETRIEVER.getPreferredName(), innerRetrievers.getFirst().retriever());
    builder.field(MODEL.getPreferredName(), fields.model());
    builder.field(QUERY.getPreferredName(), fields.query());
    if (fields.textField() != null) builder.field(FIELD.getPreferredName(), fields.textField());
    if (fields.imageField() != null) builder.field(IMAGE_FIELD.getPreferredName(), fields.imageField());
    if (fields.instruction() != null) builder.field(INSTRUCTION.getPreferredName(), fields.instruction());
    builder.field(RANK_WINDOW_SIZE_FIELD.getPreferredName(), rankWindowSize);
  }

  @Override
  public boolean doEquals(Object other) {
    return super.doEquals(other) && fields.equals(((LoupeRerankRetrieverBuilder) other).fields);
  }

  @Override
  public int doHashCode() {
    return Objects.hash(super.doHashCode(), fields);
  }
}
