// Captioner: the request path from encoded images + prompt text to caption text, in the
// order HF's Qwen3VLProcessor + generate() take it (preprocess, template, expand, tokenize,
// generate, decode), over the Engine.
#include "loupe/captioner.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <utility>

#include "core/error.h"
#include "model/config.h"
#include "tokenizer/output_constraint.h"
#include "tokenizer/prompt_encoder.h"
#include "tokenizer/retrieval_prompts.h"
#include "tokenizer/text_stream.h"

namespace loupe {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

struct Captioner::Impl {
  std::string model_dir;
  CaptionerOptions options;
  PromptEncoder prompt_encoder;
  model::PreprocessorConfig preprocessor;
  std::unique_ptr<Engine> engine;
  std::optional<ConstraintCompiler> constraints;  // when the model can generate
  ModelCapabilities capabilities;
  PoolingParams score_pooling;  // the "yes" and "no" ids, when the checkpoint can score
  std::atomic<bool> closed{false};

  Impl(const std::string& dir, const CaptionerOptions& opts)
      : model_dir(dir),
        options(opts),
        prompt_encoder(PromptEncoder::from_model_dir(dir)),
        preprocessor(model::load_preprocessor_config(dir)) {
    LOUPE_CHECK(prompt_encoder.merge_size() == preprocessor.merge_size, ModelLoad, dir,
                ": the prompt's merge size disagrees with preprocessor_config.json");
    const model::SentencePooling pooling = model::load_sentence_pooling(dir);
    LOUPE_CHECK(!pooling.present || pooling.mode == "lasttoken", ModelLoad, dir, ": modules.json pools by '",
                pooling.mode, "'; Qwen3-VL embeddings pool the last token");
    capabilities.embedding_model = pooling.present;
  }

  // Facts that need the loaded engine.
  void describe_engine() {
    capabilities.can_generate = engine->can_generate();
    capabilities.embedding_model = capabilities.embedding_model || !capabilities.can_generate;
    capabilities.embedding_size = engine->hidden_size();
    capabilities.min_embedding_dimensions = std::min(PoolingParams::kMinDimensions, engine->hidden_size());
    const auto yes = tokenizer().token_to_id("yes"), no = tokenizer().token_to_id("no");
    capabilities.can_score = capabilities.can_generate && yes && no;
    score_pooling.kind = PoolingParams::Kind::YesNoScore;
    score_pooling.yes_token = yes.value_or(-1);
    score_pooling.no_token = no.value_or(-1);
    if (capabilities.can_generate)
      constraints.emplace(tokenizer(), engine->vocab_size(), engine->default_sampling().stop_token_ids);
  }

  std::unique_ptr<TokenConstraint> compile(const OutputConstraint& constraint) const {
    LOUPE_CHECK(constraints, InvalidArgument, "this checkpoint cannot generate, so it has no output to constrain");
    return constraints->compile(constraint);
  }

  const Tokenizer& tokenizer() const { return prompt_encoder.tokenizer(); }

  VisionOptions vision_options(const CaptionRequest& request) const {
    return vision_options(request.min_pixels > 0   ? request.min_pixels
                          : options.min_pixels > 0 ? options.min_pixels
                                                   : preprocessor.min_pixels,
                          request.max_pixels > 0   ? request.max_pixels
                          : options.max_pixels > 0 ? options.max_pixels
                                                   : preprocessor.max_pixels);
  }

  // The embedding and reranker models' own resize (their reference, qwen-vl-utils): between
  // 4 and 1800 merged tokens of (patch · merge)² pixels, whatever preprocessor_config.json says.
  // The node's max_pixels is a ceiling on that default; a request may ask for less or more
  // (its caller bounds it, as for captions).
  VisionOptions retrieval_vision_options(int64_t requested_max_pixels) const {
    const int64_t factor = preprocessor.patch_size * preprocessor.merge_size;
    int64_t max_pixels = 1800 * factor * factor;
    if (options.max_pixels > 0) max_pixels = std::min(max_pixels, options.max_pixels);
    if (requested_max_pixels > 0) max_pixels = requested_max_pixels;
    VisionOptions vision = vision_options(std::min<int64_t>(4 * factor * factor, max_pixels), max_pixels);
    vision.resize_reference = ResizeReference::QwenVlUtils;
    return vision;
  }

