package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Captions through the Java API must be HF transformers' greedy tokens for every golden
 * case whose conversation the API can express (optional system text, then images, then one
 * user text), with the case's own resize budget; the bf16 checkpoint in both CPU activation
 * modes ({@link Options#cpuBf16Activations()}).
 */
class GoldenCaptionTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path GOLDEN = TESTDATA.resolve("golden");
  static LoupeEngine tied;
  static LoupeEngine untied;
  static LoupeEngine untiedExact;

  @BeforeAll
  static void open() {
    tied = Loupe.open(GOLDEN.resolve("models/tiny-tied"), Options.defaults().withThreads(2));
    untied = Loupe.open(GOLDEN.resolve("models/tiny-untied"), Options.defaults().withThreads(2).withCpuBf16Activations("rounded"));
    untiedExact = Loupe.open(GOLDEN.resolve("models/tiny-untied"), Options.defaults().withThreads(2).withCpuBf16Activations("exact"));
  }

  @AfterAll
  static void close() {
    tied.close();
    untied.close();
    untiedExact.close();
  }

  static Stream<Arguments> cases() throws IOException {
    JsonNode manifest = new ObjectMapper().readTree(GOLDEN.resolve("manifest.json").toFile());
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : manifest.get("cases")) {
      CaptionRequest request = expressible(c);
      if (request == null) continue;
      for (String model : List.of("tiny-tied", "tiny-untied", "tiny-untied exact")) {
        List<Integer> expected = new ArrayList<>();
        c.get("results").get(model.split(" ")[0]).get("generated_ids").forEach(id -> expected.add(id.asInt()));
        out.add(Arguments.of(c.get("name").asText(), model, request, expected));
      }
    }
    assertTrue(out.size() >= 12, "expected text_only, one_image, two_images and long_prompt on both models");
    return out.stream();
  }

  /** The request for a case shaped [system text] + user [text and images in any order], or null. */
  static CaptionRequest expressible(JsonNode c) {
    String system = null;
    JsonNode user = null;
    for (JsonNode message : c.get("messages")) {
      String role = message.get("role").asText();
      if (role.equals("system") && message.get("content").isTextual()) system = message.get("content").asText();
      else if (role.equals("user") && user == null) user = message.get("content");
      else return null;
    }
    if (user == null || !user.isArray() || user.size() == 0) return null;
    List<String> segments = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (JsonNode part : user) {
      switch (part.get("type").asText()) {
        case "text" -> pending.append(part.get("text").asText());
        case "image" -> {
          segments.add(pending.toString());
          pending.setLength(0);
        }
        default -> {
          return null;  // video: not part of the captioning API
        }
      }
    }
    segments.add(pending.toString());
    List<ImageInput> images = new ArrayList<>();
    c.get("images").forEach(p -> images.add(ImageInput.ofFile(TESTDATA.resolve(p.asText()))));
    long min = 0;
    long max = 0;
    JsonNode kwargs = c.get("images_kwargs");
    if (kwargs != null && kwargs.has("size")) {
      min = kwargs.get("size").get("shortest_edge").asLong();
      max = kwargs.get("size").get("longest_edge").asLong();
    }
    int maxNew = c.get("results").get("tiny-tied").get("num_new_tokens").asInt();
    return new CaptionRequest(
        images, Prompt.interleaved(segments).withSystemPrompt(system), SamplingParams.greedy(maxNew), min, max, null, null);
  }

  @ParameterizedTest(name = "{0} on {1}")
  @MethodSource("cases")
  void captionTokensAreHfGreedyTokens(String name, String model, CaptionRequest request, List<Integer> expected) {
    LoupeEngine engine = switch (model) {
      case "tiny-tied" -> tied;
      case "tiny-untied" -> untied;
      default -> untiedExact;
    };
    Caption caption = engine.submit(request).join();
    assertEquals(expected, caption.tokenIds(), name + " on " + model);
    assertTrue(caption.promptTokens() > 0);
    assertTrue(caption.timings().total() > 0);
  }
}
