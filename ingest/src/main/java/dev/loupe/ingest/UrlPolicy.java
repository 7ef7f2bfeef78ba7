package dev.loupe.ingest;

import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * When image URLs may be fetched. Off by default: fetching arbitrary URLs from an indexing
 * pipeline is a server-side request forgery risk, so the caller names the hosts.
 */
public record UrlPolicy(boolean enabled, Set<String> allowedHosts, long maxBytes, Duration timeout) {
  public UrlPolicy {
    allowedHosts = allowedHosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    if (maxBytes <= 0) throw new IllegalArgumentException("maxBytes must be positive");
  }

  public static UrlPolicy disabled() {
    return new UrlPolicy(false, Set.of(), 1, Duration.ofSeconds(1));
  }

  public static UrlPolicy allowing(Set<String> hosts, long maxBytes, Duration timeout) {
    return new UrlPolicy(true, hosts, maxBytes, timeout);
  }

  public boolean allows(String host) {
    return enabled && host != null && allowedHosts.contains(host.toLowerCase(Locale.ROOT));
  }
}
