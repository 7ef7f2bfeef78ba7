package dev.loupe;

import dev.loupe.nativelib.LoupeNative;
import java.nio.file.Path;

/** Entry point of the Java API. Thread-safe; the native library loads on first use. */
public final class Loupe {
  private Loupe() {}

  /** Version of the loaded libloupe, e.g. {@code "0.1.0"}. */
  public static String version() {
    try {
      return LoupeNative.version();
    } catch (LoupeException e) {
      throw e;
    } catch (RuntimeException e) {
      throw LoupeException.fromNative(e);
    }
  }

  /**
   * Reads the facts of the checkpoint in {@code modelDir} (its config.json).
   *
   * @throws LoupeException with {@link ErrorKind#MODEL_LOAD} naming the missing file or key
   */
  public static ModelInfo inspectModel(Path modelDir) {
    try (LoupeNative.ModelInfo info = LoupeNative.inspect_model(modelDir.toString())) {
      return new ModelInfo(
          info.architecture(),
          info.model_type(),
          info.text_hidden_size(),
          info.text_layers(),
          info.text_heads(),
          info.text_kv_heads(),
          info.text_head_dim(),
          info.vocab_size(),
          info.vision_depth(),
          info.vision_hidden_size(),
          info.deepstack_layers(),
          info.tie_word_embeddings());
    } catch (LoupeException e) {
      throw e;
    } catch (RuntimeException e) {
      throw LoupeException.fromNative(e);
    }
  }

  /**
   * Loads the Qwen3-VL checkpoint in {@code modelDir} (weights, tokenizer, chat template,
   * preprocessor and generation configs) and starts its engine. Close it when done.
   *
   * @throws ModelLoadException when the directory or a file in it is missing or invalid
   */
  public static LoupeEngine open(Path modelDir, Options options) {
    return new LoupeEngine(modelDir, options == null ? Options.defaults() : options);
  }
}
