package dev.loupe.nativelib;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FunctionPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.StdString;

/**
 * Raw JavaCPP mapping of the captioning facade (java/src/main/native/loupe_captioner_jni.h
 * over cpp/include/loupe/captioner.h). Use {@link dev.loupe.LoupeEngine} instead.
 */
@Platform(
    value = "linux-x86_64",
    compiler = "cpp20",
    include = {"loupe/captioner.h", "loupe/options.h", "loupe_jni.h", "loupe_captioner_jni.h"},
    link = "loupe",
    preload = "loupe_cuda")
@Namespace("loupe::jni")
public final class CaptionerNative {
  static {
    Loader.load();
  }

  private CaptionerNative() {}

  /** {@code jni::NativeResult}: valid only during the completion callback. */
  @Name("NativeResult")
  public static final class NativeResult extends Pointer {
    static {
      Loader.load();
    }

    public NativeResult(Pointer p) {
      super(p);
    }

    @MemberGetter public native long id();
    @MemberGetter public native @StdString String text();
    public native @Const int token_count();
    public native @Const int token_at(int index);
    @MemberGetter public native @StdString String finish_reason();
    @MemberGetter public native @StdString String error_kind();
    @MemberGetter public native @StdString String error();
    @MemberGetter public native int prompt_tokens();
    @MemberGetter public native int cached_tokens();
    @MemberGetter public native double image_ms();
    @MemberGetter public native double tokenize_ms();
    @MemberGetter public native double queue_ms();
    @MemberGetter public native double vision_ms();
    @MemberGetter public native double prefill_ms();
    @MemberGetter public native double decode_ms();
    @MemberGetter public native double total_ms();
    @MemberGetter public native double score();
    public native @Const int embedding_size();
    public native @Const void copy_embedding(@Cast("float*") float[] out);
  }

  /** {@code jni::CompletionFn}; must never throw (it runs on the engine's thread). */
  public static class CompletionCallback extends FunctionPointer {
    static {
      Loader.load();
    }

    protected CompletionCallback() {
      allocate();
    }

    private native void allocate();

    public void call(long tag, NativeResult result) {}
  }

  /** {@code jni::TokenFn}; must never throw (it runs on the engine's thread). */
  public static class TokenCallback extends FunctionPointer {
    static {
      Loader.load();
    }

    protected TokenCallback() {
      allocate();
    }

    private native void allocate();

    public void call(long tag, int token, @Cast("const char*") BytePointer textDelta) {}
  }

  /** {@code jni::NativeCaptioner}: one loaded model and its engine. */
  @Name("NativeCaptioner")
  public static final class NativeCaptioner extends Pointer {
    static {
      Loader.load();
    }

    /** {@code options}: "name=value" lines (see {@link dev.loupe.Options}). */
    public NativeCaptioner(String modelDir, String options, CompletionCallback onComplete, TokenCallback onToken) {
      allocate(modelDir, options, onComplete, onToken);
    }

    private native void allocate(
        @StdString String modelDir,
        @StdString String options,
        CompletionCallback onComplete,
        TokenCallback onToken);

    public native long submit(
        long tag,
        @Cast("const signed char*") byte[] data,
        @Cast("const int64_t*") long[] sizes,
        int count,
        @Cast("const signed char*") byte[] text,
        @Cast("const int64_t*") long[] textSizes,
        @Cast("bool") boolean hasSampling,
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        int maxNewTokens,
        long seed,
        int constraintKind,
        long minPixels,
        long maxPixels,
        long timeoutMs,
        @Cast("bool") boolean stream);

    public native long embed(
        long tag,
        @Cast("const signed char*") byte[] data,
        @Cast("const int64_t*") long[] sizes,
        int count,
        @Cast("const signed char*") byte[] text,
        @Cast("const int64_t*") long[] textSizes,
        int dimensions,
        long maxPixels,
        long timeoutMs);

    public native long score(
        long tag,
        @Cast("const signed char*") byte[] data,
        @Cast("const int64_t*") long[] sizes,
        int queryImages,
        int documentImages,
        @Cast("const signed char*") byte[] text,
        @Cast("const int64_t*") long[] textSizes,
        long maxPixels,
        long timeoutMs);

    /** Throws (as a submit would) when the constraint is invalid for this model. */
    public native void check_constraint(int kind, @Cast("const signed char*") byte[] source, long length);

    /** What the checkpoint can do as {@code name=value} lines (ModelCapabilities member names). */
    public native @StdString String capability_lines();

    public native @Cast("bool") boolean cancel(long id);

    /** Every engine counter as a {@code name=value} line (EngineStats member names). */
    public native @StdString String stats_lines();

    public native void close();
  }
}
