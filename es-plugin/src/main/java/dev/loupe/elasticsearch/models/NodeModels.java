package dev.loupe.elasticsearch.models;

import dev.loupe.elasticsearch.stats.ModelStats;
import java.io.Closeable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import org.elasticsearch.core.IOUtils;

/**
 * The models this node serves, by name ({@link ModelConfig}), each loaded once and shared by
 * every pipeline, query and retriever on the node. A name comes from a processor, query or
 * retriever; a path only ever from node settings.
 */
public final class NodeModels implements Closeable {
  private final Map<String, ModelService> byName;

  public NodeModels(Map<String, ModelService> byName) {
    this.byName = Map.copyOf(byName);
  }

  /** The model, or null when this node does not serve it. */
  public ModelService get(String name) {
    return byName.get(name);
  }

  public boolean isEmpty() {
    return byName.isEmpty();
  }

  /** Why {@code name} cannot run on this node (it is not configured here), for messages. */
  public String missing(String name) {
    String here = byName.isEmpty() ? "none" : "[" + ModelConfig.names(byName.keySet().stream().sorted().toList()) + "]";
    String setting = name.equals(ModelConfig.DEFAULT) ? "loupe.model.path" : "loupe.models." + name + ".path";
    return "this node has no model [" + name + "] (node setting [" + setting + "] is not set; models on this node: " + here
        + "); run it on nodes that have the model";
  }

  /**
   * Runs {@code task} on the named model, or fails it at once when this node does not have it.
   *
   * @return cancels the task
   */
  public <T> Runnable submit(String name, ModelTask<T> task, BiConsumer<T, Exception> done) {
    ModelService model = byName.get(name);
    if (model == null) {
      done.accept(null, new IllegalStateException(task.operation() + " cannot run: " + missing(name)));
      return () -> {};
    }
    return model.submit(task, done);
  }

  /** Every model's counters, by name. */
  public Map<String, ModelStats> stats() {
    Map<String, ModelStats> stats = new LinkedHashMap<>();
    byName.keySet().stream().sorted().forEach(name -> stats.put(name, byName.get(name).stats()));
    return stats;
  }

  @Override
  public void close() {
    IOUtils.closeWhileHandlingException(byName.values());
  }
}
