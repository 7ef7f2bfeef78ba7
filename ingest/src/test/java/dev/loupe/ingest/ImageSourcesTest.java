package dev.loupe.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.loupe.InvalidRequestException;
import dev.loupe.LimitExceededException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Base64;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ImageSourcesTest {
  static final byte[] PAYLOAD = new byte[3000];

  static HttpServer serve() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/img",
        exchange -> {
          exchange.sendResponseHeaders(200, PAYLOAD.length);
          exchange.getResponseBody().write(PAYLOAD);
          exchange.close();
        });
    server.start();
    return server;
  }

  @Test
  void urlsAreOffByDefault() {
    ImageSources sources = new ImageSources(UrlPolicy.disabled());
    assertThrows(InvalidRequestException.class, () -> sources.url("http://127.0.0.1/img"));
    assertFalse(UrlPolicy.disabled().allows("127.0.0.1"));
  }

  @Test
  void onlyAllowlistedHostsWithinTheSizeLimitAreFetched() throws Exception {
    HttpServer server = serve();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/img";
      ImageSources allowed = new ImageSources(UrlPolicy.allowing(Set.of("127.0.0.1"), 4096, Duration.ofSeconds(5)));
      assertEquals(PAYLOAD.length, allowed.url(url).bytes().length);
      ImageSources small = new ImageSources(UrlPolicy.allowing(Set.of("127.0.0.1"), 1024, Duration.ofSeconds(5)));
      assertThrows(LimitExceededException.class, () -> small.url(url));
      ImageSources other = new ImageSources(UrlPolicy.allowing(Set.of("images.example.com"), 4096, Duration.ofSeconds(5)));
      assertThrows(InvalidRequestException.class, () -> other.url(url));
      assertThrows(InvalidRequestException.class, () -> allowed.url("file:///etc/passwd"));
    } finally {
      server.stop(0);
    }
  }

  @Test
  void base64() {
    byte[] bytes = {1, 2, 3};
    assertArrayEquals(bytes, new ImageSources(UrlPolicy.disabled()).base64(Base64.getEncoder().encodeToString(bytes)).bytes());
  }
}
