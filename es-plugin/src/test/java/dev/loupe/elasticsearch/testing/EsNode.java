package dev.loupe.elasticsearch.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** One running member of an {@link EsCluster}: its name, ports, REST client and log. */
public final class EsNode {
  private final String name;
  private final int httpPort;
  private final int transportPort;
  private final Path workDir;
  private final String clusterName;
  private final EsClient client;

  EsNode(String name, int httpPort, int transportPort, Path workDir, String clusterName) {
    this.name = name;
    this.httpPort = httpPort;
    this.transportPort = transportPort;
    this.workDir = workDir;
    this.clusterName = clusterName;
    this.client = new EsClient("http://127.0.0.1:" + httpPort);
  }

  public String name() {
    return name;
  }

  public int httpPort() {
    return httpPort;
  }

  public int transportPort() {
    return transportPort;
  }

  public EsClient client() {
    return client;
  }

  /** The node's Elasticsearch home (a copy of the distribution with the plugin installed). */
  public Path home() {
    return workDir.resolve("elasticsearch");
  }

  public Path logFile() {
    return home().resolve("logs").resolve(clusterName + ".log");
  }

  Path workDir() {
    return workDir;
  }

  /** The node's process id (from the pid file es-node keeps). */
  public long pid() throws IOException {
    return Long.parseLong(Files.readString(workDir.resolve("es.pid")).trim());
  }

  /** CPU seconds (user + system) the node's process has used so far, from /proc. */
  public double cpuSeconds() throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);  // utime, stime (fields 14, 15)
    return ticks / 100.0;  // USER_HZ is 100 on Linux
  }

  public String log() throws IOException {
    return Files.exists(logFile()) ? Files.readString(logFile()) : "";
  }

  /** The last {@code lines} lines of the node log, or a note that there is none yet. */
  public String logTail(int lines) {
    try {
      if (!Files.exists(logFile())) {
        return "(no log at " + logFile() + ")";
      }
      List<String> all = Files.readAllLines(logFile());
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + logFile() + ": " + e.getMessage() + ")";
    }
  }

  @Override
  public String toString() {
    return name + "@127.0.0.1:" + httpPort;
  }
}
