package dev.loupe.elasticsearch.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a test cluster looks like: how many nodes, which checkpoint they load, and extra
 * {@code elasticsearch.yml} lines for every node or for one. Immutable; equal specs share one
 * running cluster (see {@link EsClusterExtension}).
 *
 * <pre>{@code
 * ClusterSpec.nodes(2).model(TestPaths.tinyModel()).setting("loupe.queue.size", "4")
 * }</pre>
 */
public record ClusterSpec(
    int nodeCount,
    Path model,
    Map<String, String> settings,
    List<Map<String, String>> nodeSettings,
    List<Map<String, Path>> nodeModels,
    String heap) {

  public ClusterSpec {
    if (nodeCount < 1) {
      throw new IllegalArgumentException("a cluster needs at least one node, got " + nodeCount);
    }
    settings = Map.copyOf(settings);
    nodeSettings = nodeSettings.stream().map(Map::copyOf).toList();
    nodeModels = nodeModels.stream().map(m -> Map.copyOf(new LinkedHashMap<>(m))).toList();
  }

  /** {@code count} nodes with the golden tiny model and no extra settings. */
  public static ClusterSpec nodes(int count) {
    List<Map<String, String>> perNode = new ArrayList<>();
    List<Map<String, Path>> models = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      perNode.add(Map.of());
      models.add(Map.of());
    }
    return new ClusterSpec(count, TestPaths.tinyModel(), Map.of(), perNode, models, "512m");
  }

  /** The checkpoint every node loads (copied into its config dir); null = no {@code loupe.model.path}. */
  public ClusterSpec model(Path modelDir) {
    return new ClusterSpec(nodeCount, modelDir, settings, nodeSettings, nodeModels, heap);
  }

  /** One more model by name ({@code loupe.models.<name>.path}) on node {@code index}. */
  public ClusterSpec nodeModel(int index, String name, Path dir) {
    List<Map<String, Path>> copy = new ArrayList<>(nodeModels);
    Map<String, Path> node = new LinkedHashMap<>(copy.get(index));
    node.put(name, dir);
    copy.set(index, node);
    return new ClusterSpec(nodeCount, model, settings, nodeSettings, copy, heap);
  }

  /** One more model by name on every node. */
  public ClusterSpec namedModel(String name, Path dir) {
    ClusterSpec spec = this;
    for (int i = 0; i < nodeCount; i++) spec = spec.nodeModel(i, name, dir);
    return spec;
  }

  /** One more {@code elasticsearch.yml} line on every node. */
  public ClusterSpec setting(String key, String value) {
    Map<String, String> copy = new LinkedHashMap<>(settings);
    copy.put(key, value);
    return new ClusterSpec(nodeCount, model, copy, nodeSettings, nodeModels, heap);
  }

  /** One more {@code elasticsearch.yml} line on node {@code index} only (wins over {@link #setting}). */
  public ClusterSpec nodeSetting(int index, String key, String value) {
    List<Map<String, String>> copy = new ArrayList<>(nodeSettings);
    Map<String, String> node = new LinkedHashMap<>(copy.get(index));
    node.put(key, value);
    copy.set(index, node);
    return new ClusterSpec(nodeCount, model, settings, copy, nodeModels, heap);
  }

  public ClusterSpec heap(String size) {
    return new ClusterSpec(nodeCount, model, settings, nodeSettings, nodeModels, size);
  }

  /** The settings node {@code index} gets on top of the harness's own. */
  public Map<String, String> settingsOf(int index) {
    Map<String, String> merged = new LinkedHashMap<>(settings);
    merged.putAll(nodeSettings.get(index));
    return merged;
  }
}
