package dev.loupe;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Open/caption/close cycles must not grow native memory (RSS from /proc/self/status). */
class ResourceCleanupTest {
  static final Path TESTDATA = Path.of(System.getProperty("loupe.testdata"));
  static final Path TINY = TESTDATA.resolve("golden/models/tiny-tied");

  static long rssKiB() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IllegalStateException("no VmRSS");
  }

  static void cycle(ImageInput image) {
    try (LoupeEngine engine = Loupe.open(TINY, Options.defaults().withThreads(1).withKvCacheBytes(8L << 20))) {
      engine.caption(image, Prompt.of("Describe this image."), SamplingParams.greedy(4)).join();
    }
  }

  @Test
  void openCloseCyclesDoNotLeakNativeMemory() throws IOException {
    ImageInput image = ImageInput.ofFile(TESTDATA.resolve("images/rocket.jpg"));
    for (int i = 0; i < 5; i++) cycle(image);  // warm-up: allocator pools, JIT, class loading
    System.gc();
    long before = rssKiB();
    for (int i = 0; i < 30; i++) cycle(image);
    System.gc();
    long after = rssKiB();
    // One tiny engine holds ~3 MiB of weights plus its KV pool; a leak of either per cycle
    // would add more than 30 * 8 MiB.
    assertTrue(after - before < 48 * 1024, "RSS grew from " + before + " KiB to " + after + " KiB over 30 cycles");
  }
}
