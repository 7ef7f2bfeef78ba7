package dev.loupe.elasticsearch.models;

import dev.loupe.LoupeEngine;
import dev.loupe.LoupeFuture;
import java.time.Duration;

/**
 * One piece of work for a model: a caption, an embedding or a reranking. {@link #start} runs
 * on the plugin's pool, so it may turn fields into bytes (base64 can be megabytes) before it
 * submits to the engine.
 *
 * @param <T> what the engine returns: a {@code Caption}, a {@code float[]} embedding or
 *     {@code double[]} scores
 */
public interface ModelTask<T> {
  /** What the work is called in messages and errors: the processor, query builder or retriever name. */
  String operation();

  /** Submits the work; {@code deadline} is what is left of the node's {@code loupe.timeout} (null: none). */
  LoupeFuture<T> start(LoupeEngine engine, Duration deadline);
}
