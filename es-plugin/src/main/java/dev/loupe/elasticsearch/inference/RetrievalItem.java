package dev.loupe.elasticsearch.inference;

import dev.loupe.ImageInput;
import dev.loupe.RetrievalInput;
import java.io.IOException;
import java.util.List;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.io.stream.Writeable;

/** A query or a document as the inference action carries it: text and/or one encoded image. */
public record RetrievalItem(String text, byte[] image) implements Writeable {
  public RetrievalItem {
    text = text == null ? "" : text;
  }

  public static RetrievalItem read(StreamInput in) throws IOException {
    return new RetrievalItem(in.readString(), in.readOptionalByteArray());
  }

  @Override
  public void writeTo(StreamOutput out) throws IOException {
    out.writeString(text);
    out.writeOptionalByteArray(image);
  }

  RetrievalInput toInput() {
    return new RetrievalInput(image == null ? List.of() : List.of(ImageInput.ofBytes(image)), text);
  }
}
