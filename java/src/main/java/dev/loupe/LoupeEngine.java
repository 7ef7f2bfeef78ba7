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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
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

  /** A request in flight: its future, and what its value is read from in the native result. */
  private static final class Pending {
    final LoupeEngine engine;
    final LoupeFuture<Object> future;
    final Function<NativeResult, Object> reader;
    final TokenListener listener;
    volatile long nativeId = -1;
    volatile boolean cancelRequested;

    @SuppressWarnings("unchecked")
    Pending(LoupeEngine engine, LoupeFuture<?> future, Function<NativeResult, ?> reader, TokenListener listener) {
      this.engine = engine;
      this.future = (LoupeFuture<Object>) future;
      this.reader = (Function<NativeResult, Object>) reader;
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
    long[] sizes = new long[request.images().size()];
    long[] textSizes = new long[sizes.length + 3];
    OutputConstraint constraint = request.prompt().constraint();
    return start(
        CaptionFuture::new,
        LoupeEngine::toCaption,
        request.listener(),
        () -> new byte[][] {imageBytes(request.images(), sizes), textBytes(request.prompt(), sizes.length, textSizes)},
        (tag, bytes) -> {
          SamplingParams s = request.sampling();
          boolean sampled = s != null;
          return captioner.submit(
              tag, bytes[0], sizes, sizes.length, bytes[1], textSizes,
              sampled,
              sampled ? s.temperature() : 0f,
              sampled ? s.topK() : 0,
              sampled ? s.topP() : 1f,
              sampled ? s.minP() : 0f,
              sampled ? s.repetitionPenalty() : 1f,
              sampled ? s.maxNewTokens() : 0,
              sampled ? s.seed() : 0L,
              constraint == null ? -1 : constraint.kind().ordinal(),
              request.minPixels(),
              request.maxPixels(),
              millis(request.timeout()),
              request.listener() != null);
        });
  }

  /**
   * Embeds one input (Qwen3-VL-Embedding): the future completes with the unit-length vector.
   * Embeddings are prefill only and batch with everything else in flight; a repeated
   * instruction or image is computed once (prefix cache).
   */
  public LoupeFuture<float[]> embed(EmbedRequest request) {
    RetrievalInput input = request.input();
    long[] sizes = new long[input.images().size()];
    long[] textSizes = new long[2];
    return start(
        LoupeFuture::new,
        LoupeEngine::toEmbedding,
        null,
        () -> new byte[][] {imageBytes(input.images(), sizes), texts(textSizes, request.instruction(), input.text())},
        (tag, bytes) ->
            captioner.embed(
                tag, bytes[0], sizes, sizes.length, bytes[1], textSizes, request.dimensions(), request.maxPixels(),
                millis(request.timeout())));
  }

  /** Submits every request at once, so the engine batches them; futures in request order. */
  public List<LoupeFuture<float[]>> embedAll(List<EmbedRequest> requests) {
    List<LoupeFuture<float[]>> futures = new ArrayList<>(requests.size());
    for (EmbedRequest request : requests) futures.add(embed(request));
    return futures;
  }

  /**
   * Scores each document against the query with a reranker checkpoint (Qwen3-VL-Reranker):
   * the probability, in document order, that the document answers the query. Every pair is
   * in flight at once and shares the query's prefix. {@code instruction} null: the reranker's
   * default. Cancelling the returned future cancels every pair.
   */
  public LoupeFuture<double[]> rerank(RetrievalInput query, List<RetrievalInput> documents, String instruction) {
    return rerank(RerankRequest.of(query, documents).withInstruction(instruction));
  }

  /** As {@link #rerank(RetrievalInput, List, String)}, with a resize budget and a deadline. */
  public LoupeFuture<double[]> rerank(RerankRequest request) {
    List<LoupeFuture<Double>> pairs = new ArrayList<>(request.documents().size());
    LoupeFuture<double[]> all = new LoupeFuture<>(() -> pairs.forEach(p -> p.cancel(false)));
    for (RetrievalInput document : request.documents()) pairs.add(score(request, document));
    CompletableFuture.allOf(pairs.toArray(CompletableFuture[]::new))
        .whenComplete(
            (ignored, error) -> {
              if (error != null) {
                all.completeExceptionally(error instanceof CompletionException c ? c.getCause() : error);
                return;
              }
              double[] scores = new double[pairs.size()];
              for (int i = 0; i < scores.length; i++) scores[i] = pairs.get(i).join();
              all.complete(scores);
            });
    return all;
  }

  private LoupeFuture<Double> score(RerankRequest request, RetrievalInput document) {
    RetrievalInput query = request.query();
    long[] sizes = new long[query.images().size() + document.images().size()];
    long[] textSizes = new long[3];
    List<ImageInput> images = new ArrayList<>(query.images());
    images.addAll(document.images());
    return start(
        LoupeFuture::new,
        NativeResult::score,
        null,
        () -> new byte[][] {imageBytes(images, sizes), texts(textSizes, request.instruction(), query.text(), document.text())},
        (tag, bytes) ->
            captioner.score(
                tag, bytes[0], sizes, query.images().size(), document.images().size(), bytes[1], textSizes,
                request.maxPixels(), millis(request.timeout())));
  }

  /** What the loaded checkpoint can do (embed, caption, score) and its embedding sizes. */
  public ModelCapabilities capabilities() {
    lifecycle.readLock().lock();
    try {
      if (closed) throw new CancelledException("engine is closed");
      return ModelCapabilities.fromLines(captioner.capability_lines());
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  /**
   * Compiles {@code constraint} against this checkpoint's tokens as a submit would, without
   * generating: an invalid schema, regex or grammar throws {@link InvalidRequestException}
   * (so a pipeline can be refused when it is defined rather than per document).
   */
  public void checkConstraint(OutputConstraint constraint) {
    byte[] source = constraint.source().getBytes(StandardCharsets.UTF_8);
    lifecycle.readLock().lock();
    try {
      if (closed) throw new CancelledException("engine is closed");
      captioner.check_constraint(constraint.kind().ordinal(), source, source.length);
    } catch (RuntimeException e) {
      throw e instanceof LoupeException le ? le : LoupeException.fromNative(e);
    } finally {
      lifecycle.readLock().unlock();
    }
  }

  private interface NativeSubmit {
    long submit(long tag, byte[][] bytes);
  }

  private interface Encoder {
    byte[][] encode();
  }

  /**
   * The one submit path: registers the request under a fresh tag, hands it to the engine and
   * turns every failure (encoding, a closed engine, a refusal) into the future's exception.
   */
  private <T, F extends LoupeFuture<T>> F start(
      Function<Runnable, F> newFuture,
      Function<NativeResult, T> reader,
      TokenListener listener,
      Encoder encoder,
      NativeSubmit nativeSubmit) {
    long tag = TAGS.incrementAndGet();
    Pending[] self = new Pending[1];
    F future = newFuture.apply(() -> cancelNative(self[0]));
    Pending pending = new Pending(this, future, reader, listener);
    self[0] = pending;
    byte[][] bytes;
    try {
      bytes = encoder.encode();
    } catch (LoupeException e) {
      future.completeExceptionally(e);
      return future;
    }
    lifecycle.readLock().lock();
    try {
      if (closed) throw new CancelledException("engine is closed");
      PENDING.put(tag, pending);
      inFlight.add(tag);
      long id = nativeSubmit.submit(tag, bytes);
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

  private static long millis(java.time.Duration timeout) {
    return timeout == null ? 0 : Math.max(1, timeout.toMillis());
  }

  /**
   * UTF-8 pieces back to back (the JDK's encoder: JNI strings would be modified UTF-8);
   * sizes[k] = the length of piece k, -1 for a null piece.
   */
  private static byte[] texts(long[] sizes, String... pieces) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < pieces.length; i++) {
      if (pieces[i] == null) {
        sizes[i] = -1;
        continue;
      }
      byte[] bytes = pieces[i].getBytes(StandardCharsets.UTF_8);
      sizes[i] = bytes.length;
      out.writeBytes(bytes);
    }
    return out.toByteArray();
  }

  private static float[] toEmbedding(NativeResult r) {
    float[] vector = new float[r.embedding_size()];
    r.copy_embedding(vector);
    return vector;
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
   * The system prompt (null: none), the text segments around the images, then the output
   * constraint's source (null: none), as {@link #texts} pieces.
   */
  private static byte[] textBytes(Prompt prompt, int imageCount, long[] sizes) {
    List<String> pieces = new ArrayList<>();
    pieces.add(prompt.systemPrompt());
    pieces.addAll(prompt.segmentsAround(imageCount));
    pieces.add(prompt.constraint() == null ? null : prompt.constraint().source());
    return texts(sizes, pieces.toArray(String[]::new));
  }

  /** The encoded images back to back (one image: its own array, no copy); fills sizes. */
  private static byte[] imageBytes(List<ImageInput> images, long[] sizes) {
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
        Object value = errorKind.isEmpty() ? pending.reader.apply(result) : null;
        LoupeException error =
            errorKind.isEmpty() ? null : LoupeException.of(ErrorKind.fromNativeName(errorKind), result.error());
        COMPLETER.execute(
            () -> {
              if (error == null) pending.future.complete(value);
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
