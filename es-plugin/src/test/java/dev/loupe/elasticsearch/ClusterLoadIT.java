package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.BulkBody;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClient;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Back-pressure under load: a few hundred small images in concurrent {@code _bulk} requests
 * against a node whose Loupe queue holds only a handful. Nothing may be lost: every document
 * is indexed with a caption or fails with the queue-full reason and status 429, and a client
 * that retries the rejected ones ends with every document captioned.
 */
@Order(6)  // then TwoNodeIT on the same two-node cluster (junit-platform.properties)
class ClusterLoadIT {
  /** Small queue and batch so a burst overflows; TwoNodeIT uses the same spec and so the same cluster. */
  static final ClusterSpec CLUSTER =
      ClusterSpec.nodes(2).setting("loupe.queue.size", "4").setting("loupe.batch.max_running", "2");

  private static final int DOCUMENTS = 300;
  private static final int CONCURRENT_BULKS = 6;
  private static final String INDEX = "load";
  private static final String PIPELINE = "load-caption";

  @RegisterExtension static final EsClusterExtension ES = EsClusterExtension.shared(CLUSTER);

  private static List<String> images;

  @BeforeAll
  static void pipelineAndImages() {
    // Tiny images resized to at most 64x64 and four new tokens: the run is about the
    // plumbing under pressure, not the model.
    ES.client().put("/_ingest/pipeline/" + PIPELINE, Map.of("processors", List.of(Map.of("image_caption", Map.of(
        "field", "image", "max_new_tokens", 4, "min_pixels", 1024, "max_pixels", 4096,
        "remove_binary", true, "properties", List.of("text"))))));
    images = new ArrayList<>();
    for (int i = 0; i < DOCUMENTS; i++) {
      images.add(Base64.getEncoder().encodeToString(png(i)));
    }
  }

  @Test
  void burstOfConcurrentBulksLosesNothingAndRejectsWithAReason() throws Exception {
    EsClient node = ES.client().withTimeout(java.time.Duration.ofMinutes(5));
    long rejectedBefore = rejectedOnFirstNode();

    List<Integer> rejected = new ArrayList<>();
    int captioned = 0;
    ExecutorService senders = Executors.newFixedThreadPool(CONCURRENT_BULKS);
    try {
      List<Future<JsonNode>> answers = new ArrayList<>();
      int perBulk = DOCUMENTS / CONCURRENT_BULKS;
      for (int b = 0; b < CONCURRENT_BULKS; b++) {
        BulkBody body = new BulkBody();
        for (int i = b * perBulk; i < (b + 1) * perBulk; i++) {
          body.index(INDEX, Integer.toString(i), Map.of("n", i, "image", images.get(i)));
        }
        answers.add(senders.submit(() -> node.bulk("/_bulk?pipeline=" + PIPELINE, body)));
      }
      for (Future<JsonNode> answer : answers) {
        for (JsonNode item : answer.get().path("items")) {
          JsonNode result = item.path("index");
          if (result.has("error")) {
            assertRejectedForBackPressure(result);
            rejected.add(result.path("_id").asInt());
          } else {
            assertEquals(201, result.path("status").asInt(), result.toString());
            captioned++;
          }
        }
      }
    } finally {
      senders.shutdownNow();
    }

    assertEquals(DOCUMENTS, captioned + rejected.size(), "every document is either indexed or failed");
    assertTrue(captioned > 0, "the queue admits work while it has room");
    assertFalse(rejected.isEmpty(), "a burst of " + DOCUMENTS + " against a queue of 4 must be pushed back");
    node.post("/" + INDEX + "/_refresh", null);
    assertEquals(captioned, node.get("/" + INDEX + "/_count").path("count").asInt(), "exactly the accepted documents are indexed");
    assertEquals(rejected.size(), rejectedOnFirstNode() - rejectedBefore, "_loupe/stats counts every rejection");

    int retried = retryUntilAccepted(node, rejected);
    node.post("/" + INDEX + "/_refresh", null);
    assertEquals(DOCUMENTS, node.get("/" + INDEX + "/_count").path("count").asInt(), "after retries every document is indexed");
    JsonNode withoutCaption = node.post("/" + INDEX + "/_count",
        Map.of("query", Map.of("bool", Map.of("must_not", List.of(Map.of("exists", Map.of("field", "caption.text"))))))).path("count");
    assertEquals(0, withoutCaption.asInt(), "every indexed document carries a caption");
    JsonNode withImage = node.post("/" + INDEX + "/_count", Map.of("query", Map.of("exists", Map.of("field", "image")))).path("count");
    assertEquals(0, withImage.asInt(), "remove_binary dropped every image");
    System.out.printf("load: %d documents, %d captioned at once, %d rejected then retried in %d rounds%n",
        DOCUMENTS, captioned, rejected.size(), retried);

    JsonNode health = node.get("/_cluster/health");
    assertTrue(List.of("green", "yellow").contains(health.path("status").asText()), health.toString());
  }

  /** What a well-behaved client does with 429s: resend the rejected documents in small bulks. */
  private static int retryUntilAccepted(EsClient node, List<Integer> rejected) throws InterruptedException {
    List<Integer> pending = new ArrayList<>(rejected);
    int rounds = 0;
    while (!pending.isEmpty()) {
      assertTrue(++rounds <= 50, "documents still rejected after 50 rounds: " + pending.size());
      List<Integer> again = new ArrayList<>();
      for (int start = 0; start < pending.size(); start += 4) {
        BulkBody body = new BulkBody();
        for (int i : pending.subList(start, Math.min(start + 4, pending.size()))) {
          body.index(INDEX, Integer.toString(i), Map.of("n", i, "image", images.get(i)));
        }
        for (JsonNode item : node.bulk("/_bulk?pipeline=" + PIPELINE, body).path("items")) {
          if (item.path("index").has("error")) {
            assertRejectedForBackPressure(item.path("index"));
            again.add(item.path("index").path("_id").asInt());
          }
        }
      }
      pending = again;
      if (!pending.isEmpty()) {
        Thread.sleep(100L * rounds);  // back off as a client should
      }
    }
    return rounds;
  }

  private static void assertRejectedForBackPressure(JsonNode itemResult) {
    JsonNode error = itemResult.path("error");
    assertEquals(429, itemResult.path("status").asInt(), itemResult.toString());
    assertEquals("es_rejected_execution_exception", error.path("type").asText(), itemResult.toString());
    assertTrue(error.path("reason").asText().contains("queue is full"), itemResult.toString());
  }

  private static long rejectedOnFirstNode() {
    JsonNode nodes = ES.client().get("/_loupe/stats").path("nodes");
    for (JsonNode node : nodes) {
      if (node.path("name").asText().equals(ES.node(0).name())) {
        return node.path("models").path("default").path("requests").path("rejected").asLong();
      }
    }
    throw new AssertionError("_loupe/stats does not list " + ES.node(0).name() + ": " + nodes);
  }

  /** A distinct 48x40 PNG per document: a coloured disc on a contrasting background. */
  private static byte[] png(int n) {
    BufferedImage image = new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(Color.getHSBColor((n % 37) / 37f, 0.3f, 0.95f));
    g.fillRect(0, 0, 48, 40);
    g.setColor(Color.getHSBColor((n * 7 % 41) / 41f, 0.9f, 0.6f));
    g.fillOval(4 + n % 20, 4 + n % 12, 20, 20);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
