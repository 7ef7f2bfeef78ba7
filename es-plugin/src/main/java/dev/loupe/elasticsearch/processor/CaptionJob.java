package dev.loupe.elasticsearch.processor;

import dev.loupe.Prompt;
import dev.loupe.SamplingParams;

/** What one processor asks of every image it sees; 0 pixels = the node's resize budget. */
public record CaptionJob(Prompt prompt, SamplingParams sampling, long minPixels, long maxPixels) {}
