package dev.loupe;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * One captioning request: images in prompt order, the prompt, sampling overrides (null:
 * generation_config.json), per-request resize budget (0: the engine's), a deadline
 * (null: none) and an optional token listener.
 */
public record CaptionRequest(
    List<ImageInput> images,
    Prompt prompt,
    SamplingParams sampling,
    long minPixels,
    long maxPixels,
    Duration timeout,
    TokenListener listener) {
  public CaptionRequest {
    images = List.copyOf(Objects.requireNonNull(images, "images"));
    Objects.requireNonNull(prompt, "prompt");
  }

  public static CaptionRequest of(ImageInput image, Prompt prompt, SamplingParams sampling) {
    return new CaptionRequest(List.of(image), prompt, sampling, 0, 0, null, null);
  }

  public CaptionRequest withPixels(long min, long max) {
    return new CaptionRequest(images, prompt, sampling, min, max, timeout, listener);
  }

  public CaptionRequest withTimeout(Duration deadline) {
    return new CaptionRequest(images, prompt, sampling, minPixels, maxPixels, deadline, listener);
  }

  public CaptionRequest withListener(TokenListener tokens) {
    return new CaptionRequest(images, prompt, sampling, minPixels, maxPixels, timeout, tokens);
  }
}