  VisionOptions vision_options(int64_t min_pixels, int64_t max_pixels) const {
    VisionOptions vision;
    vision.min_pixels = min_pixels;
    vision.max_pixels = max_pixels;
    LOUPE_CHECK(vision.min_pixels <= vision.max_pixels, InvalidArgument, "min_pixels (", vision.min_pixels,
                ") exceeds max_pixels (", vision.max_pixels, ")");
    vision.patch_size = static_cast<int>(preprocessor.patch_size);
    vision.temporal_patch_size = static_cast<int>(preprocessor.temporal_patch_size);
    vision.merge_size = static_cast<int>(preprocessor.merge_size);
    for (int c = 0; c < 3; ++c) {
      vision.image_mean[c] = static_cast<float>(preprocessor.image_mean[c]);
      vision.image_std[c] = static_cast<float>(preprocessor.image_std[c]);
    }
    return vision;
  }

  static std::string preprocess_key(const VisionOptions& v) {
    std::ostringstream key;
    key << (v.resize_reference == ResizeReference::QwenVlUtils ? "qwen-vl-utils" : "hf") << " min=" << v.min_pixels << " max=" << v.max_pixels << " p=" << v.patch_size
        << " tp=" << v.temporal_patch_size << " m=" << v.merge_size;
    for (int c = 0; c < 3; ++c) key << ' ' << v.image_mean[c] << '/' << v.image_std[c];
    return key.str();
  }

  // What costs nothing to check; fill() does the rest when the engine is about to run it.
  void check_shape(const CaptionRequest& request) const {
    LOUPE_CHECK(!capabilities.embedding_model, InvalidArgument, model_dir,
                " is an embedding checkpoint: it embeds, it does not caption");
    check_image_count(request.images.size(), options.image_limits);
    if (!request.text_segments.empty())
      LOUPE_CHECK(request.text_segments.size() == request.images.size() + 1, InvalidArgument,
                  "text_segments needs one more entry (", request.images.size() + 1, ") than images, got ",
                  request.text_segments.size());
    vision_options(request);  // the resize budget is valid
  }

  struct StageTimes {
    double image_ms = 0, tokenize_ms = 0;
  };

  // A request as the engine will run it: the conversation, its images in placeholder order
  // and how to preprocess them.
  struct Prompt {
    std::vector<ChatMessage> messages;
    std::vector<const std::vector<uint8_t>*> images;
    VisionOptions vision;
  };

  // Decodes and preprocesses the images into `out.visuals`, then builds `out.token_ids`.
  void fill(const Prompt& prompt, Request& out, StageTimes& times) const {
    const auto image_start = Clock::now();
    std::vector<GridTHW> grids;
    out.visuals = prepare_images(prompt.images, prompt.vision, grids);
    times.image_ms = ms_since(image_start);
    const auto tokenize_start = Clock::now();
    out.token_ids = prompt_encoder.encode(prompt.messages, grids);
    times.tokenize_ms = ms_since(tokenize_start);
  }

  std::vector<VisualAttachment> prepare_images(const std::vector<const std::vector<uint8_t>*>& images,
                                               const VisionOptions& vision, std::vector<GridTHW>& grids) const {
    const std::string key = preprocess_key(vision);
    std::vector<VisualAttachment> visuals;
    visuals.reserve(images.size());
    for (const std::vector<uint8_t>* encoded : images) {
      const auto& bytes = *encoded;
      // qwen-vl-utils opens images as stored; HF's loaders apply EXIF orientation.
      const RgbImage rgb = decode_image(bytes, options.image_limits,
                                        vision.resize_reference == ResizeReference::HfProcessor);
      const VisionInput input = preprocess_image(rgb, vision);
      VisualAttachment attachment;
      attachment.kind = VisualKind::Image;
      attachment.grid = input.grid_thw;
      attachment.pixel_values.assign(input.pixel_values.begin(), input.pixel_values.end());
      attachment.preprocess_key = key;
      grids.push_back(input.grid_thw);
      visuals.push_back(std::move(attachment));
    }
    return visuals;
  }

