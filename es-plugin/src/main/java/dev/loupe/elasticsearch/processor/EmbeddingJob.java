package dev.loupe.elasticsearch.processor;

/**
 * What one {@code image_embedding} processor asks of every document: an instruction (null:
 * the model's default for documents), the leading dimensions to keep (0: all) and the resize
 * budget per image (0: the model's default, within the node's budget).
 */
record EmbeddingJob(String instruction, int dimensions, long maxPixels) {}
