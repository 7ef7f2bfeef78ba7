package dev.loupe.elasticsearch.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.List;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.jupiter.api.Test;

/** Parsing, validation and the wire format of the loupe_text_embedding query vector builder and the inference request. */
class LoupeTextEmbeddingBuilderTest {
  static LoupeTextEmbeddingBuilder parse(String json) throws Exception {
    try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, json)) {
      parser.nextToken();  // START_OBJECT of the body, as the knn section hands it over
      return LoupeTextEmbeddingBuilder.fromXContent(parser, null);
    }
  }

  @Test
  void parsesAndRoundTrips() throws Exception {
    String image = Base64.getEncoder().encodeToString(new byte[] {1, 2, 3});
    LoupeTextEmbeddingBuilder builder =
        parse("{\"model\":\"embedder\",\"text\":\"a red bike\",\"image\":\"" + image + "\",\"instruction\":\"Find it\",\"dims\":256}");
    assertEquals(new LoupeTextEmbeddingBuilder("embedder", "a red bike", new byte[] {1, 2, 3}, "Find it", 256), builder);
    BytesStreamOutput out = new BytesStreamOutput();
    builder.writeTo(out);
    assertEquals(builder, new LoupeTextEmbeddingBuilder(out.bytes().streamInput()));
    assertEquals(builder, parse(Strings.toString(builder)), "toXContent parses back to the same builder");
    assertTrue(Strings.toString(parse("{\"text\":\"x\"}")).contains("\"model\":\"default\""), "the default model");
  }

  @Test
  void badBodiesAreClearErrors() {
    List<String[]> cases = List.of(
        new String[] {"{\"model\":\"e\"}", "needs [text] or [image]"},
        new String[] {"{\"text\":\"x\",\"dims\":8}", "[dims] must be between 64 and 4096, got 8"},
        new String[] {"{\"text\":\"x\",\"dims\":\"big\"}", "[dims] must be a whole number"},
        new String[] {"{\"text\":\"x\",\"path\":\"/etc\"}", "unknown field [path]"},
        new String[] {"{\"image\":\"***\"}", "[image] is not valid base64"},
        new String[] {"{\"text\":\"x\",\"instruction\":\" \"}", "[instruction] must not be empty"},
        new String[] {"{\"text\":3}", "[text] must be a string"});
    for (String[] c : cases) {
      IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> parse(c[0]), c[0]);
      assertTrue(error.getMessage().contains(c[1]), c[0] + ": " + error.getMessage());
    }
  }

  @Test
  void inferenceRequestRoundTrips() throws Exception {
    InferenceAction.Params params =
        new InferenceAction.Params(
            InferenceAction.Kind.RERANK, "reranker", new RetrievalItem("q", null),
            List.of(new RetrievalItem("doc", new byte[] {9}), new RetrievalItem(null, null)), "inst", 0, 1024, false);
    BytesStreamOutput out = new BytesStreamOutput();
    new InferenceAction.Request(params).writeTo(out);
    InferenceAction.Params read = new InferenceAction.Request(out.bytes().streamInput()).params();
    assertEquals(params.kind(), read.kind());
    assertEquals(params.model(), read.model());
    assertEquals("doc", read.documents().get(0).text());
    assertArrayEquals(new byte[] {9}, read.documents().get(0).image());
    assertEquals("", read.documents().get(1).text());
    assertEquals(1024, read.maxPixels());
    assertTrue(params.forward().forwarded());
  }
}
