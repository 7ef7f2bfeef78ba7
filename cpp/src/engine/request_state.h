#pragma once
// Everything the engine tracks for one request. Fields above the marker are fixed at
// submit; fields below are touched only by the scheduler thread; completion is guarded
// by `mutex` so handles on other threads can wait.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/model_runner.h"
#include "engine/radix_cache.h"
#include "engine/sampler.h"
#include "engine/token_key.h"
#include "loupe/engine.h"

namespace loupe::engine {

using Clock = std::chrono::steady_clock;

struct RequestState {
  uint64_t id = 0;
  Request request;
  std::vector<VisualItem> items;          // one per attachment, pixels point into request.visuals
  std::vector<int32_t> visual_item;     // per prompt token: item index or -1
  std::vector<int32_t> visual_row;      // per prompt token: merged row inside the item
  Clock::time_point submitted;
  std::optional<Clock::time_point> deadline;
  std::atomic<bool> cancel_requested{false};
  // Set by a preparation thread when Request::prepare or validation threw; the scheduler
  // completes the request with it.
  std::optional<std::pair<std::string, std::string>> prepare_error;  // kind name, message
  bool holds_inputs = false;  // counted in the scheduler's holding_ (mutex_) until completed

  // ---- scheduler thread only ----
  std::unique_ptr<Sampler> sampler;
  std::vector<TokenKey> keys;           // prompt keys, then one per output token
  std::vector<int32_t> output;
  PromptPositions positions;            // computed at first admission
  bool admitted_once = false;
  std::vector<int32_t> kv_slots;        // KV slot of tokens [0, kv_len)
  RadixNode* locked = nullptr;          // radix node this request holds a lock on
  int32_t tree_len = 0;                 // leading kv_slots owned by the radix tree
  bool finished = false;
  Result result;

  int32_t prompt_len() const { return int32_t(request.token_ids.size()); }
  int32_t seq_len() const { return prompt_len() + int32_t(output.size()); }
  int32_t kv_len() const { return int32_t(kv_slots.size()); }
  bool needs_prefill() const { return seq_len() - kv_len() > 1; }
  int32_t token(int32_t i) const { return i < prompt_len() ? request.token_ids[size_t(i)] : output[size_t(i - prompt_len())]; }

  // ---- completion ----
  mutable std::mutex mutex;
  mutable std::condition_variable done_cv;
  bool done = false;
};

}  // namespace loupe::engine
