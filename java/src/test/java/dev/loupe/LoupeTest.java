package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoupeTest {
  static final Path SKELETON_2B = Path.of(System.getProperty("loupe.testdata"), "skeleton", "qwen3-vl-2b");

  @Test
  void versionComesFromTheNativeLibrary() {
    assertTrue(Loupe.version().matches("\\d+\\.\\d+\\.\\d+"), Loupe.version());
  }

  @Test
  void inspectModelReadsTheQwen3VL2BConfig() {
    ModelInfo info = Loupe.inspectModel(SKELETON_2B);
    assertEquals(
        new ModelInfo("Qwen3VLForConditionalGeneration", "qwen3_vl", 2048, 28, 16, 8, 128, 151936, 24, 1024, 3, true),
        info);
  }

  @Test
  void missingDirectoryIsAModelLoadErrorNamingTheFile(@TempDir Path dir) {
    LoupeException error = assertThrows(LoupeException.class, () -> Loupe.inspectModel(dir.resolve("absent")));
    assertEquals(ErrorKind.MODEL_LOAD, error.kind());
    assertTrue(error.getMessage().contains("config.json"), error.getMessage());
    assertFalse(error.getMessage().startsWith("["), "kind prefix must be stripped: " + error.getMessage());
  }

  @Test
  void missingKeyIsNamed(@TempDir Path dir) throws IOException {
    String config = Files.readString(SKELETON_2B.resolve("config.json")).replace("\"num_key_value_heads\"", "\"renamed\"");
    Files.writeString(dir.resolve("config.json"), config);
    LoupeException error = assertThrows(LoupeException.class, () -> Loupe.inspectModel(dir));
    assertEquals(ErrorKind.MODEL_LOAD, error.kind());
    assertTrue(error.getMessage().contains("text_config.num_key_value_heads"), error.getMessage());
  }
}
