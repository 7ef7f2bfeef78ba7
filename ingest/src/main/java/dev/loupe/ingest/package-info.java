/**
 * Captioning library over {@link dev.loupe.Loupe}: prompt presets, image sources (bytes,
 * base64, files, opt-in URLs under an allowlist), bounded submission with back-pressure,
 * Elasticsearch bulk and embedded Lucene outputs. The {@code cli} package is the
 * {@code loupe} command line.
 */
package dev.loupe.ingest;
