package dev.loupe.elasticsearch.testing;

import java.util.Map;

/** Builds a {@code _bulk} NDJSON body: one action line plus one source line per document. */
public final class BulkBody {
  private final StringBuilder lines = new StringBuilder();
  private int count;

  public BulkBody index(String index, String id, Object source) {
    lines.append(EsClient.toJson(Map.of("index", Map.of("_index", index, "_id", id)))).append('\n');
    lines.append(EsClient.toJson(source)).append('\n');
    count++;
    return this;
  }

  public int count() {
    return count;
  }

  @Override
  public String toString() {
    return lines.toString();
  }
}
