package dev.loupe.cli;

import dev.loupe.Loupe;
import dev.loupe.LoupeException;
import dev.loupe.ModelInfo;
import java.nio.file.Path;

/** {@code java -cp loupe-runtime.jar:javacpp.jar dev.loupe.cli.InspectModel <model-dir>}. */
public final class InspectModel {
  private InspectModel() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: InspectModel <model-dir>");
      System.exit(2);
    }
    try {
      ModelInfo info = Loupe.inspectModel(Path.of(args[0]));
      System.out.println("loupe " + Loupe.version());
      System.out.println("architecture: " + info.architecture());
      System.out.println("model type: " + info.modelType());
      System.out.println("text layers: " + info.textLayers());
      System.out.println("text hidden size: " + info.textHiddenSize());
      System.out.println("attention heads: " + info.textHeads() + " (kv " + info.textKvHeads() + ", head dim " + info.textHeadDim() + ")");
      System.out.println("vocab size: " + info.vocabSize());
      System.out.println("vision: " + info.visionDepth() + " blocks x " + info.visionHiddenSize() + ", deepstack " + info.deepstackLayers());
      System.out.println("tied embeddings: " + info.tieWordEmbeddings());
    } catch (LoupeException e) {
      System.err.println("loupe: " + e.kind().nativeName() + ": " + e.getMessage());
      System.exit(1);
    }
  }
}
