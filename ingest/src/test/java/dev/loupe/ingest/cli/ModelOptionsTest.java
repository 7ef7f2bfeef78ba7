package dev.loupe.ingest.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.OutputConstraint;
import dev.loupe.Prompt;
import dev.loupe.PromptPreset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How --preset, --prompt and --system become the prompts of each output field, and the engine flags its options. */
class ModelOptionsTest {
  static ModelOptions options(List<String> presets, String prompt, String system) {
    ModelOptions o = new ModelOptions();
    o.device = "cpu";
    o.cpuBf16Activations = "";
    o.presets = presets;
    o.prompt = prompt;
    o.system = system;
    return o;
  }

  @Test
  void defaultsApplyOnlyWhenNothingWasAsked() {
    Map<String, Prompt> prompts = options(null, null, null).prompts("caption,keywords");
    assertEquals(List.of("caption", "keywords"), List.copyOf(prompts.keySet()));
    assertEquals(PromptPreset.KEYWORDS.instruction(), prompts.get("keywords").text());

    Map<String, Prompt> custom = options(null, "What colour is it?", null).prompts("caption");
    assertEquals(Map.of("custom", Prompt.of("What colour is it?")), custom);
  }

  @Test
  void presetsAndPromptTogetherWithTheSystemPromptOnEach() {
    Map<String, Prompt> prompts = options(List.of("ocr", " Description"), "Count the shapes.", "Be brief.").prompts("");
    assertEquals(List.of("ocr", "description", "custom"), List.copyOf(prompts.keySet()));
    prompts.values().forEach(p -> assertEquals("Be brief.", p.systemPrompt()));
    assertEquals(PromptPreset.DESCRIPTION.instruction(), prompts.get("description").text());
  }

  @Test
  void unknownPresetOrBlankPromptIsAClearError() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> options(List.of("poem"), null, null).prompts(""));
    assertTrue(e.getMessage().contains("unknown preset 'poem' (caption, description, keywords, ocr, tags)"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> options(null, " ", null).prompts(""));
  }

  @Test
  void jsonSchemaConstrainsTheCustomPromptAndTagsBringTheirOwn(@TempDir Path dir) throws IOException {
    Path schema = Files.writeString(dir.resolve("s.json"), "{\"type\": \"object\"}");
    ModelOptions o = options(List.of("tags"), "Classify it.", null);
    o.jsonSchema = schema;
    Map<String, Prompt> prompts = o.prompts("");
    assertEquals(OutputConstraint.jsonSchema("{\"type\": \"object\"}"), prompts.get("custom").constraint());
    assertEquals(PromptPreset.TAGS.prompt().constraint(), prompts.get("tags").constraint());
    assertEquals(null, options(null, "Free text.", null).prompts("").get("custom").constraint());

    ModelOptions noPrompt = options(null, null, null);
    noPrompt.jsonSchema = schema;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> noPrompt.prompts("caption"));
    assertTrue(e.getMessage().contains("--json-schema constrains the --prompt answer"), e.getMessage());
    ModelOptions missing = options(null, "Classify it.", null);
    missing.jsonSchema = dir.resolve("absent.json");
    e = assertThrows(IllegalArgumentException.class, () -> missing.prompts(""));
    assertTrue(e.getMessage().startsWith("--json-schema: cannot read"), e.getMessage());
  }

  @Test
  void cpuNumericsFlagsReachTheEngineOptions() {
    ModelOptions o = options(null, null, null);
    assertEquals("rounded", o.engineOptions().cpuBf16Activations(), "the library default unless asked");
    o.cpuBf16Activations = "exact";
    o.int8Weights = true;
    assertEquals("exact", o.engineOptions().cpuBf16Activations());
    assertTrue(o.engineOptions().int8TextWeights());
    assertTrue(o.engineOptions().decodeGraphs());
    o.noDecodeGraphs = true;
    assertFalse(o.engineOptions().decodeGraphs());
    o.engineOptions.put("max_batch_tokens", "4096");
    assertEquals("4096", o.engineOptions().value("max_batch_tokens"));
    o.engineOptions.put("no_such_option", "1");
    assertThrows(IllegalArgumentException.class, o::engineOptions);
    o.engineOptions.clear();
    o.cpuBf16Activations = "fast";
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, o::engineOptions);
    assertTrue(e.getMessage().contains("--cpu-bf16-activations must be rounded or exact, not 'fast'"), e.getMessage());
  }
}
