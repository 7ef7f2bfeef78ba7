package dev.loupe;

import java.nio.file.Path;
import java.util.Properties;
import org.bytedeco.javacpp.Loader;

/**
 * Where libloupe comes from. By default JavaCPP extracts it from this jar into its cache.
 * Hosts that must not extract or probe outside their own folders (the Elasticsearch plugin)
 * call {@link #loadFromDirectory} first, so the libraries load in place.
 */
public final class NativeLibraries {
  private NativeLibraries() {}

  /**
   * Loads libloupe and its JNI wrapper from {@code libraryDir} (plain files) instead of the
   * jar. {@code scratchDir} is a writable directory JavaCPP may probe (it looks for a
   * compiler under its platform root). Call before any other Loupe method.
   */
  public static synchronized void loadFromDirectory(Path libraryDir, Path scratchDir) {
    Properties properties = Loader.loadProperties();
    properties.setProperty("platform.root", scratchDir.toString());
    properties.setProperty("platform.preloadpath", libraryDir.toString());
    properties.setProperty("platform.linkpath", libraryDir.toString());
    Loader.load(dev.loupe.nativelib.LoupeNative.class, properties, true);
    Loader.load(dev.loupe.nativelib.CaptionerNative.class, properties, true);
  }
}
