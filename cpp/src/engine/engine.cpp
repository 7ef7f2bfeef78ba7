// Public Engine API over the scheduler.
#include "loupe/engine.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/error.h"
#include "engine/model_runner.h"
#include "engine/request_state.h"
#include "engine/scheduler.h"

namespace loupe {

namespace engine {
// Defined by the Qwen3-VL adapter (qwen3vl_runner.cpp).
std::unique_ptr<ModelRunner> open_qwen3vl_runner(const std::string& model_dir, const EngineOptions& options);
}  // namespace engine

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::Length: return "length";
    case FinishReason::StopToken: return "stop_token";
    case FinishReason::StopSequence: return "stop_sequence";
    case FinishReason::StopString: return "stop_string";
    case FinishReason::Pooled: return "pooled";
    case FinishReason::Cancelled: return "cancelled";
    case FinishReason::Timeout: return "timeout";
    case FinishReason::Error: return "error";
  }
  return "unknown";
}

std::vector<std::pair<const char*, int64_t>> engine_stats_fields(const EngineStats& s) {
#define LOUPE_STAT(name) {#name, s.name}
  return {LOUPE_STAT(waiting),          LOUPE_STAT(running),           LOUPE_STAT(kv_capacity_tokens),
          LOUPE_STAT(kv_free_tokens),   LOUPE_STAT(kv_cached_tokens),  LOUPE_STAT(prefix_hit_tokens),
          LOUPE_STAT(prefix_miss_tokens), LOUPE_STAT(prefix_evicted_tokens), LOUPE_STAT(vision_cache_hits),
          LOUPE_STAT(vision_cache_misses), LOUPE_STAT(completed),      LOUPE_STAT(failed),
          LOUPE_STAT(retractions),      LOUPE_STAT(prefill_steps),     LOUPE_STAT(decode_steps),
          LOUPE_STAT(prefill_tokens),   LOUPE_STAT(generated_tokens)};
#undef LOUPE_STAT
}

// ---- RequestHandle ------------------------------------------------------------------

uint64_t RequestHandle::id() const { return state_ ? state_->id : 0; }

bool RequestHandle::done() const {
  LOUPE_CHECK(state_, InvalidArgument, "empty request handle");
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->done;
}

Result RequestHandle::wait() const {
  LOUPE_CHECK(state_, InvalidArgument, "empty request handle");
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->done_cv.wait(lock, [&] { return state_->done; });
  return state_->result;
}

bool RequestHandle::wait_for(std::chrono::milliseconds timeout) const {
  LOUPE_CHECK(state_, InvalidArgument, "empty request handle");
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->done_cv.wait_for(lock, timeout, [&] { return state_->done; });
}

void RequestHandle::cancel() const {
  if (state_) state_->cancel_requested = true;
  // The scheduler notices at its next step; an idle scheduler has nothing to cancel.
}

// ---- Engine ---------------------------------------------------------------------------

struct Engine::Impl {
  std::unique_ptr<engine::Scheduler> scheduler;
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() {
  close();
  impl_.reset();
#if defined(__GLIBC__)
  // The preparation threads decoded images in malloc arenas of their own, which glibc keeps
  // (with their freed pages) after the threads exit; give those pages back to the system
  // with the engine, so opening and closing engines does not ratchet up the process's RSS.
  malloc_trim(0);
#endif
}

std::unique_ptr<Engine> Engine::open(const std::string& model_dir, const EngineOptions& options) {
  return create(engine::open_qwen3vl_runner(model_dir, options), options);
}

std::unique_ptr<Engine> Engine::create(std::unique_ptr<engine::ModelRunner> runner, const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->scheduler = std::make_unique<engine::Scheduler>(std::move(runner), options);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

RequestHandle Engine::submit(Request request) {
  RequestHandle handle;
  handle.state_ = impl_->scheduler->submit(std::move(request));
  return handle;
}

bool Engine::cancel(uint64_t id) { return impl_->scheduler->cancel(id); }
EngineStats Engine::stats() const { return impl_->scheduler->stats(); }
SamplingParams Engine::default_sampling() const { return impl_->scheduler->info().generation_defaults; }
int32_t Engine::hidden_size() const { return impl_->scheduler->info().hidden_size; }
int32_t Engine::vocab_size() const { return impl_->scheduler->info().vocab_size; }
bool Engine::can_generate() const { return impl_->scheduler->info().can_generate; }
void Engine::close() {
  if (impl_ && impl_->scheduler) impl_->scheduler->close();
}

}  // namespace loupe
