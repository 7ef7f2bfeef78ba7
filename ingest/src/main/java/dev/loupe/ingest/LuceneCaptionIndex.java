package dev.loupe.ingest;

import dev.loupe.PromptPreset;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.MultiFieldQueryParser;
import org.apache.lucene.queryparser.classic.ParseException;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.store.FSDirectory;

/**
 * An embedded Lucene index of captions: one document per image, keyed by path, with the
 * generated texts as analyzed fields (caption, keywords, ocr, ...) and the run's numbers
 * as stored fields.
 */
public final class LuceneCaptionIndex {
  public static final String PATH = "path";
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
      if (!result.ok()) return;
      Document doc = new Document();
      doc.add(new StringField(PATH, result.path().toString(), Field.Store.YES));
      for (Map.Entry<String, String> text : result.texts().entrySet()) {
        doc.add(new TextField(text.getKey(), text.getValue(), Field.Store.YES));
      }
      doc.add(new IntPoint("generated_tokens", result.generatedTokens()));
      doc.add(new StoredField("generated_tokens", result.generatedTokens()));
      doc.add(new StoredField("cached_tokens", result.cachedTokens()));
      doc.add(new StoredField("took_ms", result.totalMs()));
      writer.updateDocument(new Term(PATH, result.path().toString()), doc);
    }

    @Override
    public void close() throws IOException {
      writer.commit();
      writer.close();
      directory.close();
    }
  }

  public record Hit(String path, float score, Map<String, String> texts) {}

  /** Full-text search over every text field (Lucene classic query syntax). */
  public static List<Hit> search(Path indexDir, String queryText, int limit) throws IOException {
    try (FSDirectory directory = FSDirectory.open(indexDir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      Query query;
      try {
        query = new MultiFieldQueryParser(TEXT_FIELDS.toArray(String[]::new), new StandardAnalyzer()).parse(queryText);
      } catch (ParseException e) {
        throw new IllegalArgumentException("bad query: " + e.getMessage(), e);
      }
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

  /** Number of documents in the index. */
  public static int count(Path indexDir) throws IOException {
    try (FSDirectory directory = FSDirectory.open(indexDir);
        DirectoryReader reader = DirectoryReader.open(directory)) {
      return reader.numDocs();
    }
  }
}