  Prompt prompt_of(const CaptionRequest& request) const {
    Prompt prompt{{}, {}, vision_options(request)};
    for (const auto& bytes : request.images) prompt.images.push_back(&bytes);
    if (request.system_prompt) prompt.messages.push_back({"system", {ChatContent::make_text(*request.system_prompt)}});
    ChatMessage user{"user", {}};
    if (request.text_segments.empty()) {
      for (size_t i = 0; i < request.images.size(); ++i) user.content.push_back(ChatContent::image());
      user.content.push_back(ChatContent::make_text(request.prompt));
    } else {  // check_shape: one more segment than images
      for (size_t i = 0; i < request.text_segments.size(); ++i) {
        if (!request.text_segments[i].empty()) user.content.push_back(ChatContent::make_text(request.text_segments[i]));
        if (i < request.images.size()) user.content.push_back(ChatContent::image());
      }
    }
    prompt.messages.push_back(std::move(user));
    return prompt;
  }

  std::string caption_text(const std::vector<int32_t>& ids) const { return tokenizer().decode(ids, true); }

  // ---- embeddings and reranker pairs --------------------------------------------------------

  static void add_images(const RetrievalInput& input, Prompt& prompt) {
    for (const auto& bytes : input.images) prompt.images.push_back(&bytes);
  }

  static RetrievalContent content_of(const RetrievalInput& input) {
    return {static_cast<int>(input.images.size()), input.text};
  }

  Prompt prompt_of(const EmbedRequest& request) const {
    Prompt prompt{embedding_messages(request.instruction, content_of(request.input)), {},
                  retrieval_vision_options(request.max_pixels)};
    add_images(request.input, prompt);
    return prompt;
  }

  Prompt prompt_of(const ScoreRequest& request) const {
    Prompt prompt{reranker_messages(request.instruction, content_of(request.query), content_of(request.document)), {},
                  retrieval_vision_options(request.max_pixels)};
    add_images(request.query, prompt);
    add_images(request.document, prompt);
    return prompt;
  }

  void check_retrieval_images(size_t count) const { check_image_count(count, options.image_limits); }

  template <class R>
  std::vector<int32_t> token_ids_of(const R& request) const {
    Request filled;
    StageTimes times;
    fill(prompt_of(request), filled, times);
    return filled.token_ids;
  }

  // The engine request around prepare/pooling, completing through the caller's callbacks.
  template <class R>
  uint64_t submit_pooled(R request, const PoolingParams& pooling, CaptionCallbacks callbacks) {
    LOUPE_CHECK(!closed.load(), Cancelled, "captioner is closed");
    const auto start = Clock::now();
    auto stages = std::make_shared<StageTimes>();
    Request engine_request;
    engine_request.pooling = pooling;
    engine_request.timeout_ms = request.timeout_ms;
    engine_request.prepare = [this, stages, request = std::move(request)](Request& r) {
      fill(prompt_of(request), r, *stages);
    };
    engine_request.on_complete = completion(stages, start, std::move(callbacks.on_complete));
    return engine->submit(std::move(engine_request)).id();
  }

