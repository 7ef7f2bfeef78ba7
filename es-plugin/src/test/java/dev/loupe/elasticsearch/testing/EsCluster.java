package dev.loupe.elasticsearch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * Real Elasticsearch nodes (the integ-test distribution the plugin is built for, plugin zip
 * installed with {@code elasticsearch-plugin install}) on loopback, started and stopped
 * through {@code scripts/es-node} — as the non-root user {@code loupe-es} when the tests run
 * as root. One node uses single-node discovery; several nodes discover each other through
 * their transport ports and all are master-eligible.
 */
public final class EsCluster implements AutoCloseable {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();
  private static final int START_TIMEOUT_SECONDS = 300;

  private final ClusterSpec spec;
  private final String name;
  private final List<EsNode> nodes;
  private final Thread stopOnExit;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private EsCluster(ClusterSpec spec, String name, List<EsNode> nodes) {
    this.spec = spec;
    this.name = name;
    this.nodes = List.copyOf(nodes);
    // A test JVM killed by a timeout must not leave nodes eating the shared machine's memory.
    this.stopOnExit = new Thread(this::stopAll, "stop-" + name);
    Runtime.getRuntime().addShutdownHook(stopOnExit);
  }

  /** Starts every node of {@code spec} in parallel and waits until they form one cluster. */
  public static EsCluster start(ClusterSpec spec) throws IOException, InterruptedException {
    String name = "loupe-it-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    int[] ports = freePorts(2 * spec.nodeCount());
    List<EsNode> nodes = new ArrayList<>();
    for (int i = 0; i < spec.nodeCount(); i++) {
      // Directly under the temp dir: the node user must reach it (createTempDirectory is 0700).
      Path work = Files.createTempDirectory(name + "-node" + i + "-");
      nodes.add(new EsNode(name + "-node" + i, ports[2 * i], ports[2 * i + 1], work, name));
    }
    EsCluster cluster = new EsCluster(spec, name, nodes);
    try {
      cluster.startNodes();
      cluster.awaitFormed();
      return cluster;
    } catch (IOException | InterruptedException | RuntimeException | Error e) {
      System.out.println(cluster.logTails(80));
      cluster.close();
      throw e;
    }
  }

  public ClusterSpec spec() {
    return spec;
  }

  public String name() {
    return name;
  }

  public List<EsNode> nodes() {
    return nodes;
  }

  public EsNode node(int index) {
    return nodes.get(index);
  }

  /** The first node's client. */
  public EsClient client() {
    return nodes.get(0).client();
  }

  /** The last {@code lines} log lines of every node, headed by the node's name. */
  public String logTails(int lines) {
    return nodes.stream()
        .map(node -> "---- last " + lines + " lines of " + node.logFile() + " ----\n" + node.logTail(lines))
        .collect(Collectors.joining("\n"));
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(stopOnExit);
    } catch (IllegalStateException alreadyExiting) {
      // the hook is running or about to: it stops the nodes
    }
    stopAll();
  }

  private void startNodes() throws IOException, InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(nodes.size());
    try {
      List<Future<?>> starts = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) {
        List<String> command = startCommand(i);
        starts.add(pool.submit(() -> {
          Processes.run(command, START_TIMEOUT_SECONDS);
          return null;
        }));
      }
      for (Future<?> start : starts) {
        try {
          start.get();
        } catch (ExecutionException e) {
          throw new IOException("starting a node of " + name + " failed: " + e.getCause().getMessage(), e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private List<String> startCommand(int index) {
    EsNode node = nodes.get(index);
    List<String> command = new ArrayList<>(List.of(
        TestPaths.nodeScript().toString(), "start", node.workDir().toString(),
        TestPaths.distribution().toString(), TestPaths.pluginZip().toString(),
        spec.model() == null ? "none" : spec.model().toString(),
        Integer.toString(node.httpPort()), Integer.toString(node.transportPort()),
        "--node-name", node.name(), "--cluster-name", name, "--heap", spec.heap()));
    if (nodes.size() > 1) {
      command.addAll(List.of(
          "--seed-hosts", nodes.stream().map(n -> "127.0.0.1:" + n.transportPort()).collect(Collectors.joining(",")),
          "--initial-master-nodes", nodes.stream().map(EsNode::name).collect(Collectors.joining(",")),
          // Members wait for each other: the cluster check below is the real readiness test.
          "--no-wait"));
    }
    for (Map.Entry<String, java.nio.file.Path> named : spec.nodeModels().get(index).entrySet()) {
      command.addAll(List.of("--model", named.getKey() + "=" + named.getValue()));
    }
    for (Map.Entry<String, String> setting : spec.settingsOf(index).entrySet()) {
      command.addAll(List.of("--setting", setting.getKey() + "=" + setting.getValue()));
    }
    return command;
  }

  private void awaitFormed() {
    String health = "/_cluster/health?wait_for_nodes=" + nodes.size() + "&wait_for_status=yellow&timeout=120s";
    for (EsNode node : nodes) {
      JsonNode answer = node.client().get(health);
      if (answer.path("timed_out").asBoolean() || answer.path("number_of_nodes").asInt() != nodes.size()) {
        throw new IllegalStateException(node + " does not see a formed cluster of " + nodes.size() + " nodes: " + answer);
      }
    }
  }

  private void stopAll() {
    if (stopped.getAndSet(true)) {
      return;
    }
    for (EsNode node : nodes) {
      try {
        Processes.run(List.of(TestPaths.nodeScript().toString(), "stop", node.workDir().toString()), 60);
      } catch (IOException | RuntimeException e) {
        System.out.println("could not stop " + node + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try {
        Processes.run(List.of("rm", "-rf", node.workDir().toString()), 60);
      } catch (IOException | InterruptedException e) {
        System.out.println("could not remove " + node.workDir() + ": " + e.getMessage());
      }
    }
  }

  private static int[] freePorts(int count) throws IOException {
    // Hold every socket until all are chosen so no port is handed out twice.
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket(0);
        sockets.add(socket);
        ports[i] = socket.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
