package dev.loupe;

import dev.loupe.nativelib.CaptionerNative;
import dev.loupe.nativelib.CaptionerNative.NativeCaptioner;
import dev.loupe.nativelib.CaptionerNative.NativeResult;
import java.io.ByteArrayOutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.bytedeco.javacpp.BytePointer;

/**
 * A loaded model and its engine; thread-safe. Requests from any number of threads are
 * batched together natively. Closing completes every request still in flight with
 * {@link CancelledException} and frees the native memory.
 *
 * <p>Native completions arrive on the engine's scheduler thread through ONE process-wide
 * callback (JavaCPP keeps a small fixed pool of callback thunks per class), which looks the
 * request up by tag and completes its future on a separate thread, so user continuations
 * never run on (or stall) the scheduler.
 */
public final class LoupeEngine implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(LoupeEngine.class.getName());
  private static final AtomicLong TAGS = new AtomicLong();
  private static final Map<Long, Pending> PENDING = new ConcurrentHashMap<>();
  private static final ExecutorService COMPLETER =
      Executors.newCachedThreadPool(
          runnable -> {
            Thread thread = new Thread(runnable, "loupe-completion");
            thread.setDaemon(true);
            return thread;
          });
  private static final CaptionerNative.CompletionCallback ON_COMPLETE = new CompletionThunk();
  private static final CaptionerNative.TokenCallback ON_TOKEN = new TokenThunk();

  private final NativeCaptioner captioner;
  private final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private boolean closed;

  private static final class Pending {
    final LoupeEngine engine;
    final CaptionFuture future;
    final TokenListener listener;
    volatile long nativeId = -1;
    volatile boolean cancelRequested;

    Pending(LoupeEngine engine, CaptionFuture future, TokenListener listener) {
      this.engine = engine;
      this.future = future;
      this.listener = listener;
    }
  }

  LoupeEngine(Path modelDir, Options options) {
    try {
      this.captioner = new NativeCaptioner(modelDir.toString(), options.nativeLines(), ON_COMPLETE, ON_TOKEN);
    } catch (LoupeException e) {
      throw e;
    } catch (RuntimeException e) {
      throw LoupeException.fromNative(e);
    }
  }

  /** Captions one image. Failures (bad image, limits, timeout, ...) complete the future exceptionally. */
  public CaptionFuture caption(ImageInput image, Prompt prompt, SamplingParams sampling) {
    return submit(CaptionRequest.of(image, prompt, sampling));
  }

  /** Submits every request at once, so the engine can batch them; futures in request order. */
  public List<CaptionFuture> captionAll(List<CaptionRequest> requests) {
    List<CaptionFuture> futures = new ArrayList<>(requests.size());
    for (CaptionRequest request : requests) futures.add(submit(request));
    return futures;
  }

  /**
   * Submits one request. The engine queues it with its encoded images and decodes them when
   * a batch slot is near; a full queue, a bad image or an exceeded limit completes the returned
   * future exceptionally, on a Loupe completion thread like every result.
   */
  public CaptionFuture submit(CaptionRequest request) {
    long tag = TAGS.incrementAndGet();
    Pending[] self = new Pending[1];
    CaptionFuture future = new CaptionFuture(() -> cancelNative(self[0]));
    Pending pending = new Pending(this, future, request.listener());
    self[0] = pending;
    long[] sizes = new long[request.images().size()];
    byte[] data;
    long[] textSizes = new long[sizes.length + 2];
    byte[] text;
    try {
      data = imageBytes(request, sizes);
      text = textBytes(request.prompt(), sizes.length, textSizes);
    } catch (LoupeException e) {
      future.completeExceptionally(e);
      return future;
    }
    lifecycle.readLock().lock();
    try {
      if (closed) throw new CancelledException("engine is closed");
      PENDING.put(tag, pending);
      inFlight.add(tag);
      SamplingParams s = request.sampling();
      boolean sampled = s != null;
      long id =
          captioner.submit(
              tag, data, sizes, sizes.length, text, textSizes,
              sampled,
              sampled ? s.temperature() : 0f,
              sampled ? s.topK() : 0,
              sampled ? s.topP() : 1f,
              sampled ? s.minP() : 0f,
              sampled ? s.repetitionPenalty() : 1f,
              sampled ? s.maxNewTokens() : 0,
              sampled ? s.seed() : 0L,
              request.minPixels(),
              request.maxPixels(),
              request.timeout() == null ? 0 : Math.max(1, request.timeout().toMillis()),
              request.listener() != null);
      pending.nativeId = id;
      if (pending.cancelRequested) captioner.cancel(id);
    } catch (RuntimeException e) {
      forget(tag);
      LoupeException error = e instanceof LoupeException le ? le : LoupeException.fromNative(e);
      future.completeExceptionally(error);
    } finally {
      lifecycle.readLock().unlock();
    }
    return future;
  }

  /** Blocking convenience: the caption text or the typed LoupeException. */
  public Caption captionNow(ImageInput image, Prompt prompt, SamplingParams sampling) {
    try {
      return caption(image, prompt, sampling).join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException cause) throw cause;
      throw e;
    }
  }

  public EngineStats stats() {
    lifecycle.readLock().lock();
    try {
      if (closed) throw new CancelledException("engine is closed");
      return EngineStats.fromLines(captioner.stats_lines());
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /** Requests submitted and not yet completed. */
  public int inFlight() {
    return inFlight.size();
  }

  @Override
  public void close() {
    lifecycle.writeLock().lock();
    try {
      if (closed) return;
      closed = true;
      try {
        captioner.close();  // the engine completes what it holds as cancelled, via the callback
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "closing the native engine failed", e);
      }
      for (Long tag : List.copyOf(inFlight)) {
        Pending pending = PENDING.remove(tag);
        if (pending != null) pending.future.completeExceptionally(new CancelledException("engine closed"));
      }
      inFlight.clear();
      captioner.deallocate();  // deletes the native captioner (joins the scheduler thread)
    } finally {
      lifecycle.writeLock().unlock();
    }
  }

  private void cancelNative(Pending pending) {
    pending.cancelRequested = true;
    long id = pending.nativeId;
    if (id < 0) return;  // submit() cancels once it knows the id
    // tryLock: a listener may cancel on the scheduler thread while close() holds the write
    // lock and waits for that thread; close() cancels everything anyway.
    if (!lifecycle.readLock().tryLock()) return;
    try {
      if (!closed) captioner.cancel(id);
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, "cancel failed", e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private void forget(long tag) {
    PENDING.remove(tag);
    inFlight.remove(tag);
  }

  /**
   * UTF-8 (the JDK's encoder: JNI strings would be modified UTF-8) of the system prompt then
   * the segments around the images; sizes[0] = -1 when there is no system prompt.
   */
  private static byte[] textBytes(Prompt prompt, int imageCount, long[] sizes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    sizes[0] = -1;
    if (prompt.systemPrompt() != null) {
      byte[] system = prompt.systemPrompt().getBytes(StandardCharsets.UTF_8);
      sizes[0] = system.length;
      out.writeBytes(system);
    }
    List<String> segments = prompt.segmentsAround(imageCount);
    for (int i = 0; i < segments.size(); i++) {
      byte[] bytes = segments.get(i).getBytes(StandardCharsets.UTF_8);
      sizes[1 + i] = bytes.length;
      out.writeBytes(bytes);
    }
    return out.toByteArray();
  }

  /** The encoded images back to back (one image: its own array, no copy); fills sizes. */
  private static byte[] imageBytes(CaptionRequest request, long[] sizes) {
    List<ImageInput> images = request.images();
    if (images.size() == 1) {
      sizes[0] = images.get(0).bytes().length;
      return images.get(0).bytes();
    }
    ByteArrayOutputStream concatenated = new ByteArrayOutputStream();
    for (int i = 0; i < sizes.length; i++) {
      byte[] bytes = images.get(i).bytes();
      sizes[i] = bytes.length;
      concatenated.writeBytes(bytes);
    }
    return concatenated.toByteArray();
  }

  private static Caption toCaption(NativeResult r) {
    int count = r.token_count();
    List<Integer> ids = new ArrayList<>(count);
    for (int i = 0; i < count; i++) ids.add(r.token_at(i));
    return new Caption(
        r.text(),
        List.copyOf(ids),
        r.finish_reason(),
        r.prompt_tokens(),
        r.cached_tokens(),
        new Caption.Timings(
            r.image_ms(), r.tokenize_ms(), r.queue_ms(), r.vision_ms(), r.prefill_ms(), r.decode_ms(), r.total_ms()));
  }

  /** Runs on the scheduler thread: copy the result out, complete elsewhere, never throw. */
  private static final class CompletionThunk extends CaptionerNative.CompletionCallback {
    @Override
    public void call(long tag, NativeResult result) {
      try {
        Pending pending = PENDING.remove(tag);
        if (pending == null) return;
        pending.engine.inFlight.remove(tag);
        String errorKind = result.error_kind();
        Caption caption = errorKind.isEmpty() ? toCaption(result) : null;
        LoupeException error =
            caption != null ? null : LoupeException.of(ErrorKind.fromNativeName(errorKind), result.error());
        COMPLETER.execute(
            () -> {
              if (caption != null) pending.future.complete(caption);
              else pending.future.completeExceptionally(error);
            });
      } catch (Throwable t) {
        LOG.log(Level.ERROR, "completion callback failed", t);
      }
    }
  }

  private static final class TokenThunk extends CaptionerNative.TokenCallback {
    @Override
    public void call(long tag, int token, BytePointer textDelta) {
      try {
        Pending pending = PENDING.get(tag);
        if (pending == null || pending.listener == null) return;
        pending.listener.onToken(token, textDelta == null ? "" : textDelta.getString(StandardCharsets.UTF_8));
      } catch (Throwable t) {
        LOG.log(Level.WARNING, "token listener failed", t);
      }
    }
  }
}
