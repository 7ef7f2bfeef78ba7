package dev.loupe.elasticsearch.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A small REST client for one node. Bodies are JSON strings or objects (serialized with
 * Jackson); {@link #get}/{@link #put}/{@link #post}/{@link #delete} expect a 2xx answer and
 * return its JSON, {@link #send} returns any answer for tests that expect errors.
 */
public final class EsClient {
  public static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private final String baseUrl;
  private final Duration timeout;

  public EsClient(String baseUrl) {
    this(baseUrl, Duration.ofSeconds(120));
  }

  private EsClient(String baseUrl, Duration timeout) {
    this.baseUrl = baseUrl;
    this.timeout = timeout;
  }

  public String baseUrl() {
    return baseUrl;
  }

  /** The same node with another per-request timeout (large bulks on a slow model). */
  public EsClient withTimeout(Duration requestTimeout) {
    return new EsClient(baseUrl, requestTimeout);
  }

  public JsonNode get(String path) {
    return send("GET", path, null).okJson();
  }

  public JsonNode put(String path, Object body) {
    return send("PUT", path, body).okJson();
  }

  public JsonNode post(String path, Object body) {
    return send("POST", path, body).okJson();
  }

  public JsonNode delete(String path) {
    return send("DELETE", path, null).okJson();
  }

  /** {@code POST _bulk} of an NDJSON body (see {@link BulkBody}); returns the answer whatever its items say. */
  public JsonNode bulk(String path, BulkBody body) {
    return send("POST", path, body.toString(), "application/x-ndjson").okJson();
  }

  public EsResponse send(String method, String path, Object body) {
    return send(method, path, body == null ? null : toJson(body), "application/json");
  }

  private EsResponse send(String method, String path, String body, String contentType) {
    String request = method + " " + path;
    HttpRequest httpRequest =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(timeout)
            .header("Content-Type", contentType)
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
            .build();
    try {
      HttpResponse<String> response = HTTP.send(httpRequest, HttpResponse.BodyHandlers.ofString());
      return new EsResponse(request, response.statusCode(), response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(request + " on " + baseUrl + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(request + " interrupted", e);
    }
  }

  /** A string is sent as is (already JSON); anything else goes through Jackson. */
  static String toJson(Object body) {
    if (body instanceof String text) {
      return text;
    }
    try {
      return JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialize request body " + body, e);
    }
  }
}