  // Engine result -> CaptionResult, on the scheduler thread.
  std::function<void(const Result&)> completion(std::shared_ptr<StageTimes> stages, Clock::time_point start,
                                                std::function<void(const CaptionResult&)> on_complete) const {
    const Tokenizer tokenizer = this->tokenizer();  // shares the loaded handle
    return [tokenizer, stages, start, on_complete = std::move(on_complete)](const Result& result) {
      CaptionResult caption;
      caption.id = result.id;
      caption.token_ids = result.token_ids;
      caption.finish_reason = result.finish_reason;
      caption.error_kind = result.error_kind;
      caption.error = result.error;
      caption.prompt_tokens = result.prompt_tokens;
      caption.cached_tokens = result.cached_tokens;
      caption.embedding = result.embedding;
      caption.score = result.score;
      caption.timings.image_ms = stages->image_ms;
      caption.timings.tokenize_ms = stages->tokenize_ms;
      caption.timings.engine = result.timings;
      try {
        if (!result.token_ids.empty()) caption.text = tokenizer.decode(result.token_ids, true);
      } catch (const std::exception& error) {
        caption.finish_reason = FinishReason::Error;
        caption.error_kind = error_kind_name(ErrorKind::Internal);
        caption.error = std::string("detokenize: ") + error.what();
      }
      caption.timings.total_ms = ms_since(start);
      if (on_complete) on_complete(caption);
    };
  }
};

namespace {

// Submits `count` requests (submit(i, callbacks) returns the id) and blocks until all have
// completed, results in submit order. If a submit throws, the ones already in flight are
// cancelled and waited for before the error is rethrown.
template <class Submit>
std::vector<CaptionResult> wait_for_all(Captioner& captioner, size_t count, Submit submit) {
  struct Waiter {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::optional<CaptionResult>> results;
    size_t remaining = 0;
  };
  auto waiter = std::make_shared<Waiter>();
  waiter->results.resize(count);
  waiter->remaining = count;
  std::vector<uint64_t> submitted;
  for (size_t i = 0; i < count; ++i) {
    CaptionCallbacks callbacks;
    callbacks.on_complete = [waiter, i](const CaptionResult& result) {
      std::lock_guard<std::mutex> lock(waiter->mutex);
      waiter->results[i] = result;
      if (--waiter->remaining == 0) waiter->cv.notify_all();
    };
    try {
      submitted.push_back(submit(i, std::move(callbacks)));  // every request in flight together
    } catch (...) {
      for (uint64_t id : submitted) captioner.cancel(id);  // their completions still arrive
      std::unique_lock<std::mutex> lock(waiter->mutex);
      waiter->remaining -= count - i;
      waiter->cv.wait(lock, [&] { return waiter->remaining == 0; });
      throw;
    }
  }
  std::unique_lock<std::mutex> lock(waiter->mutex);
  waiter->cv.wait(lock, [&] { return waiter->remaining == 0; });
  std::vector<CaptionResult> out;
  for (auto& r : waiter->results) out.push_back(std::move(*r));
  return out;
}

}  // namespace

Captioner::Captioner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Captioner::~Captioner() { close(); }

std::unique_ptr<Captioner> Captioner::open(const std::string& model_dir, const CaptionerOptions& options) {
  LOUPE_CHECK(std::filesystem::is_directory(model_dir), ModelLoad, "model directory not found: ", model_dir);
  auto impl = std::make_unique<Impl>(model_dir, options);
  impl->engine = Engine::open(model_dir, options.engine);
  impl->describe_engine();
  return std::unique_ptr<Captioner>(new Captioner(std::move(impl)));
}

uint64_t Captioner::submit(CaptionRequest request, CaptionCallbacks callbacks) {
  Impl& impl = *impl_;
  LOUPE_CHECK(!impl.closed.load(), Cancelled, "captioner is closed");
  const auto start = Clock::now();
  // Decoding, preprocessing and tokenizing wait until the engine is about to run the request
  // (Request::prepare), so a queued request holds only its encoded images.
  impl.check_shape(request);
  auto stages = std::make_shared<Impl::StageTimes>();  // written by prepare, read by on_complete after it
  Request engine_request;
  engine_request.sampling = request.sampling;
  if (request.constraint) engine_request.constraint = impl.compile(*request.constraint);
  engine_request.timeout_ms = request.timeout_ms;
  engine_request.prepare = [&impl, stages, caption_request = std::move(request)](Request& r) {
    impl.fill(impl.prompt_of(caption_request), r, *stages);
  };
  const Tokenizer tokenizer = impl.tokenizer();  // shares the loaded handle
  engine_request.detokenize = [tokenizer](const std::vector<int32_t>& ids) { return tokenizer.decode(ids, true); };
  if (callbacks.on_token) {
    // Called only from the scheduler thread, so the stream needs no lock.
    auto stream = std::make_shared<TextStream>(tokenizer);
    engine_request.on_token = [stream, on_token = callbacks.on_token](int32_t token) {
      on_token(token, stream->push(token));
    };
  }
  engine_request.on_complete = impl.completion(stages, start, std::move(callbacks.on_complete));
  return impl.engine->submit(std::move(engine_request)).id();
}

uint64_t Captioner::submit_embed(EmbedRequest request, CaptionCallbacks callbacks) {
  Impl& impl = *impl_;
  impl.check_retrieval_images(request.input.images.size());
  PoolingParams pooling;
  pooling.kind = PoolingParams::Kind::Embedding;
  pooling.dimensions = request.dimensions;
  return impl.submit_pooled(std::move(request), pooling, std::move(callbacks));
}

uint64_t Captioner::submit_score(ScoreRequest request, CaptionCallbacks callbacks) {
  Impl& impl = *impl_;
  LOUPE_CHECK(impl.capabilities.can_score, InvalidArgument, impl.model_dir,
              impl.capabilities.can_generate ? " has no single \"yes\" and \"no\" tokens to score with"
                                             : " has no output head to score with");
  impl.check_retrieval_images(request.query.images.size() + request.document.images.size());
  return impl.submit_pooled(std::move(request), impl.score_pooling, std::move(callbacks));
}

CaptionResult Captioner::caption(CaptionRequest request) {
  return wait_for_all(*this, 1, [&](size_t, CaptionCallbacks callbacks) {
    return submit(std::move(request), std::move(callbacks));
  })[0];
}

CaptionResult Captioner::embed(EmbedRequest request) {
  return wait_for_all(*this, 1, [&](size_t, CaptionCallbacks callbacks) {
    return submit_embed(std::move(request), std::move(callbacks));
  })[0];
}

std::vector<CaptionResult> Captioner::rerank(const RetrievalInput& query, const std::vector<RetrievalInput>& documents,
                                             const std::optional<std::string>& instruction, int64_t timeout_ms) {
  return wait_for_all(*this, documents.size(), [&](size_t i, CaptionCallbacks callbacks) {
    return submit_score(ScoreRequest{query, documents[i], instruction, timeout_ms}, std::move(callbacks));
  });
}

ModelCapabilities Captioner::capabilities() const { return impl_->capabilities; }

bool Captioner::cancel(uint64_t id) { return impl_->engine->cancel(id); }
EngineStats Captioner::stats() const { return impl_->engine->stats(); }
SamplingParams Captioner::default_sampling() const { return impl_->engine->default_sampling(); }

void Captioner::check_constraint(const OutputConstraint& constraint) const { impl_->compile(constraint); }

std::vector<int32_t> Captioner::prompt_token_ids(const CaptionRequest& request) const {
  impl_->check_shape(request);
  return impl_->token_ids_of(request);
}

std::vector<int32_t> Captioner::prompt_token_ids(const EmbedRequest& request) const {
  return impl_->token_ids_of(request);
}

std::vector<int32_t> Captioner::prompt_token_ids(const ScoreRequest& request) const {
  return impl_->token_ids_of(request);
}

std::string Captioner::decode(const std::vector<int32_t>& token_ids) const { return impl_->caption_text(token_ids); }

void Captioner::close() {
  if (!impl_ || impl_->closed.exchange(true)) return;
  if (impl_->engine) impl_->engine->close();
}

}  // namespace loupe
