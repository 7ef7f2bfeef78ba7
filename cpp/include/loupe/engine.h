#pragma once
// Public C++ engine API: open a model, submit requests from any thread, receive results
// through a handle or callbacks. One scheduler thread owns the model and batches all
// in-flight requests (continuous batching over a shared token-level KV pool with a radix
// prefix cache). Small and stable: the Java binding maps these types one to one.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loupe/visual.h"

namespace loupe {

namespace engine {
class ModelRunner;
struct RequestState;
}  // namespace engine

// One preprocessed image or video of a request, in the order its placeholder run appears
// in the token ids (each run is t*h*w / merge² `<|image_pad|>` or `<|video_pad|>` ids).
struct VisualAttachment {
  VisualKind kind = VisualKind::Image;
  GridTHW grid;
  std::vector<float> pixel_values;  // [t*h*w, C*Tp*P*P], as the image processor produced it
  // Processor settings that produced pixel_values (resize budget, mean/std, ...). Part of
  // the prefix-cache key, so identical pixels from other settings never share KV.
  std::string preprocess_key;
};

// Defaults come from the checkpoint's generation_config.json (Engine::default_sampling).
// temperature 0 means greedy.
struct SamplingParams {
  float temperature = 1.0f;
  int32_t top_k = 0;                // 0 = off
  float top_p = 1.0f;               // 1 = off
  float min_p = 0.0f;               // 0 = off
  float repetition_penalty = 1.0f;  // HF semantics, over prompt and output
  float presence_penalty = 0.0f;    // OpenAI semantics, over output
  float frequency_penalty = 0.0f;   // OpenAI semantics, over output
  int32_t max_new_tokens = 128;
  std::vector<int32_t> stop_token_ids;               // e.g. <|im_end|>, <|endoftext|>
  std::vector<std::vector<int32_t>> stop_sequences;  // stop when the output ends with one
  std::vector<std::string> stop_strings;             // needs Request::detokenize
  uint64_t seed = 0;                                 // same seed + same request = same tokens
};

// What a request may generate, as a grammar over tokens (Captioner builds one from an
// OutputConstraint through llguidance). Before every token the request samples, the engine
// asks it for the allowed tokens (on the engine's constraint thread, while the model runs the
// step) and masks the logits with them on whatever device samples; then it reports the token
// chosen. Used by one thread at a time.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets bit t of words[t / 32] for every token t that may come next, except the tokens that
  // end the output; returns whether the output may end here. `count` is (vocab + 31) / 32.
  virtual bool allowed(uint32_t* words, size_t count) = 0;
  virtual void accept(int32_t token) = 0;  // throws when the token was not allowed
  virtual bool complete() const = 0;       // the output is whole: only an end token may follow
};

// Pooled: a prefill-only request (Request::pooling) returned its vector or score.
enum class FinishReason : uint8_t { Length, StopToken, StopSequence, StopString, Pooled, Cancelled, Timeout, Error };
const char* finish_reason_name(FinishReason reason);

struct StageTimings {
  double queue_ms = 0;       // submit -> first scheduled
  double vision_ms = 0;      // vision tower (0 when every item came from the feature cache)
  double prefill_ms = 0;     // wall time of the prefill steps this request took part in
  double decode_ms = 0;      // wall time of the decode steps this request took part in
};

struct Result {
  uint64_t id = 0;
  std::vector<int32_t> token_ids;  // generated tokens (including a stop token, if any)
  FinishReason finish_reason = FinishReason::Error;
  std::string error_kind;  // loupe::error_kind_name() ("cancelled", "timeout", ...) when finish_reason is Error/Cancelled/Timeout
  std::string error;       // one-line reason, empty on success
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;  // prompt tokens served from the prefix cache
  int32_t retractions = 0;    // times the request was preempted for memory and re-run
  StageTimings timings;
  // Request::pooling only: the unit-length vector (Embedding) or the yes-probability (YesNoScore).
  std::vector<float> embedding;
  double score = 0;
  bool ok() const { return finish_reason <= FinishReason::Pooled; }
};

// A prefill-only request: the engine computes the prompt (batched with everything else and
// sharing the prefix cache) and returns what the model gives at its last position instead
// of generating. h is the final-norm hidden state there.
struct PoolingParams {
  enum class Kind : uint8_t {
    Embedding,   // h[0:dimensions] / |h[0:dimensions]| (Qwen3-VL-Embedding, Matryoshka)
    YesNoScore,  // sigmoid(h . (W[yes] - W[no])), W the output head (Qwen3-VL-Reranker)
  };
  // Matryoshka: at least this many leading dimensions (Qwen3-VL-Embedding's smallest, 64).
  static constexpr int32_t kMinDimensions = 64;
  Kind kind = Kind::Embedding;
  int32_t dimensions = 0;  // Embedding: leading dimensions kept; 0 = the hidden size
  int32_t yes_token = -1, no_token = -1;  // YesNoScore
};

