package dev.loupe.elasticsearch.rerank;

import java.io.IOException;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;

/**
 * What {@code loupe_rerank} scores: the model, the query, the document fields it reads (a text
 * field such as the caption, and/or an image field holding base64) and the instruction.
 */
record RerankFields(String model, String query, String textField, String imageField, String instruction) implements Writeable {
  RerankFields {
    if (model == null || model.isBlank()) throw new IllegalArgumentException("[loupe_rerank] [model] must not be empty");
    if (query == null || query.isBlank()) throw new IllegalArgumentException("[loupe_rerank] [query] must not be empty");
    if (textField == null && imageField == null) {
      throw new IllegalArgumentException("[loupe_rerank] needs [field] (text) and/or [image_field]");
    }
  }

  static RerankFields read(StreamInput in) throws IOException {
    return new RerankFields(in.readString(), in.readString(), in.readOptionalString(), in.readOptionalString(), in.readOptionalString());
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    out.writeString(model);
    out.writeString(query);
    out.writeOptionalString(textField);
    out.writeOptionalString(imageField);
    out.writeOptionalString(instruction);
  }

  /** The field the rank feature phase requires (it fetches more through the shard context). */
  String primaryField() {
    return textField != null ? textField : imageField;
  }
}
