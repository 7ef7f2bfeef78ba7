package dev.loupe.bench;

import dev.loupe.Caption;
import dev.loupe.ImageInput;
import dev.loupe.Loupe;
import dev.loupe.LoupeEngine;
import dev.loupe.Options;
import dev.loupe.Prompt;
import dev.loupe.SamplingParams;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Per-request cost of the Java path over the native one: for each sequential request, the
 * Java wall time (submit() call to future completion) minus the native total (Captioner
 * submit() entry to on_complete). Compare with native/captioner_bench.cpp on the same input.
 *
 * <p>Usage: JniOverhead MODEL_DIR IMAGE [requests] [max_new_tokens]
 */
public final class JniOverhead {
  public static void main(String[] args) {
    Path model = Path.of(args[0]);
    ImageInput image = ImageInput.ofFile(Path.of(args[1]));
    int requests = args.length > 2 ? Integer.parseInt(args[2]) : 200;
    int maxNew = args.length > 3 ? Integer.parseInt(args[3]) : 8;
    try (LoupeEngine engine =
        Loupe.open(model, Options.defaults().withThreads(1).withPixels(4096, 40960).withPrefixCache(false))) {
      Prompt prompt = Prompt.of("Describe this image.");
      for (int i = 0; i < 20; i++) engine.caption(image, prompt, SamplingParams.greedy(maxNew)).join();
      double[] java = new double[requests];
      double[] nativeMs = new double[requests];
      for (int i = 0; i < requests; i++) {
        long start = System.nanoTime();
        Caption caption = engine.caption(image, prompt, SamplingParams.greedy(maxNew)).join();
        java[i] = (System.nanoTime() - start) / 1e6;
        nativeMs[i] = caption.timings().total();
      }
      double[] overhead = new double[requests];
      for (int i = 0; i < requests; i++) overhead[i] = java[i] - nativeMs[i];
      Arrays.sort(java);
      Arrays.sort(nativeMs);
      Arrays.sort(overhead);
      System.out.printf(
          Locale.ROOT,
          "java path: median %.3f ms/request; native total: median %.3f ms; overhead median %.3f ms, p90 %.3f ms (%d requests, %d new tokens)%n",
          java[requests / 2], nativeMs[requests / 2], overhead[requests / 2], overhead[requests * 9 / 10], requests, maxNew);
    }
  }
}