struct Request {
  std::vector<int32_t> token_ids;  // full prompt, placeholders already expanded
  std::vector<VisualAttachment> visuals;
  // Optional: fills token_ids and visuals when the engine starts the request, on one of its
  // preparation threads, so a queued request holds only what this captures (encoded
  // images, say) and a burst costs no decoding until a batch slot is near. With it, submit
  // checks only the queue; whatever this or the request checks throw (bad image, limits)
  // completes the request with that error kind instead.
  std::function<void(Request&)> prepare;
  std::optional<SamplingParams> sampling;  // nullopt: generation_config.json defaults
  std::optional<PoolingParams> pooling;    // set: prefill only, no sampling
  // Set: every sampled token obeys it (a greedy output is always valid against it) and the
  // request ends with a stop token once the output is complete; needs a stop token id.
  std::unique_ptr<TokenConstraint> constraint;
  int64_t timeout_ms = 0;                  // 0: no deadline
  // Detokenizer for stop strings (text of the given output tokens).
  std::function<std::string(const std::vector<int32_t>&)> detokenize;
  // Called on the scheduler thread: keep them short and non-blocking.
  std::function<void(int32_t token)> on_token;
  std::function<void(const Result&)> on_complete;
};

// Waitable view of a submitted request.
class RequestHandle {
 public:
  RequestHandle() = default;
  uint64_t id() const;
  bool done() const;
  Result wait() const;  // blocks until the request finished
  bool wait_for(std::chrono::milliseconds timeout) const;
  void cancel() const;

 private:
  friend class Engine;
  std::shared_ptr<engine::RequestState> state_;
};

struct EngineOptions {
  std::string device = "cpu";            // "cpu", "cuda", "cuda:1"
  int threads = 0;                        // CPU threads, 0 = all cores
  size_t kv_cache_bytes = 0;              // KV pool budget; 0 = kv_cache_fraction of free memory
  double kv_cache_fraction = 0.3;
  int32_t max_running = 64;               // concurrently running requests
  int32_t max_batch_tokens = 8192;        // new tokens per prefill step
  int32_t chunk_size = 2048;              // longest prefill chunk of one request
  int32_t queue_limit = 1024;             // requests beyond a full batch that may wait; more are refused
  int32_t prepare_threads = 2;            // threads running Request::prepare (image decoding)
  size_t vision_cache_bytes = 256u << 20; // vision-feature LRU budget (0 = off)
  bool prefix_cache = true;               // radix prefix cache on/off
  int32_t max_prompt_tokens = 32768;
  int32_t max_visual_tokens = 16384;      // merged visual tokens per request
  bool int8_text_weights = false;         // CPU: text decoder linears as int8 (weight-only, per-row scales)
  // GPU: text-only decode steps are recorded once per (padded batch size, KV-length bucket)
  // and replayed as CUDA graphs (one launch per step). Off: every step launches its kernels.
  bool decode_graphs = true;
  // GPU: "fast" attention kernels (decode and tensor-core prefill) or "generic" (the scalar
  // flash kernel: the reference, for diagnosis).
  std::string cuda_attention = "fast";
  // CPU: how linears with bf16 weights take their fp32 activations. "rounded": rounded to
  // bf16, as PyTorch computes a bf16 checkpoint (the fast path); "exact": what the
  // fp32-upcast model computes.
  std::string cpu_bf16_activations = "rounded";
};

struct EngineStats {
  int64_t waiting = 0, running = 0;
  int64_t kv_capacity_tokens = 0, kv_free_tokens = 0, kv_cached_tokens = 0;
  int64_t prefix_hit_tokens = 0, prefix_miss_tokens = 0, prefix_evicted_tokens = 0;
  int64_t vision_cache_hits = 0, vision_cache_misses = 0;
  int64_t completed = 0, failed = 0, retractions = 0;
  int64_t prefill_steps = 0, decode_steps = 0, prefill_tokens = 0, generated_tokens = 0;
};

// Every EngineStats counter under its member's name, in declaration order: bindings read
// the counters by name ("name=value" lines), never by position.
std::vector<std::pair<const char*, int64_t>> engine_stats_fields(const EngineStats& stats);

class Engine {
 public:
  // Loads a Qwen3-VL checkpoint directory and starts the scheduler thread.
  static std::unique_ptr<Engine> open(const std::string& model_dir, const EngineOptions& options);
  // Same over any model runner (tests, other models).
  static std::unique_ptr<Engine> create(std::unique_ptr<engine::ModelRunner> runner,
                                        const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Thread-safe. Invalid requests and a full queue throw loupe::Error.
  RequestHandle submit(Request request);
  bool cancel(uint64_t id);
  EngineStats stats() const;
  SamplingParams default_sampling() const;
  int32_t hidden_size() const;  // the full embedding size (PoolingParams::dimensions 0)
  int32_t vocab_size() const;   // the model's logit width
  bool can_generate() const;    // false: the checkpoint has no output head
  // Stops the scheduler; requests still queued or running complete as Cancelled.
  void close();

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
