#pragma once
// loupe::Captioner: images + a prompt in, caption text out. Wraps the whole path a caller
// would otherwise assemble by hand: image decoding and Qwen3-VL preprocessing (under
// ImageLimits), the checkpoint's own chat template, tokenization with vision placeholder
// expansion, generation on the Engine (stop ids from generation_config.json) and
// detokenization. Small and flat on purpose: the Java binding maps it one to one.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loupe/engine.h"
#include "loupe/image.h"

namespace loupe {

struct CaptionerOptions {
  EngineOptions engine;
  ImageLimits image_limits;
  // Resize budget in pixels; 0 = the checkpoint's preprocessor_config.json size.
  int64_t min_pixels = 0;
  int64_t max_pixels = 0;
};

// A grammar the caption must follow, compiled by llguidance when the request is submitted
// (an invalid one is Error(InvalidArgument) there). A JSON schema without "x-guidance"
// options is written with ", " and ": " separators and no other whitespace.
struct OutputConstraint {
  enum class Kind : uint8_t { JsonSchema, Regex, Lark };
  Kind kind = Kind::JsonSchema;
  std::string source;  // the schema (JSON text), the regex or the Lark grammar
};

struct CaptionRequest {
  std::vector<std::vector<uint8_t>> images;  // encoded JPEG/PNG/WebP/GIF/BMP, in prompt order
  std::string prompt;                        // user text, placed after the images
  // Optional interleaved layout instead: text before, between and after the images
  // (images.size() + 1 entries; empty entries are skipped), e.g. {"Compare ", " with ", "."}.
  std::vector<std::string> text_segments;
  std::optional<std::string> system_prompt;  // nullopt: none (the template's own default, if any)
  std::optional<SamplingParams> sampling;    // nullopt: generation_config.json defaults
  std::optional<OutputConstraint> constraint;
  int64_t min_pixels = 0;                    // 0: the captioner's default
  int64_t max_pixels = 0;
  int64_t timeout_ms = 0;                    // 0: no deadline
};

// One side of a retrieval input: encoded images, placed before the text (the reference's
// order), and text. Neither: the text "NULL", as the reference embeds empty input.
struct RetrievalInput {
  std::vector<std::vector<uint8_t>> images;
  std::string text;
};

// Qwen3-VL-Embedding: a unit vector for the input. Images are resized as the embedding model
// was trained (smart_resize to multiples of 32 between 4 and 1800 merged tokens).
struct EmbedRequest {
  RetrievalInput input;
  // nullopt or blank: "Represent the user's input."; "." is appended unless it ends in punctuation.
  std::optional<std::string> instruction;
  int32_t dimensions = 0;  // leading dimensions to keep (Matryoshka, >= 64), renormalised; 0 = all
  int64_t max_pixels = 0;  // resize budget per image; 0 = the reference's (see retrieval_max_pixels)
  int64_t timeout_ms = 0;
};

// Qwen3-VL-Reranker: the probability that `document` answers `query` (one pair).
struct ScoreRequest {
  RetrievalInput query, document;
  // nullopt: "Given a search query, retrieve relevant candidates that answer the query."
  std::optional<std::string> instruction;
  int64_t max_pixels = 0;  // as EmbedRequest::max_pixels
  int64_t timeout_ms = 0;
};

// What a checkpoint can do, from its files (README "Embeddings and reranking").
struct ModelCapabilities {
  // An embedding checkpoint: modules.json describes last-token pooling (sentence-transformers
  // layout), or the checkpoint has no output head. Captioning it is refused.
  bool embedding_model = false;
  bool can_generate = false;  // has an output head
  bool can_score = false;     // has an output head and the single tokens "yes" and "no"
  int32_t embedding_size = 0;            // hidden size: EmbedRequest::dimensions 0
  int32_t min_embedding_dimensions = 0;  // smallest EmbedRequest::dimensions
};

struct CaptionTimings {
  double image_ms = 0;     // decode + preprocess of every image, on an engine preparation thread
  double tokenize_ms = 0;  // chat template + placeholder expansion + tokenization
  StageTimings engine;     // queue / vision / prefill / decode inside the engine
  double total_ms = 0;     // submit() entry -> completion
};

struct CaptionResult {
  uint64_t id = 0;
  std::string text;                // generated text, special tokens removed
  std::vector<int32_t> token_ids;  // generated ids, a final stop token included
  FinishReason finish_reason = FinishReason::Error;
  std::string error_kind;  // stable kind name when !ok()
  std::string error;
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;
  CaptionTimings timings;
  std::vector<float> embedding;  // EmbedRequest: the unit vector
  double score = 0;              // ScoreRequest: the yes-probability
  bool ok() const { return finish_reason <= FinishReason::Pooled; }
};

struct CaptionCallbacks {
  // Scheduler thread; `text_delta` is the newly completed UTF-8 text (may be empty while a
  // multi-byte character is still incomplete). Keep both short and non-blocking.
  std::function<void(int32_t token, const std::string& text_delta)> on_token;
  std::function<void(const CaptionResult&)> on_complete;
};

class Captioner {
 public:
  // Loads tokenizer, chat template, preprocessor and generation configs, and the Engine.
  // Throws Error(ModelLoad / NoDevice / ...).
  static std::unique_ptr<Captioner> open(const std::string& model_dir, const CaptionerOptions& options = {});
  ~Captioner();
  Captioner(const Captioner&) = delete;
  Captioner& operator=(const Captioner&) = delete;

  // Thread-safe. Queues the request holding its encoded images; the engine decodes,
  // preprocesses and tokenizes it when a batch slot is near, so a bad image or an exceeded
  // limit arrives in on_complete (error_kind), while a full queue, too many images or a
  // malformed request throw Error here. Exactly one on_complete call follows a successful
  // submit (also on cancel, timeout and close).
  uint64_t submit(CaptionRequest request, CaptionCallbacks callbacks = {});
  // The same for an embedding (result.embedding) and for one reranker pair (result.score):
  // prefill only, batched with everything else, the shared prefix (instruction, repeated
  // images, a query against many documents) computed once by the prefix cache.
  uint64_t submit_embed(EmbedRequest request, CaptionCallbacks callbacks = {});
  uint64_t submit_score(ScoreRequest request, CaptionCallbacks callbacks = {});
  // Blocking conveniences over the submits; rerank submits every pair at once.
  CaptionResult caption(CaptionRequest request);
  CaptionResult embed(EmbedRequest request);
  std::vector<CaptionResult> rerank(const RetrievalInput& query, const std::vector<RetrievalInput>& documents,
                                    const std::optional<std::string>& instruction = std::nullopt,
                                    int64_t timeout_ms = 0);
  ModelCapabilities capabilities() const;
  bool cancel(uint64_t id);
  EngineStats stats() const;
  SamplingParams default_sampling() const;
  // Throws Error(InvalidArgument) when submitting `constraint` would (a bad schema, say).
  void check_constraint(const OutputConstraint& constraint) const;
  // Token ids of the prompt a request would generate from (tests, debugging).
  std::vector<int32_t> prompt_token_ids(const CaptionRequest& request) const;
  std::vector<int32_t> prompt_token_ids(const EmbedRequest& request) const;
  std::vector<int32_t> prompt_token_ids(const ScoreRequest& request) const;
  std::string decode(const std::vector<int32_t>& token_ids) const;
  // Completes everything in flight as Cancelled and stops the engine. Idempotent.
  void close();

 private:
  struct Impl;
  explicit Captioner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
