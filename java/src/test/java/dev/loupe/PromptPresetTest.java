package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class PromptPresetTest {
  @Test
  void namesRoundTripAndUnknownNamesAreEmpty() {
    for (PromptPreset preset : PromptPreset.values()) {
      assertEquals(Optional.of(preset), PromptPreset.byName(preset.optionName()));
      assertEquals(preset.instruction(), preset.prompt().text());
    }
    assertEquals("caption, description, keywords, ocr, tags", PromptPreset.names());
    assertTrue(PromptPreset.byName("poem").isEmpty());
    assertTrue(PromptPreset.byName("CAPTION").isEmpty(), "option names are lower case, as documented");
  }
}
