package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar alone is enough: a fresh JVM with only loupe-runtime.jar and javacpp.jar
 * on its classpath, run from an unrelated directory, loads libloupe out of the jar.
 */
class PlainClasspathIT {
  @Test
  void packagedJarLoadsTheNativeLibrary(@TempDir Path workDir) throws IOException, InterruptedException {
    String classpath = System.getProperty("loupe.runtime.jar") + ":" + System.getProperty("loupe.javacpp.jar");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Path output = workDir.resolve("out.txt");
    Process process =
        new ProcessBuilder(
                List.of(
                    java.toString(),
                    "-Duser.home=" + workDir, // JavaCPP's cache starts empty: the libs must come from the jar
                    "-cp",
                    classpath,
                    "dev.loupe.cli.InspectModel",
                    LoupeTest.SKELETON_2B.toString()))
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
    String text = Files.readString(output, StandardCharsets.UTF_8);
    assertEquals(0, process.exitValue(), text);
    assertTrue(text.contains("loupe " + Loupe.version()), text);
    assertTrue(text.contains("architecture: Qwen3VLForConditionalGeneration"), text);
    assertTrue(text.contains("text layers: 28"), text);
  }
}
