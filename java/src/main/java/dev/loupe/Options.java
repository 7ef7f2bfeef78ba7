package dev.loupe;

/**
 * How {@link Loupe#open} loads a model. Immutable; start from {@link #defaults()}. Zero
 * means "the native default" for the memory and pixel settings.
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
    int maxImagesPerRequest) {

  public static Options defaults() {
    return new Options("cpu", 0, 0, 64, 1024, 32768, true, 0, 0, 32L << 20, 50_000_000L, 16);
  }

  public Options withDevice(String value) {
    return new Options(value, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  public Options withThreads(int value) {
    return new Options(device, value, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  public Options withKvCacheBytes(long value) {
    return new Options(device, threads, value, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  public Options withMaxRunning(int value) {
    return new Options(device, threads, kvCacheBytes, value, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  public Options withQueueLimit(int value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, value, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  public Options withPrefixCache(boolean value) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, value,
        minPixels, maxPixels, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  /** Default resize budget in pixels (Qwen's min_pixels / max_pixels). */
  public Options withPixels(long min, long max) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        min, max, maxImageBytes, maxDecodedPixels, maxImagesPerRequest);
  }

  public Options withImageLimits(long maxBytes, long maxPixelsDecoded, int maxImages) {
    return new Options(device, threads, kvCacheBytes, maxRunning, queueLimit, maxPromptTokens, prefixCache,
        minPixels, maxPixels, maxBytes, maxPixelsDecoded, maxImages);
  }
}
