package dev.loupe.elasticsearch.inference;

import dev.loupe.elasticsearch.models.ModelConfig;
import java.io.IOException;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.elasticsearch.TransportVersion;
import org.elasticsearch.TransportVersions;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.search.vectors.QueryVectorBuilder;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

/**
 * {@code "query_vector_builder": {"loupe_text_embedding": {"model": "embedder", "text": "...",
 * "instruction": "...", "dims": 1024}}}: the query vector of a {@code knn} search, embedded by
 * a Loupe embedding model during query rewrite on a node that serves it. {@code image}
 * (base64) embeds an image query instead of, or with, the text.
 */
public final class LoupeTextEmbeddingBuilder implements QueryVectorBuilder {
  public static final String NAME = "loupe_text_embedding";
  static final int MIN_DIMS = 64;
  static final int MAX_DIMS = 4096;
  private static final Set<String> FIELDS = Set.of("model", "text", "image", "instruction", "dims");

  private final String model;
  private final String text;
  private final byte[] image;
  private final String instruction;
  private final int dims;

  public LoupeTextEmbeddingBuilder(String model, String text, byte[] image, String instruction, int dims) {
    this.model = model == null ? ModelConfig.DEFAULT : model;
    this.text = text;
    this.image = image;
    this.instruction = instruction;
    this.dims = dims;
    if ((text == null || text.isBlank()) && image == null) {
      throw new IllegalArgumentException("[" + NAME + "] needs [text] or [image]");
    }
    if (instruction != null && instruction.isBlank()) {
      throw new IllegalArgumentException("[" + NAME + "] [instruction] must not be empty");
    }
    if (dims != 0 && (dims < MIN_DIMS || dims > MAX_DIMS)) {
      throw new IllegalArgumentException("[" + NAME + "] [dims] must be between " + MIN_DIMS + " and " + MAX_DIMS + ", got " + dims);
    }
  }

  public LoupeTextEmbeddingBuilder(StreamInput in) throws IOException {
    this(in.readString(), in.readOptionalString(), in.readOptionalByteArray(), in.readOptionalString(), in.readVInt());
  }

  public static LoupeTextEmbeddingBuilder fromXContent(XContentParser parser, Void context) {
    Map<String, Object> body;
    try {
      // The knn parser hands over the builder's name; its body is the object that follows.
      if (parser.currentToken() == XContentParser.Token.FIELD_NAME) parser.nextToken();
      body = parser.map();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    for (String key : body.keySet()) {
      if (!FIELDS.contains(key)) {
        throw new IllegalArgumentException("[" + NAME + "] unknown field [" + key + "], expected one of " + List.copyOf(new java.util.TreeSet<>(FIELDS)));
      }
    }
    String imageText = string(body, "image");
    byte[] image = null;
    if (imageText != null) {
      try {
        image = Base64.getDecoder().decode(imageText.replaceAll("\\s+", ""));  // strict; MIME line breaks allowed
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("[" + NAME + "] [image] is not valid base64: " + e.getMessage(), e);
      }
      if (image.length == 0) throw new IllegalArgumentException("[" + NAME + "] [image] is empty");
    }
    Object dims = body.get("dims");
    if (dims != null && !(dims instanceof Integer)) {
      throw new IllegalArgumentException("[" + NAME + "] [dims] must be a whole number, got [" + dims + "]");
    }
    return new LoupeTextEmbeddingBuilder(
        string(body, "model"), string(body, "text"), image, string(body, "instruction"), dims == null ? 0 : (Integer) dims);
  }

  private static String string(Map<String, Object> body, String key) {
    Object value = body.get(key);
    if (value != null && !(value instanceof String)) {
      throw new IllegalArgumentException("[" + NAME + "] [" + key + "] must be a string, got [" + value + "]");
    }
    return (String) value;
  }

  @Override
  public void buildVector(Client client, ActionListener<float[]> listener) {
    InferenceAction.Params params =
        new InferenceAction.Params(
            InferenceAction.Kind.EMBED, model, new RetrievalItem(text, image), List.of(), instruction, dims, 0, false);
    client.execute(InferenceAction.INSTANCE, new InferenceAction.Request(params), listener.map(InferenceAction.Response::values));
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
  public void writeTo(StreamOutput out) throws IOException {
    out.writeString(model);
    out.writeOptionalString(text);
    out.writeOptionalByteArray(image);
    out.writeOptionalString(instruction);
    out.writeVInt(dims);
  }

  @Override
  public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
    builder.startObject();  // the knn section writes the name around it
    builder.field("model", model);
    if (text != null) builder.field("text", text);
    if (image != null) builder.field("image", Base64.getEncoder().encodeToString(image));
    if (instruction != null) builder.field("instruction", instruction);
    if (dims != 0) builder.field("dims", dims);
    return builder.endObject();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LoupeTextEmbeddingBuilder that
        && model.equals(that.model)
        && Objects.equals(text, that.text)
        && Arrays.equals(image, that.image)
        && Objects.equals(instruction, that.instruction)
        && dims == that.dims;
  }

  @Override
  public int hashCode() {
    return Objects.hash(model, text, Arrays.hashCode(image), instruction, dims);
  }
}
