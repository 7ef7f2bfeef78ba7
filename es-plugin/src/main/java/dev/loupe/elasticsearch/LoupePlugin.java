package dev.loupe.elasticsearch;

import dev.loupe.elasticsearch.processor.ModelInfoProcessor;
import java.util.List;
import java.util.Map;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.ingest.Processor;
import org.elasticsearch.plugins.IngestPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * Loupe's Elasticsearch plugin: ingest processors backed by the native runtime. Today the
 * walking skeleton's {@code loupe_model_info}; {@code image_caption} joins it here.
 */
public class LoupePlugin extends Plugin implements IngestPlugin {
  static final String NAME = "loupe";

  @Override
  public List<Setting<?>> getSettings() {
    return LoupeSettings.all();
  }

  @Override
  public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
    NativeRuntime runtime = new NativeRuntime(parameters.env.pluginsDir().resolve(NAME), parameters.env.tmpDir());
    return Map.of(
        ModelInfoProcessor.TYPE,
        new ModelInfoProcessor.Factory(LoupeSettings.modelDirectory(parameters.env), runtime::ensureLoaded));
  }
}
