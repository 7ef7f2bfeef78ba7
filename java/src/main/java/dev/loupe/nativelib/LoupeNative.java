package dev.loupe.nativelib;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.ByVal;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.MemberGetter;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.StdString;

/**
 * Raw JavaCPP mapping of the public C++ API (cpp/include/loupe/loupe.h), one to one. The
 * JavaCPP Builder generates the JNI code from these declarations at build time. Use
 * {@link dev.loupe.Loupe} instead: it converts values and errors into plain Java types.
 */
@Platform(
    value = "linux-x86_64",
    compiler = "cpp17",
    include = {"loupe/loupe.h", "loupe_jni.h"},
    link = "loupe",
    // The CUDA backend, when built: shipped and extracted next to libloupe, which dlopens it
    // on demand. Preloading it fails harmlessly where the CUDA runtime is absent.
    preload = "loupe_cuda")
@Namespace("loupe")
public final class LoupeNative {
  static {
    Loader.load();
  }

  private LoupeNative() {}

  @Name("jni::version")
  public static native @StdString String version();

  @Name("jni::inspect_model")
  public static native @ByVal ModelInfo inspect_model(@StdString String modelDir);

  /** {@code loupe::ModelInfo}: each getter reads the same-named struct field. */
  @Name("ModelInfo")
  public static final class ModelInfo extends Pointer {
    static {
      Loader.load();
    }

    public ModelInfo() {
      allocate();
    }

    private native void allocate();

    @MemberGetter public native @StdString String architecture();
    @MemberGetter public native @StdString String model_type();
    @MemberGetter public native int text_hidden_size();
    @MemberGetter public native int text_layers();
    @MemberGetter public native int text_heads();
    @MemberGetter public native int text_kv_heads();
    @MemberGetter public native int text_head_dim();
    @MemberGetter public native int vocab_size();
    @MemberGetter public native int vision_depth();
    @MemberGetter public native int vision_hidden_size();
    @MemberGetter public native int deepstack_layers();
    @MemberGetter public native @Cast("bool") boolean tie_word_embeddings();
  }
}
