package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Constrained answers through the Java API on a tiny random checkpoint (whose own choices are
 * noise): a JSON schema on the prompt, the tags preset's built-in schema and a regex always
 * give a valid answer; an invalid schema is an {@link InvalidRequestException}.
 */
class StructuredOutputTest {
  static final Path TINY = Path.of(System.getProperty("loupe.testdata")).resolve("golden/models/tiny-tied");
  static final ObjectMapper JSON = new ObjectMapper();
  static LoupeEngine engine;

  @BeforeAll
  static void open() {
    engine = Loupe.open(TINY, Options.defaults().withThreads(2));
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static Caption caption(Prompt prompt) {
    return engine.submit(new CaptionRequest(List.of(), prompt, SamplingParams.greedy(300), 0, 0, null, null)).join();
  }

  @Test
  void jsonSchemaAnswerParsesAndValidates() throws Exception {
    String schema = """
        {"type": "object", "properties": {
          "kind": {"enum": ["photo", "drawing"]},
          "count": {"type": "integer", "minimum": 1, "maximum": 9},
          "labels": {"type": "array", "items": {"type": "string", "maxLength": 8}, "minItems": 1, "maxItems": 3}},
         "required": ["kind", "count", "labels"], "additionalProperties": false}""";
    Caption caption = caption(Prompt.of("What is this?").withJsonSchema(schema));
    assertEquals("stop_token", caption.finishReason());
    JsonNode answer = JSON.readTree(caption.text());
    assertTrue(List.of("photo", "drawing").contains(answer.get("kind").asText()), caption.text());
    int count = answer.get("count").asInt();
    assertTrue(answer.get("count").isInt() && count >= 1 && count <= 9, caption.text());
    assertTrue(answer.get("labels").isArray() && answer.get("labels").size() >= 1 && answer.get("labels").size() <= 3, caption.text());
    // JSON Schema lengths count code points (Java's length() counts UTF-16 units).
    answer.get("labels").forEach(l -> assertTrue(l.isTextual() && l.asText().codePointCount(0, l.asText().length()) <= 8, caption.text()));
    assertEquals(3, answer.size(), caption.text());
  }

  @Test
  void tagsPresetAnswersInItsBuiltInSchema() throws Exception {
    assertTrue(PromptPreset.TAGS.jsonSchema().isPresent());
    assertEquals(OutputConstraint.Kind.JSON_SCHEMA, PromptPreset.TAGS.prompt().constraint().kind());
    Caption caption = caption(PromptPreset.TAGS.prompt());
    assertEquals("stop_token", caption.finishReason(), caption.text());
    JsonNode tags = JSON.readTree(caption.text());
    assertEquals(List.of("objects", "colors", "text_present", "scene"), List.copyOf(iterable(tags)), caption.text());
    assertTrue(tags.get("objects").isArray() && tags.get("objects").size() <= 10, caption.text());
    assertTrue(tags.get("colors").isArray() && tags.get("colors").size() <= 6, caption.text());
    assertTrue(tags.get("text_present").isBoolean(), caption.text());
    assertTrue(tags.get("scene").isTextual() && !tags.get("scene").asText().isEmpty(), caption.text());
  }

  static List<String> iterable(JsonNode object) {
    List<String> names = new java.util.ArrayList<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void regexAnswerMatches() {
    Caption caption = caption(Prompt.of("Code?").withRegex("[A-Z]{3}-[0-9]{2}"));
    assertTrue(caption.text().matches("[A-Z]{3}-[0-9]{2}"), caption.text());
  }

  @Test
  void anInvalidSchemaIsAnInvalidRequest() {
    OutputConstraint bad = OutputConstraint.jsonSchema("{\"type\": \"colour\"}");
    InvalidRequestException checked = assertThrows(InvalidRequestException.class, () -> engine.checkConstraint(bad));
    assertTrue(checked.getMessage().contains("colour"), checked.getMessage());
    CompletionException failed = assertThrows(CompletionException.class, () -> caption(Prompt.of("Hi").withConstraint(bad)));
    assertInstanceOf(InvalidRequestException.class, failed.getCause());
    assertThrows(InvalidRequestException.class, () -> OutputConstraint.regex(" "));
    engine.checkConstraint(PromptPreset.TAGS.prompt().constraint());  // the built-in schema compiles
    Caption after = caption(Prompt.of("Hi"));  // the engine keeps serving
    assertTrue(List.of("stop_token", "length").contains(after.finishReason()), after.finishReason());
  }
}
