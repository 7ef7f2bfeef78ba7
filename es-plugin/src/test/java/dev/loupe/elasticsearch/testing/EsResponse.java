package dev.loupe.elasticsearch.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/** One HTTP answer from a node: status and body, the body parsed on demand. */
public record EsResponse(String request, int status, String body) {

  public boolean ok() {
    return status / 100 == 2;
  }

  public JsonNode json() {
    try {
      return EsClient.JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw new AssertionError(request + " -> " + status + ": body is not JSON: " + body, e);
    }
  }

  /** This response's JSON; an {@link AssertionError} naming the request when the status is not 2xx. */
  public JsonNode okJson() {
    if (!ok()) {
      throw new AssertionError(request + " -> " + status + " " + body);
    }
    return json();
  }
}
