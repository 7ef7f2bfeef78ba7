package dev.loupe.ingest;

import dev.loupe.ImageInput;
import dev.loupe.LimitExceededException;
import dev.loupe.InvalidRequestException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

/** Turns the ways images arrive (bytes, base64, a file, an allowed URL) into ImageInput. */
public final class ImageSources {
  private final UrlPolicy urlPolicy;
  private final HttpClient http;

  public ImageSources(UrlPolicy urlPolicy) {
    this.urlPolicy = urlPolicy;
    this.http =
        urlPolicy.enabled()
            ? HttpClient.newBuilder().connectTimeout(urlPolicy.timeout()).followRedirects(HttpClient.Redirect.NEVER).build()
            : null;
  }

  public ImageInput bytes(byte[] encoded) {
    return ImageInput.ofBytes(encoded);
  }

  public ImageInput base64(String text) {
    return ImageInput.ofBase64(text);
  }

  public ImageInput file(Path path) {
    return ImageInput.ofFile(path);
  }

  /**
   * Fetches an http(s) URL whose host is on the allowlist, reading at most maxBytes within
   * the timeout. Redirects are not followed (they could leave the allowlist).
   */
  public ImageInput url(String url) throws IOException, InterruptedException {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw new InvalidRequestException("not a URL: " + url);
    }
    if (!urlPolicy.enabled()) throw new InvalidRequestException("URL fetching is disabled; enable it with a host allowlist");
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
    if (!scheme.equals("http") && !scheme.equals("https")) throw new InvalidRequestException("only http(s) URLs are fetched: " + url);
    if (!urlPolicy.allows(uri.getHost())) throw new InvalidRequestException("host not on the URL allowlist: " + uri.getHost());
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(urlPolicy.timeout()).GET().build();
    HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) throw new IOException("GET " + url + " returned HTTP " + response.statusCode());
      byte[] bytes = body.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, urlPolicy.maxBytes() + 1));
      if (bytes.length > urlPolicy.maxBytes()) {
        throw new LimitExceededException("image at " + url + " exceeds " + urlPolicy.maxBytes() + " bytes");
      }
      return ImageInput.ofBytes(bytes);
    }
  }
}
