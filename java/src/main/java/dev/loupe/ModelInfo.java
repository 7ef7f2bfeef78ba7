package dev.loupe;

/** Facts read from a checkpoint's config.json by {@link Loupe#inspectModel}. */
public record ModelInfo(
    String architecture,
    String modelType,
    int textHiddenSize,
    int textLayers,
    int textHeads,
    int textKvHeads,
    int textHeadDim,
    int vocabSize,
    int visionDepth,
    int visionHiddenSize,
    int deepstackLayers,
    boolean tieWordEmbeddings) {}
