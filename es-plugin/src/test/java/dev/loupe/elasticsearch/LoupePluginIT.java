package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.Loupe;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The walking skeleton end to end: a real Elasticsearch node (the integ-test distribution
 * of the version the plugin is built for) with the plugin zip installed by
 * {@code elasticsearch-plugin install}, default entitlements, one node for the whole class.
 */
class LoupePluginIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final Path NODE_SCRIPT = Path.of(System.getProperty("loupe.es.node.script"));

  private static Path workDir;
  private static String baseUrl;

  @BeforeAll
  static void startNode() throws Exception {
    workDir = Files.createTempDirectory("loupe-es-it-");
    int httpPort = freePort();
    int transportPort = freePort();
    baseUrl = "http://127.0.0.1:" + httpPort;
    try {
      run(
          List.of(
              NODE_SCRIPT.toString(),
              "start",
              workDir.toString(),
              System.getProperty("loupe.es.distribution"),
              System.getProperty("loupe.plugin.zip"),
              Path.of(System.getProperty("loupe.testdata"), "skeleton", "qwen3-vl-2b").toString(),
              Integer.toString(httpPort),
              Integer.toString(transportPort)),
          300);
    } catch (Exception | AssertionError e) {
      stopNode();
      throw e;
    }
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (workDir == null) {
      return;
    }
    try {
      run(List.of(NODE_SCRIPT.toString(), "stop", workDir.toString()), 60);
    } finally {
      run(List.of("rm", "-rf", workDir.toString()), 60);
    }
  }

  @Test
  void nodeLoadedThePlugin() throws Exception {
    JsonNode plugins = request("GET", "/_nodes/plugins", null).path("nodes");
    JsonNode node = plugins.elements().next();
    assertTrue(node.path("plugins").toString().contains("\"name\":\"loupe\""), node.path("plugins").toString());
    String log = Files.readString(workDir.resolve("elasticsearch/logs/loupe-test.log"));
    assertTrue(log.contains("loaded plugin [loupe]"), "node log must show the plugin loaded");
  }

  @Test
  void pipelineWritesNativeResultIntoIndexedDocument() throws Exception {
    request(
        "PUT",
        "/_ingest/pipeline/loupe-skeleton",
        "{\"processors\": [{\"loupe_model_info\": {\"target_field\": \"loupe\"}}]}");
    request("PUT", "/images/_doc/1?pipeline=loupe-skeleton&refresh=true", "{\"title\": \"a photo\"}");
    JsonNode source = request("GET", "/images/_doc/1", null).path("_source");

    assertEquals("a photo", source.path("title").asText());
    assertEquals(Loupe.version(), source.path("loupe").path("loupe_version").asText());
    JsonNode model = source.path("loupe").path("model");
    assertEquals("Qwen3VLForConditionalGeneration", model.path("architecture").asText());
    assertEquals("qwen3_vl", model.path("model_type").asText());
    assertEquals(2048, model.path("text_hidden_size").asInt());
    assertEquals(28, model.path("text_layers").asInt());
    assertEquals(8, model.path("text_kv_heads").asInt());
    assertEquals(151936, model.path("vocab_size").asInt());
    assertEquals(24, model.path("vision_depth").asInt());
    assertEquals(3, model.path("deepstack_layers").asInt());
    assertTrue(model.path("tie_word_embeddings").asBoolean());
  }

  @Test
  void unknownOptionIsRejectedByElasticsearch() throws Exception {
    HttpResponse<String> response =
        send("PUT", "/_ingest/pipeline/bad", "{\"processors\": [{\"loupe_model_info\": {\"model\": \"/etc\"}}]}");
    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.body().contains("processor [loupe_model_info] doesn't support one or more provided configuration parameters [model]"), response.body());
  }

  private static JsonNode request(String method, String path, String body) throws IOException, InterruptedException {
    HttpResponse<String> response = send(method, path, body);
    assertTrue(response.statusCode() / 100 == 2, method + " " + path + " -> " + response.statusCode() + " " + response.body());
    return JSON.readTree(response.body());
  }

  private static HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
            .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** Runs a command with its output in the test log; fails on a non-zero exit or timeout. */
  private static void run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    // Copy the output through System.out: writing to the forked JVM's own stdout would
    // corrupt the channel failsafe reads test events from.
    Thread copier =
        Thread.ofVirtual()
            .start(
                () -> {
                  try (var lines = process.inputReader().lines()) {
                    lines.forEach(System.out::println);
                  }
                });
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("timed out: " + command);
    }
    copier.join();
    assertEquals(0, process.exitValue(), "failed: " + command);
  }
}
