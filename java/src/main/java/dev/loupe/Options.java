package dev.loupe;

import java.util.Objects;
import java.util.Set;

/**
 * How {@link Loupe#open} loads a model. Immutable; start from {@link #defaults()}. Zero
 * means "the native default" for the memory and pixel settings.
 *
 * <p>CPU numerics: {@code cpuBf16Activations} is how linears with bf16 weights take their
 * activations, {@code "rounded"} (bf16, as PyTorch computes a bf16 checkpoint: the fast path),
 * {@code "exact"} (what the fp32-upcast model computes) or {@code ""} (the process's
 * {@code LOUPE_CPU_BF16_ACTIVATIONS}, else rounded). {@code int8TextWeights} quantises the
 * text decoder's linears to int8 at load (weight-only, one scale per output row): half the
 * weight bytes per decoded token.
 *
 * <p>GPU: {@code decodeGraphs} (default on) replays each text-only decode step as a CUDA graph
 * recorded once per batch size and context bucket, one launch instead of hundreds; off, every
 * step launches its kernels (also {@code LOUPE_CUDA_GRAPHS=0}). The CPU ignores it.
 */
public record Options(
    String device,
    int threads,
    long kvCacheBytes,
    int maxRunning,
    int queueLimit,
    int maxPromptTokens,
    boolean prefixCache,
    long minPixels,
    long maxPixels,
    long maxImageBytes,
    long maxDecodedPixels,
    int maxImagesPerRequest,
    String cpuBf16Activations,
    boolean int8TextWeights,
    boolean decodeGraphs) {

  /** The accepted values of {@link #cpuBf16Activations()}. */
  public static final Set<String> CPU_BF16_ACTIVATIONS = Set.of("", "rounded", "exact");

  public Options {
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(cpuBf16Activations, "cpuBf16Activations");
    if (!CPU_BF16_ACTIVATIONS.contains(cpuBf16Activations)) {
      throw new IllegalArgumentException(
          "cpuBf16Activations must be 'rounded', 'exact' or '' (the default), not '" + cpuBf16Activations + "'");
    }
  }

  public static Options defaults() {
    return new Options("cpu", 0, 0, 64, 1024, 32768, true, 0, 0, 32L << 20, 50_000_000L, 16, "", false, true);
  }

  public Options withDevice(String value) {
    return new Options(value, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, decodeGraphs);
  }

  public Options withThreads(int value) {
    return new Options(device, value, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, decodeGraphs);
  }

  public Options withKvCacheBytes(long value) {
    return new Options(device, threads, value, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, decodeGraphs);
  }

  public Options withMaxRunning(int value) {
    return new Options(device, threads, kvCacheBytes, value, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, decodeGraphs);
  }

  public Options withQueueLimit(int value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, value, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, decodeGraphs);
  }

  public Options withPrefixCache(boolean value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, value,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, decodeGraphs);
  }

  /** Default resize budget in pixels (Qwen's min_pixels / max_pixels). */
  public Options withPixels(long min, long max) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        min, max, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations, int8TextWeights, decodeGraphs);
  }

  public Options withImageLimits(long maxBytes, long maxPixelsDecoded, int maxImages) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxBytes, maxPixelsDecoded, maxImages, cpuBf16Activations, int8TextWeights, decodeGraphs);
  }

  /** {@code "rounded"}, {@code "exact"} or {@code ""}; see the class comment. */
  public Options withCpuBf16Activations(String value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, value, int8TextWeights, decodeGraphs);
  }

  public Options withInt8TextWeights(boolean value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations, value, decodeGraphs);
  }

  public Options withDecodeGraphs(boolean value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest, cpuBf16Activations,
        int8TextWeights, value);
  }
}
