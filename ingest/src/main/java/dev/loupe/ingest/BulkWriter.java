package dev.loupe.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;

/**
 * Writes Elasticsearch {@code _bulk} NDJSON: an index action line then the document, one
 * pair per captioned image. The document id is the image's id (ImageFiles: its path below the
 * folder argument, prefixed with that folder's name), so re-runs overwrite wherever they run.
 */
public final class BulkWriter {
  private final ObjectMapper json = new ObjectMapper();
  private final Writer out;
  private final String index;

  public BulkWriter(Writer out, String index) {
    this.out = out;
    this.index = index;
  }

  public void write(ImageCaptions result) {
    if (!result.ok()) return;
    ObjectNode action = json.createObjectNode();
    action.putObject("index").put("_index", index).put("_id", result.id());
    try {
      out.write(Documents.line(action));
      out.write('\n');
      out.write(Documents.line(Documents.json(result)));
      out.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
