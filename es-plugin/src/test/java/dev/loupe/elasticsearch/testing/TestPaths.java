package dev.loupe.elasticsearch.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths the build hands the integration tests as system properties (see es-plugin/pom.xml). */
public final class TestPaths {
  private TestPaths() {}

  public static Path testdata() {
    return Path.of(required("loupe.testdata"));
  }

  /** The golden tiny random checkpoint: real architecture, random weights (captions are noise). */
  public static Path tinyModel() {
    return testdata().resolve("golden/models/tiny-tied");
  }

  /** The trained shapes checkpoint (models/shapes-tiny): it really captions coloured shapes. */
  public static Path shapesModel() {
    return testdata().resolveSibling("models").resolve("shapes-tiny");
  }

  /** The trained shapes embedding checkpoint (models/shapes-embed-tiny): paraphrases find their images. */
  public static Path shapesEmbedModel() {
    return testdata().resolveSibling("models").resolve("shapes-embed-tiny");
  }

  /** A tiny RANDOM reranker checkpoint (yes/no head): scores are noise, parity with the Java API is exact. */
  public static Path tinyReranker() {
    return testdata().resolve("golden/models/tiny-reranker");
  }

  /** The sample images of the demo and their true captions (examples/images/captions.json). */
  public static Path examples() {
    return testdata().resolveSibling("examples").resolve("images");
  }

  static Path nodeScript() {
    return existing("loupe.es.node.script");
  }

  static Path distribution() {
    return existing("loupe.es.distribution");
  }

  static Path pluginZip() {
    return existing("loupe.plugin.zip");
  }

  private static Path existing(String property) {
    Path path = Path.of(required(property));
    if (!Files.exists(path)) {
      throw new IllegalStateException("system property " + property + " names " + path + ", which does not exist (run `mvn package` in es-plugin first)");
    }
    return path;
  }

  private static String required(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("system property " + property + " is not set: run the test through Maven (failsafe sets it)");
    }
    return value;
  }
}
