/**
 * Captioning library and CLI over {@link dev.loupe.Loupe}: prompts, chat template,
 * tokenizer and result types shared by the CLI and the Elasticsearch plugin. Empty until
 * the captioning issue lands; the module exists so the build and the plugin have its place.
 */
package dev.loupe.ingest;
