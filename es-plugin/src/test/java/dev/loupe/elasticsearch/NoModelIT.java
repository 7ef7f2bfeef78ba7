package dev.loupe.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.loupe.elasticsearch.testing.ClusterSpec;
import dev.loupe.elasticsearch.testing.EsClusterExtension;
import dev.loupe.elasticsearch.testing.EsResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node whose {@code loupe.model.path} names a directory that is not there: it starts and
 * serves, stats say why the model is unusable, and creating an image_caption pipeline is a
 * 400 naming the setting.
 */
@Order(4)  // after the classes that share the tiny-model node (junit-platform.properties)
class NoModelIT {
  @RegisterExtension
  static final EsClusterExtension ES =
      EsClusterExtension.dedicated(ClusterSpec.nodes(1).model(null).setting("loupe.model.path", "models/not-there"));

  @Test
  void pipelineCreateIsA400NamingTheSetting() {
    EsResponse response =
        ES.client().send("PUT", "/_ingest/pipeline/no-model", Map.of("processors", List.of(Map.of("image_caption", Map.of("field", "image")))));
    assertEquals(400, response.status(), response.body());
    assertTrue(response.body().contains("[loupe.model.path] model directory ["), response.body());
    assertTrue(response.body().contains("models/not-there] does not exist or has no config.json"), response.body());
  }

  @Test
  void statsShowTheLoadError() {
    JsonNode node = ES.client().get("/_loupe/stats").get("nodes").elements().next().at("/models/default");
    assertTrue(node.at("/model/path").asText().endsWith("models/not-there"), node.toString());
    assertFalse(node.at("/model/loaded").asBoolean());
    assertTrue(node.at("/model/error").asText().contains("[model_load]") || !node.at("/model/error").isNull(), node.toString());
    assertEquals("green", ES.client().get("/_cluster/health").get("status").asText());
  }
}
