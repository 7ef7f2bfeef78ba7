package dev.loupe.ingest;

import dev.loupe.PromptPreset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.queryparser.classic.MultiFieldQueryParser;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.store.FSDirectory;

/**
 * An embedded Lucene index of captions: one document per image, keyed by its absolute path
 * (so a re-run from another directory replaces rather than duplicates), with the
 * generated texts as analyzed fields (caption, keywords, ocr, ...), the run's numbers
 * as stored fields and, when indexed with an embedding model, the image's vector.
 */
public final class LuceneCaptionIndex {
  public static final String PATH = "path";
  /** The image's embedding (unit length, so dot product = cosine), when indexed with a model. */
  public static final String VECTOR = "vector";
  /** Every field a prompt can write: each preset's option name, then the custom prompt's. */
  static final List<String> TEXT_FIELDS = Stream.concat(
      Arrays.stream(PromptPreset.values()).map(PromptPreset::optionName), Stream.of(Documents.CUSTOM_FIELD)).toList();

  private LuceneCaptionIndex() {}

  /** Adds or replaces the documents of the given results. */
  public static final class Writer implements AutoCloseable {
    private final FSDirectory directory;
    private final IndexWriter writer;

    public Writer(Path indexDir) throws IOException {
      directory = FSDirectory.open(indexDir);
      writer = new IndexWriter(directory, new IndexWriterConfig(new StandardAnalyzer()));
    }

    public void add(ImageCaptions result) throws IOException {
      add(result, null);
    }

    /** With the image's embedding, searchable by {@link #searchVector} (HNSW, dot product). */
    public void add(ImageCaptions result, float[] vector) throws IOException {
      if (!result.ok()) return;
      String path = result.path().toAbsolutePath().normalize().toString();
      Document doc = new Document();
      doc.add(new StringField(PATH, path, Field.Store.YES));
      for (Map.Entry<String, String> text : result.texts().entrySet()) {
        doc.add(new TextField(text.getKey(), text.getValue(), Field.Store.YES));
      }
      doc.add(new IntPoint("generated_tokens", result.generatedTokens()));
      doc.add(new StoredField("generated_tokens", result.generatedTokens()));
      doc.add(new StoredField("cached_tokens", result.cachedTokens()));
      doc.add(new StoredField("took_ms", result.totalMs()));
      if (vector != null) doc.add(new KnnFloatVectorField(VECTOR, vector, VectorSimilarityFunction.DOT_PRODUCT));
      writer.updateDocument(new Term(PATH, path), doc);
    }

    @Override
    public void close() throws IOException {
      writer.commit();
      writer.close();
      directory.close();
    }
  }

  public record Hit(String path, float score, Map<String, String> texts) {}

  /**
   * Full-text search over every text field (Lucene classic query syntax). Words without an
   * operator must all match ({@code red circle} is {@code red AND circle}, each in any field)
   * unless {@code anyWord}: a caption index answers "which images show all of this".
   */
  public static List<Hit> search(Path indexDir, String queryText, int limit, boolean anyWord) throws IOException {
    return run(indexDir, textQuery(queryText, anyWord, new StandardAnalyzer()), limit);
  }

  /** The images nearest to a query vector (approximate kNN over the HNSW graph). */
  public static List<Hit> searchVector(Path indexDir, float[] queryVector, int limit) throws IOException {
    return run(indexDir, new KnnFloatVectorQuery(VECTOR, queryVector, limit), limit);
  }

  /**
   * Hybrid retrieval: the words (any of them but English stop words, which every caption
   * has, BM25 over the caption fields) and the query
   * vector (kNN) each rank up to {@code depth} images; reciprocal rank fusion,
   * sum of 1 / (60 + rank), merges the two lists, so an image either list ranks high comes
   * first without the two scores having to share a scale.
   */
  public static List<Hit> searchHybrid(Path indexDir, String queryText, float[] queryVector, int limit, int depth)
      throws IOException {
    List<Hit> words = run(indexDir, textQuery(queryText, true, new StandardAnalyzer(EnglishAnalyzer.ENGLISH_STOP_WORDS_SET)), depth);
    List<Hit> vectors = searchVector(indexDir, queryVector, depth);
    Map<String, Hit> byPath = new java.util.LinkedHashMap<>();
    Map<String, Double> fused = new java.util.HashMap<>();
    for (List<Hit> ranking : List.of(words, vectors)) {
      for (int rank = 0; rank < ranking.size(); rank++) {
        Hit hit = ranking.get(rank);
        byPath.putIfAbsent(hit.path(), hit);
        fused.merge(hit.path(), 1.0 / (RRF_K + rank + 1), Double::sum);
      }
    }
    return byPath.values().stream()
        .sorted(java.util.Comparator.comparingDouble((Hit h) -> -fused.get(h.path())).thenComparing(Hit::path))
        .limit(limit)
        .map(h -> new Hit(h.path(), fused.get(h.path()).floatValue(), h.texts()))
        .toList();
  }

  /** The constant of reciprocal rank fusion (Cormack et al.; Elasticsearch's rrf default). */
  static final int RRF_K = 60;

  private static Query textQuery(String queryText, boolean anyWord, StandardAnalyzer analyzer) {
    try {
      MultiFieldQueryParser parser = new MultiFieldQueryParser(TEXT_FIELDS.toArray(String[]::new), analyzer);
      parser.setDefaultOperator(anyWord ? QueryParser.Operator.OR : QueryParser.Operator.AND);
      return parser.parse(queryText);
    } catch (ParseException e) {
      throw new IllegalArgumentException("bad query: " + e.getMessage(), e);
    }
  }

  private static List<Hit> run(Path indexDir, Query query, int limit) throws IOException {
    try (FSDirectory directory = open(indexDir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      List<Hit> hits = new ArrayList<>();
      for (ScoreDoc scoreDoc : searcher.search(query, limit).scoreDocs) {
        Document doc = searcher.storedFields().document(scoreDoc.doc);
        Map<String, String> texts = new java.util.LinkedHashMap<>();
        for (String field : TEXT_FIELDS) {
          if (doc.get(field) != null) texts.put(field, doc.get(field));
        }
        hits.add(new Hit(doc.get(PATH), scoreDoc.score, texts));
      }
      return hits;
    }
  }

  /** Whether the index holds image vectors (it was made with an embedding model). */
  public static boolean hasVectors(Path indexDir) throws IOException {
    try (FSDirectory directory = open(indexDir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      for (var leaf : reader.leaves()) {
        if (leaf.reader().getFieldInfos().fieldInfo(VECTOR) != null) return true;
      }
      return false;
    }
  }

  /** Number of documents in the index. */
  public static int count(Path indexDir) throws IOException {
    try (FSDirectory directory = open(indexDir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      return reader.numDocs();
    }
  }

  /** Opens an existing index, or says how to make one (and never creates the folder). */
  private static FSDirectory open(Path indexDir) throws IOException {
    IllegalArgumentException missing =
        new IllegalArgumentException("no Loupe index at " + indexDir + " (create one with `./loupe index`)");
    if (!Files.isDirectory(indexDir)) throw missing;
    FSDirectory directory = FSDirectory.open(indexDir);
    if (!DirectoryReader.indexExists(directory)) {
      directory.close();
      throw missing;
    }
    return directory;
  }
}
