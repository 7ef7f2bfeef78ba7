package dev.loupe.elasticsearch;

import dev.loupe.NativeLibraries;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.bytedeco.javacpp.Pointer;

/**
 * Loads libloupe inside the node, once, in place from the plugin's own folder
 * ({@code plugins/loupe/native/linux-x86_64/}), with JavaCPP's probing confined to the
 * node's temp dir: both are readable under the default entitlements, unlike a jar
 * extraction cache or the node's home directory.
 */
public final class NativeRuntime {
  private static final Logger LOG = LogManager.getLogger(NativeRuntime.class);
  static final String PLATFORM_DIR = "native/linux-x86_64";
  /**
   * JavaCPP refuses native allocations once the process's resident memory passes a multiple
   * of the heap; a model in host RAM passes it at once. Elasticsearch accounts for its heap
   * itself, so the check is turned off (unless the operator set it as a JVM option).
   */
  static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";

  private final Path libraryDir;
  private final Path scratchDir;
  private boolean loaded;

  public NativeRuntime(Path pluginDir, Path scratchDir) {
    this.libraryDir = pluginDir.resolve(PLATFORM_DIR);
    this.scratchDir = scratchDir;
  }

  public synchronized void ensureLoaded() {
    if (loaded) {
      return;
    }
    if (!Files.isDirectory(libraryDir)) {
      throw new IllegalStateException("loupe native libraries are missing: expected them in [" + libraryDir + "]");
    }
    // Before any JavaCPP class initialises: Pointer reads the limit once, in its static block.
    if (System.getProperty(MAX_PHYSICAL_BYTES) == null && System.getProperty(MAX_PHYSICAL_BYTES.toLowerCase()) == null) {
      System.setProperty(MAX_PHYSICAL_BYTES, "0");
    }
    try {
      NativeLibraries.loadFromDirectory(libraryDir, scratchDir);
    } catch (LinkageError e) {
      throw new IllegalStateException("cannot load loupe native libraries from [" + libraryDir + "]: " + e.getMessage(), e);
    }
    loaded = true;
    LOG.info("loaded loupe native libraries from [{}] (JavaCPP maxPhysicalBytes={})", libraryDir, Pointer.maxPhysicalBytes());
  }
}
