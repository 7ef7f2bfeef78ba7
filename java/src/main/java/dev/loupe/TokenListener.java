package dev.loupe;

/**
 * Receives tokens as they are generated. Called on the engine's scheduler thread: return
 * quickly and never block (hand work to another thread). Exceptions are logged and ignored.
 */
@FunctionalInterface
public interface TokenListener {
  /** {@code textDelta} is the newly completed text; empty while a character is still partial. */
  void onToken(int tokenId, String textDelta);
}
