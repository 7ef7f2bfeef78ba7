package dev.loupe.elasticsearch.testing;

import java.util.Optional;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Gives a test class a running {@link EsCluster} and prints every node's log tail when a
 * test fails.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final EsClusterExtension ES = EsClusterExtension.shared(ClusterSpec.nodes(2));
 * ... ES.client().put("/_ingest/pipeline/p", pipeline) ...
 * }</pre>
 *
 * <p>{@link #shared} reuses one cluster across test classes that ask for an equal spec (a node
 * takes tens of seconds to start on a small machine) and keeps at most one shared cluster
 * alive: a class with another spec stops the previous one; the last is stopped when the test
 * run ends. Give classes with equal specs neighbouring {@code @Order} values (the module orders
 * classes by {@code @Order}, see junit-platform.properties) so each shared cluster starts once.
 * Such classes must not depend on counters starting at zero (use deltas) and should use their
 * own index and pipeline names. {@link #dedicated} starts a cluster for the class
 * alone and stops it after the class.
 */
public final class EsClusterExtension implements BeforeAllCallback, AfterAllCallback, TestWatcher {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(EsClusterExtension.class);
  private static final int LOG_TAIL_LINES = 60;

  private final ClusterSpec spec;
  private final boolean shared;
  private EsCluster cluster;

  private EsClusterExtension(ClusterSpec spec, boolean shared) {
    this.spec = spec;
    this.shared = shared;
  }

  public static EsClusterExtension shared(ClusterSpec spec) {
    return new EsClusterExtension(spec, true);
  }

  public static EsClusterExtension dedicated(ClusterSpec spec) {
    return new EsClusterExtension(spec, false);
  }

  public ClusterSpec spec() {
    return spec;
  }

  /** Whether test classes with an equal spec share this cluster. */
  public boolean isShared() {
    return shared;
  }

  public EsCluster cluster() {
    if (cluster == null) {
      throw new IllegalStateException("the cluster starts in @BeforeAll: register the extension on a static field");
    }
    return cluster;
  }

  /** The first node's client. */
  public EsClient client() {
    return cluster().client();
  }

  public EsNode node(int index) {
    return cluster().node(index);
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    if (shared) {
      SharedCluster holder = context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(SharedCluster.class);
      cluster = holder.acquire(spec);
    } else {
      cluster = EsCluster.start(spec);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (!shared && cluster != null) {
      cluster.close();
    }
    cluster = null;
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    if (cluster != null) {
      System.out.println("test " + context.getDisplayName() + " failed; node logs:\n" + cluster.logTails(LOG_TAIL_LINES));
    }
  }

  @Override
  public void testAborted(ExtensionContext context, Throwable cause) {}

  @Override
  public void testDisabled(ExtensionContext context, Optional<String> reason) {}

  /** The one shared cluster of a test run; JUnit closes it when the run ends. */
  static final class SharedCluster implements AutoCloseable {
    private EsCluster current;

    synchronized EsCluster acquire(ClusterSpec spec) throws Exception {
      if (current != null && current.spec().equals(spec)) {
        return current;
      }
      close();
      current = EsCluster.start(spec);
      return current;
    }

    @Override
    public synchronized void close() {
      if (current != null) {
        current.close();
        current = null;
      }
    }
  }
}
