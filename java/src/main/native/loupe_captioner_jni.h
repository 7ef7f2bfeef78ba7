#pragma once
// The Captioner as the Java binding sees it: flat structs of primitives and strings, and
// two process-wide C callbacks (JavaCPP FunctionPointer thunks are a small fixed pool per
// class, so Java allocates one of each for the whole JVM and dispatches by tag). Nothing
// thrown here may cross into the engine's scheduler thread; calls from Java rethrow as
// "[kind] message" like loupe_jni.h.
#include <jni.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loupe/captioner.h"
#include "loupe/options.h"
#include "loupe_jni.h"

namespace loupe::jni {

struct NativeResult {
  int64_t id = 0;
  std::string text;
  std::vector<int32_t> token_ids;
  std::string finish_reason;
  std::string error_kind, error;
  int32_t prompt_tokens = 0, cached_tokens = 0;
  double image_ms = 0, tokenize_ms = 0, queue_ms = 0, vision_ms = 0, prefill_ms = 0, decode_ms = 0, total_ms = 0;
  std::vector<float> embedding;
  double score = 0;
  int32_t token_count() const { return static_cast<int32_t>(token_ids.size()); }
  int32_t token_at(int32_t i) const { return token_ids.at(static_cast<size_t>(i)); }
  int32_t embedding_size() const { return static_cast<int32_t>(embedding.size()); }
  // Copies the embedding into out[0, embedding_size()) (a Java float[] of that length).
  void copy_embedding(float* out) const { std::copy(embedding.begin(), embedding.end(), out); }
};


// jlong/jint: the exact types of JavaCPP's generated thunks.
using CompletionFn = void (*)(jlong tag, NativeResult* result);
using TokenFn = void (*)(jlong tag, jint token, const char* text_delta);

class NativeCaptioner {
 public:
  // `options`: "name=value" lines over the defaults (loupe/options.h names and parses them).
  NativeCaptioner(const std::string& model_dir, const std::string& options, CompletionFn on_complete, TokenFn on_token)
      : on_complete_(on_complete), on_token_(on_token) {
    with_error_kind([&] {
      captioner_ = Captioner::open(model_dir, captioner_options_from_lines(options));
      return 0;
    });
  }

  // `data` holds the encoded images back to back; sizes[i] is the length of image i.
  // Plain arguments rather than a params object: every Pointer Java allocates is counted
  // against JavaCPP's maxPhysicalBytes, which a model in host RAM already exceeds.
  // `text` is UTF-8 (Java's own encoder, not JNI's modified UTF-8) in pieces of
  // text_sizes[k] bytes (TextPieces): the system prompt (-1 for none), count + 1 text
  // segments around the images, then the output constraint's source (-1 for none) of
  // constraint_kind (OutputConstraint::Kind; -1: none).
  int64_t submit(int64_t tag, const signed char* data, const int64_t* sizes, int32_t count, const signed char* text,
                 const int64_t* text_sizes, bool has_sampling, float temperature,
                 int32_t top_k, float top_p, float min_p, float repetition_penalty, int32_t max_new_tokens, int64_t seed,
                 int32_t constraint_kind, int64_t min_pixels, int64_t max_pixels, int64_t timeout_ms, bool stream) {
    return with_error_kind([&]() -> int64_t {
      CaptionRequest request;
      request.images = images(data, sizes, 0, count);
      TextPieces pieces(text, text_sizes);
      request.system_prompt = pieces.optional();
      for (int32_t i = 0; i <= count; ++i) request.text_segments.push_back(pieces.next());
      if (auto source = pieces.optional(); source && constraint_kind >= 0)
        request.constraint = OutputConstraint{constraint_of(constraint_kind), std::move(*source)};
      if (has_sampling) {
        SamplingParams s = captioner_->default_sampling();  // keeps the stop ids
        s.temperature = temperature;
        s.top_k = top_k;
        s.top_p = top_p;
        s.min_p = min_p;
        s.repetition_penalty = repetition_penalty;
        s.max_new_tokens = max_new_tokens;
        s.seed = static_cast<uint64_t>(seed);
        request.sampling = s;
      }
      request.min_pixels = min_pixels;
      request.max_pixels = max_pixels;
      request.timeout_ms = timeout_ms;
      CaptionCallbacks callbacks = completion(tag);
      if (stream) {
        callbacks.on_token = [tag, fn = on_token_](int32_t token, const std::string& delta) {
          try {
            fn(tag, token, delta.c_str());
          } catch (...) {
          }
        };
      }
      return static_cast<int64_t>(captioner_->submit(std::move(request), std::move(callbacks)));
    });
  }

  // Embeddings and reranker pairs. `data`/`sizes`: the encoded images back to back, the
  // query's (or the input's) first; `text`: UTF-8 pieces of text_sizes[k] bytes each, the
  // instruction first (-1: the default), then the input's text (embed) or the query's and
  // the document's (score).
  int64_t embed(int64_t tag, const signed char* data, const int64_t* sizes, int32_t count, const signed char* text,
                const int64_t* text_sizes, int32_t dimensions, int64_t max_pixels, int64_t timeout_ms) {
    return with_error_kind([&]() -> int64_t {
      EmbedRequest request;
      TextPieces pieces(text, text_sizes);
      request.instruction = pieces.optional();
      request.input = {images(data, sizes, 0, count), pieces.next()};
      request.dimensions = dimensions;
      request.max_pixels = max_pixels;
      request.timeout_ms = timeout_ms;
      return static_cast<int64_t>(captioner_->submit_embed(std::move(request), completion(tag)));
    });
  }

  int64_t score(int64_t tag, const signed char* data, const int64_t* sizes, int32_t query_images,
                int32_t document_images, const signed char* text, const int64_t* text_sizes, int64_t max_pixels,
                int64_t timeout_ms) {
    return with_error_kind([&]() -> int64_t {
      ScoreRequest request;
      TextPieces pieces(text, text_sizes);
      request.instruction = pieces.optional();
      request.query = {images(data, sizes, 0, query_images), pieces.next()};
      request.document = {images(data, sizes, query_images, document_images), pieces.next()};
      request.max_pixels = max_pixels;
      request.timeout_ms = timeout_ms;
      return static_cast<int64_t>(captioner_->submit_score(std::move(request), completion(tag)));
    });
  }

  void check_constraint(int32_t kind, const signed char* source, int64_t length) const {
    with_error_kind([&] {
      captioner_->check_constraint(
          OutputConstraint{constraint_of(kind), std::string(reinterpret_cast<const char*>(source), size_t(length))});
      return 0;
    });
  }

  // What the checkpoint can do, as "name=value" lines (ModelCapabilities member names).
  std::string capability_lines() const {
    return with_error_kind([&] {
      const ModelCapabilities c = captioner_->capabilities();
      return "embedding_model=" + std::string(c.embedding_model ? "true" : "false") +
             "\ncan_generate=" + (c.can_generate ? "true" : "false") + "\ncan_score=" + (c.can_score ? "true" : "false") +
             "\nembedding_size=" + std::to_string(c.embedding_size) +
             "\nmin_embedding_dimensions=" + std::to_string(c.min_embedding_dimensions) + "\n";
    });
  }

  bool cancel(int64_t id) {
    return with_error_kind([&] { return captioner_->cancel(static_cast<uint64_t>(id)); });
  }

  // Every counter as a "name=value" line (engine_stats_fields): read by name in Java.
  std::string stats_lines() const {
    return with_error_kind([&] {
      std::string lines;
      for (const auto& [name, value] : engine_stats_fields(captioner_->stats()))
        lines.append(name).append("=").append(std::to_string(value)).append("\n");
      return lines;
    });
  }

  void close() {
    with_error_kind([&] {
      if (captioner_) captioner_->close();
      return 0;
    });
  }

 private:
  // Consecutive UTF-8 pieces of a packed buffer; a size of -1 is an absent piece.
  // An unknown number is refused when the constraint is compiled.
  static OutputConstraint::Kind constraint_of(int32_t kind) { return static_cast<OutputConstraint::Kind>(kind); }

  struct TextPieces {
    const char* cursor;
    const int64_t* sizes;
    TextPieces(const signed char* text, const int64_t* text_sizes)
        : cursor(reinterpret_cast<const char*>(text)), sizes(text_sizes) {}
    std::optional<std::string> optional() {
      const int64_t n = *sizes++;
      if (n < 0) return std::nullopt;
      std::string piece(cursor, static_cast<size_t>(n));
      cursor += n;
      return piece;
    }
    std::string next() { return optional().value_or(std::string()); }
  };

  static std::vector<std::vector<uint8_t>> images(const signed char* data, const int64_t* sizes, int32_t first,
                                                  int32_t count) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(data);
    for (int32_t i = 0; i < first; ++i) bytes += sizes[i];
    std::vector<std::vector<uint8_t>> out;
    for (int32_t i = first; i < first + count; ++i) {
      out.emplace_back(bytes, bytes + sizes[i]);
      bytes += sizes[i];
    }
    return out;
  }

  CaptionCallbacks completion(int64_t tag) const {
    CaptionCallbacks callbacks;
    callbacks.on_complete = [tag, fn = on_complete_](const CaptionResult& r) {
      try {
        NativeResult out = convert(r);
        fn(tag, &out);
      } catch (...) {
      }
    };
    return callbacks;
  }

  static NativeResult convert(const CaptionResult& r) {
    NativeResult out;
    out.id = static_cast<int64_t>(r.id);
    out.text = r.text;
    out.token_ids = r.token_ids;
    out.finish_reason = finish_reason_name(r.finish_reason);
    out.error_kind = r.error_kind;
    out.error = r.error;
    out.prompt_tokens = r.prompt_tokens;
    out.cached_tokens = r.cached_tokens;
    out.image_ms = r.timings.image_ms;
    out.tokenize_ms = r.timings.tokenize_ms;
    out.queue_ms = r.timings.engine.queue_ms;
    out.vision_ms = r.timings.engine.vision_ms;
    out.prefill_ms = r.timings.engine.prefill_ms;
    out.decode_ms = r.timings.engine.decode_ms;
    out.total_ms = r.timings.total_ms;
    out.embedding = r.embedding;
    out.score = r.score;
    return out;
  }

  CompletionFn on_complete_;
  TokenFn on_token_;
  std::unique_ptr<Captioner> captioner_;
};

}  // namespace loupe::jni
