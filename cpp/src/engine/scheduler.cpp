#include "engine/scheduler.h"

#include <algorithm>
#include <exception>

#include "core/error.h"
#include "engine/visual_tokens.h"

namespace loupe::engine {
namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Error kind name and message of the exception being handled.
std::pair<std::string, std::string> describe_current_exception() {
  try {
    throw;
  } catch (const Error& e) {
    return {error_kind_name(e.kind()), e.what()};
  } catch (const std::exception& e) {
    return {error_kind_name(ErrorKind::Internal), e.what()};
  } catch (...) {
    return {error_kind_name(ErrorKind::Internal), "unknown exception"};
  }
}

}  // namespace

Scheduler::Scheduler(std::unique_ptr<ModelRunner> runner, const EngineOptions& options)
    : runner_(std::move(runner)), options_(options), features_(options.vision_cache_bytes) {
  LOUPE_CHECK(runner_ != nullptr, InvalidArgument, "engine needs a model runner");
  info_ = runner_->info();
  LOUPE_CHECK(info_.vocab_size > 0 && info_.kv_bytes_per_token > 0 && info_.spatial_merge > 0, Internal,
              "model runner reports incomplete RunnerInfo");
  LOUPE_CHECK(options.max_running >= 1, InvalidArgument, "max_running must be >= 1");
  LOUPE_CHECK(options.max_batch_tokens >= 1, InvalidArgument, "max_batch_tokens must be >= 1");
  LOUPE_CHECK(options.chunk_size >= 1, InvalidArgument, "chunk_size must be >= 1");
  LOUPE_CHECK(options.queue_limit >= 1, InvalidArgument, "queue_limit must be >= 1");
  LOUPE_CHECK(options.prepare_threads >= 1, InvalidArgument, "prepare_threads must be >= 1");
  LOUPE_CHECK(options.max_prompt_tokens >= 1, InvalidArgument, "max_prompt_tokens must be >= 1");
  size_t budget = options.kv_cache_bytes;
  if (budget == 0) {
    LOUPE_CHECK(options.kv_cache_fraction > 0 && options.kv_cache_fraction <= 0.95, InvalidArgument,
                "kv_cache_fraction must be in (0, 0.95], got ", options.kv_cache_fraction);
    budget = size_t(double(runner_->free_memory()) * options.kv_cache_fraction);
  }
  int32_t capacity = kv_slots_for_budget(budget, info_.kv_bytes_per_token);
  runner_->allocate_kv(capacity);
  allocator_ = std::make_unique<KvSlotAllocator>(capacity);
  radix_ = std::make_unique<RadixCache>(*allocator_);
  publish_stats();
  for (int i = 0; i < options.prepare_threads; ++i) preparers_.emplace_back(&Scheduler::prepare_loop, this);
  thread_ = std::thread(&Scheduler::loop, this);
}

Scheduler::~Scheduler() { close(); }

void Scheduler::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  prepare_wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

// ---- submitting and preparation threads ------------------------------------------------

void Scheduler::validate(RequestState& r) const {
  const auto& ids = r.request.token_ids;
  const int64_t prompt_len = int64_t(ids.size());
  LOUPE_CHECK(prompt_len > 0, InvalidArgument, "request has no tokens");
  LOUPE_CHECK(prompt_len <= options_.max_prompt_tokens, LimitExceeded, "prompt of ", prompt_len,
              " tokens exceeds max_prompt_tokens ", options_.max_prompt_tokens);
  int64_t new_tokens = 0;
  SamplingParams sampling = r.request.sampling ? *r.request.sampling : info_.generation_defaults;
  if (r.request.pooling) {
    validate_pooling(*r.request.pooling);
    LOUPE_CHECK(!r.request.constraint, InvalidArgument, "a prefill-only request generates nothing to constrain");
  } else {
    LOUPE_CHECK(info_.can_generate, InvalidArgument,
                "this checkpoint has no output head (lm_head.weight): it computes embeddings, it cannot generate");
    validate_sampling(sampling, bool(r.request.detokenize));
    new_tokens = sampling.max_new_tokens;
  }
  LOUPE_CHECK(prompt_len + new_tokens <= allocator_->usable(), LimitExceeded, "prompt (", prompt_len,
              ") + max_new_tokens (", new_tokens, ") exceeds the KV pool of ", allocator_->usable(), " tokens");
  for (int32_t id : ids)
    LOUPE_CHECK(id >= 0 && id < info_.vocab_size, InvalidArgument, "token id ", id,
                " outside the vocabulary [0, ", info_.vocab_size, ")");

  const auto& visuals = r.request.visuals;
  const int32_t merge = info_.spatial_merge;
  int64_t visual_total = 0;
  for (size_t k = 0; k < visuals.size(); ++k) {
    const auto& v = visuals[k];
    constexpr int64_t kMaxSide = int64_t(1) << 20;  // bounds t*h*w far inside int64
    LOUPE_CHECK(v.grid.t >= 1 && v.grid.h >= 1 && v.grid.w >= 1 && v.grid.t <= kMaxSide && v.grid.h <= kMaxSide &&
                    v.grid.w <= kMaxSide && v.grid.h % merge == 0 && v.grid.w % merge == 0,
                InvalidArgument, "attachment ", k, " has grid (", v.grid.t, ", ", v.grid.h, ", ", v.grid.w,
                "); h and w must be positive multiples of ", merge, ", each side at most ", kMaxSide);
    const int64_t patches = v.grid.patches();
    if (info_.patch_dim > 0)
      LOUPE_CHECK(int64_t(v.pixel_values.size()) == patches * info_.patch_dim, InvalidArgument, "attachment ", k,
                  " has ", v.pixel_values.size(), " pixel values, expected ", patches, " x ", info_.patch_dim);
    LOUPE_CHECK(!v.pixel_values.empty(), InvalidArgument, "attachment ", k, " has no pixel values");
    visual_total += v.grid.merged_tokens(merge);
    VisualItem item;
    item.kind = v.kind;
    item.grid = v.grid;
    item.pixel_values = v.pixel_values.data();
    item.hash = hash_visual_item(v.kind, v.grid, v.preprocess_key,
                                 v.pixel_values.data(), v.pixel_values.size());
    r.items.push_back(std::move(item));
  }
  LOUPE_CHECK(visual_total <= options_.max_visual_tokens, LimitExceeded, "request has ", visual_total,
              " visual tokens, max_visual_tokens is ", options_.max_visual_tokens);

  VisualTokenMap map = map_visual_tokens(ids, r.items, info_);
  r.keys.resize(size_t(prompt_len));
  for (size_t i = 0; i < size_t(prompt_len); ++i)
    r.keys[i] = map.visual_item[i] < 0 ? text_key(ids[i])
                                       : visual_key(r.items[size_t(map.visual_item[i])].hash,
                                                    uint32_t(map.visual_row[i]));
  r.visual_item = std::move(map.visual_item);
  r.visual_row = std::move(map.visual_row);

  if (!r.request.pooling)
    r.sampler = std::make_unique<Sampler>(sampling, ids, r.request.constraint.get(), info_.vocab_size);
  r.result.prompt_tokens = int32_t(prompt_len);
}

void Scheduler::validate_pooling(const PoolingParams& p) const {
  const int32_t hidden = info_.hidden_size;
  if (p.kind == PoolingParams::Kind::Embedding) {
    const int32_t smallest = std::min(PoolingParams::kMinDimensions, hidden);
    LOUPE_CHECK(p.dimensions == 0 || (p.dimensions >= smallest && p.dimensions <= hidden), InvalidArgument,
                "embedding dimensions must be between ", smallest, " and ", hidden, " (0 = ", hidden, "), got ",
                p.dimensions);
  } else {
    LOUPE_CHECK(info_.can_generate, InvalidArgument,
                "a yes/no score needs the checkpoint's output head (lm_head.weight), which this one lacks");
    for (int32_t id : {p.yes_token, p.no_token})
      LOUPE_CHECK(id >= 0 && id < info_.vocab_size, InvalidArgument, "score token id ", id,
                  " outside the vocabulary [0, ", info_.vocab_size, ")");
  }
}

std::shared_ptr<RequestState> Scheduler::submit(Request request) {
  auto r = std::make_shared<RequestState>();
  r->request = std::move(request);
  const bool deferred = bool(r->request.prepare);
  if (!deferred) validate(*r);  // nothing left to prepare: refuse a bad request at once
  {
    std::lock_guard<std::mutex> lock(mutex_);
    LOUPE_CHECK(!closing_, Cancelled, "engine is closed");
    // The engine holds at most one full batch plus queue_limit waiting requests.
    LOUPE_CHECK(live_.size() < size_t(options_.max_running) + size_t(options_.queue_limit), Overloaded,
                "request queue is full (queue_limit ", options_.queue_limit, " beyond max_running ",
                options_.max_running, ")");
    r->id = next_id_++;
    r->result.id = r->id;
    r->submitted = Clock::now();
    if (r->request.timeout_ms > 0) r->deadline = r->submitted + std::chrono::milliseconds(r->request.timeout_ms);
    live_[r->id] = r;
    if (deferred) {
      unprepared_.push_back(r);
    } else {
      r->holds_inputs = true;
      ++holding_;
      incoming_.push_back(r);
    }
  }
  if (deferred) prepare_wake_.notify_one();
  wake_.notify_one();  // a deferred request's deadline counts from now
  return r;
}

bool Scheduler::may_prepare() const {
  // Requests holding prepared inputs (or preparing them) stay within one batch's worth, so
  // a burst of queued images costs their encoded bytes only.
  return !unprepared_.empty() && holding_ < options_.max_running;
}

void Scheduler::prepare_loop() {
  for (;;) {
    std::shared_ptr<RequestState> r;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      prepare_wake_.wait(lock, [&] { return closing_ || may_prepare(); });
      if (closing_) return;
      r = std::move(unprepared_.front());
      unprepared_.pop_front();
      r->holds_inputs = true;
      ++holding_;
    }
    // A request cancelled or past its deadline is not prepared; the scheduler ends it.
    if (!r->cancel_requested && !(r->deadline && Clock::now() >= *r->deadline)) {
      try {
        auto prepare = std::move(r->request.prepare);
        prepare(r->request);
        validate(*r);
      } catch (...) {
        r->prepare_error = describe_current_exception();
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      incoming_.push_back(std::move(r));
    }
    wake_.notify_one();
  }
}

bool Scheduler::cancel(uint64_t id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(id);
    if (it == live_.end()) return false;
    std::shared_ptr<RequestState> r = it->second.lock();
    if (!r) return false;
    r->cancel_requested = true;
    cancel_requested_ = true;  // after the request's flag: the woken scheduler sees both
  }
  wake_.notify_one();
  return true;
}

EngineStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats s = published_;
  s.waiting = int64_t(live_.size()) - s.running;  // submissions since the last step count at once
  return s;
}

// ---- scheduler thread ---------------------------------------------------------------

void Scheduler::wait_for_work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (closing_ || cancel_requested_ || !incoming_.empty() || !waiting_.empty() || !running_.empty()) break;
    // Only unprepared requests (or none) left: wake for the first deadline among them.
    std::optional<Clock::time_point> next;
    for (const auto& r : unprepared_)
      if (r->deadline && (!next || *r->deadline < *next)) next = r->deadline;
    if (!next) {
      wake_.wait(lock);
    } else if (wake_.wait_until(lock, *next) == std::cv_status::timeout) {
      break;
    }
  }
  cancel_requested_ = false;
}

void Scheduler::loop() {
  for (;;) {
    wait_for_work();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closing_) break;
    }
    try {
      step();
    } catch (...) {
      // A bug surfaced (the step itself fails requests it can blame). Fail everything in
      // flight rather than continue on state that may be inconsistent, and keep serving.
      auto [kind, message] = describe_current_exception();
      while (!running_.empty()) finish(*running_.back(), FinishReason::Error, kind, "engine step failed: " + message);
      while (!waiting_.empty()) finish(*waiting_.back(), FinishReason::Error, kind, "engine step failed: " + message);
    }
    publish_stats();
  }
  for (auto& preparer : preparers_) preparer.join();  // each hands back what it was preparing
  intake();
  std::deque<std::shared_ptr<RequestState>> unprepared;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    unprepared.swap(unprepared_);
  }
  const std::string cancelled = error_kind_name(ErrorKind::Cancelled);
  for (auto& r : unprepared) finish(*r, FinishReason::Cancelled, cancelled, "engine closed");
  while (!running_.empty()) finish(*running_.back(), FinishReason::Cancelled, cancelled, "engine closed");
  while (!waiting_.empty()) finish(*waiting_.back(), FinishReason::Cancelled, cancelled, "engine closed");
  publish_stats();
}

void Scheduler::intake() {
  std::deque<std::shared_ptr<RequestState>> arrived;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    arrived.swap(incoming_);
  }
  for (auto& r : arrived) {
    if (r->prepare_error) {
      finish(*r, FinishReason::Error, r->prepare_error->first, r->prepare_error->second);
    } else {
      waiting_.push_back(std::move(r));
    }
  }
}

void Scheduler::drop_expired() {
  const auto now = Clock::now();
  auto expired = [&](RequestState& r, FinishReason& reason, const char*& kind, const char*& message) {
    if (r.cancel_requested) {
      reason = FinishReason::Cancelled, kind = error_kind_name(ErrorKind::Cancelled), message = "cancelled by the caller";
      return true;
    }
    if (r.deadline && now >= *r.deadline) {
      reason = FinishReason::Timeout, kind = error_kind_name(ErrorKind::Timeout), message = "request deadline passed";
      return true;
    }
    return false;
  };
  FinishReason reason;
  const char *kind = nullptr, *message = nullptr;
  for (size_t i = running_.size(); i-- > 0;)
    if (expired(*running_[i], reason, kind, message)) finish(*running_[i], reason, kind, message);
  for (size_t i = waiting_.size(); i-- > 0;)
    if (expired(*waiting_[i], reason, kind, message)) finish(*waiting_[i], reason, kind, message);
  struct Expired {
    std::shared_ptr<RequestState> request;
    FinishReason reason;
    const char *kind, *message;
  };
  std::vector<Expired> unprepared_expired;  // finished outside the lock finish() takes
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = unprepared_.begin(); it != unprepared_.end();) {
      if (expired(**it, reason, kind, message)) {
        unprepared_expired.push_back({std::move(*it), reason, kind, message});
        it = unprepared_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& e : unprepared_expired) finish(*e.request, e.reason, e.kind, e.message);
}

void Scheduler::step() {
  intake();
  drop_expired();
  std::vector<Chunk> chunks;
  // Prefill first (new requests join the decode batch sooner), but never starve running
  // requests: after a few prefill steps in a row, decode once.
  constexpr int kMaxPrefillsBeforeDecode = 4;
  if (prefills_in_a_row_ >= kMaxPrefillsBeforeDecode && build_decode(chunks)) {
    prefills_in_a_row_ = 0;
    return run(chunks, ForwardMode::Decode);
  }
  if (build_prefill(chunks)) {
    ++prefills_in_a_row_;
    return run(chunks, ForwardMode::Extend);
  }
  prefills_in_a_row_ = 0;
  if (build_decode(chunks)) return run(chunks, ForwardMode::Decode);
  // Nothing could run: running requests hold the memory the others need. Give the newest
  // one's memory back (it re-runs later, its output so far kept).
  if (!running_.empty()) return retract(*running_.back());
  if (!waiting_.empty())  // an empty pool cannot hold it (cannot happen: checked at submit)
    finish(*waiting_.front(), FinishReason::Error, error_kind_name(ErrorKind::OutOfMemory), "request does not fit the KV pool");
}

bool Scheduler::reserve(int32_t n, std::vector<int32_t>& out) {
  const int32_t short_by = n - allocator_->available();
  if (short_by > 0) radix_->evict(size_t(short_by));
  return allocator_->allocate(n, out);
}

bool Scheduler::build_prefill(std::vector<Chunk>& chunks) {
  int32_t budget = options_.max_batch_tokens;
  for (auto& r : running_) {  // continue chunked prefills first
    if (!r->needs_prefill() || budget == 0) continue;
    const int32_t begin = r->kv_len();
    const int32_t n = std::min({r->seq_len() - begin, options_.chunk_size, budget});
    if (!reserve(n, r->kv_slots)) continue;
    chunks.push_back({r, begin, begin + n});
    budget -= n;
  }
  size_t next = 0;  // FCFS, except requests deferred by computed_in_this_step
  while (next < waiting_.size() && budget > 0 && int32_t(running_.size()) < options_.max_running) {
    auto r = waiting_[next];
    if (computed_in_this_step(*r, chunks)) {
      ++next;
      continue;
    }
    bool admitted = false;
    try {
      admitted = admit(r, budget, chunks);
    } catch (...) {
      auto [kind, message] = describe_current_exception();
      finish(*r, FinishReason::Error, kind, message);
      continue;
    }
    if (!admitted) break;
    budget -= chunks.back().end - chunks.back().begin;
    waiting_.erase(waiting_.begin() + ptrdiff_t(next));
    running_.push_back(std::move(r));
  }
  return !chunks.empty();
}

bool Scheduler::computed_in_this_step(const RequestState& r, const std::vector<Chunk>& chunks) const {
  // A request sharing a long uncached prefix (typically the same image) with one being
  // prefilled now waits one step: it then finds that prefix in the radix cache instead of
  // computing it again in the same batch (sglang's in-batch prefix check).
  if (!options_.prefix_cache) return false;
  constexpr int32_t kMinShared = 16;
  for (const Chunk& c : chunks) {
    const auto& other = c.req->keys;
    const size_t limit = std::min({r.keys.size() - 1, other.size(), size_t(c.end)});
    size_t shared = 0;
    while (shared < limit && r.keys[shared] == other[shared]) ++shared;
    if (int64_t(shared) >= int64_t(c.begin) + kMinShared) return true;
  }
  return false;
}

bool Scheduler::admit(const std::shared_ptr<RequestState>& owner, int32_t budget, std::vector<Chunk>& chunks) {
  RequestState& r = *owner;
  if (!r.admitted_once) {
    r.positions = runner_->positions(r.request.token_ids, r.items);
    LOUPE_CHECK(r.positions.positions.size() == size_t(3) * size_t(r.prompt_len()), Internal,
                "model returned ", r.positions.positions.size(), " positions for ", r.prompt_len(), " tokens");
  }
  if (options_.prefix_cache) {
    // At least the last token is computed: its logits pick the next token.
    auto match = radix_->match_prefix(r.keys.data(), size_t(r.seq_len() - 1));
    r.kv_slots = std::move(match.slots);
    radix_->lock(match.node);
    r.locked = match.node;
    r.tree_len = r.kv_len();
  }
  const int32_t begin = r.kv_len();
  const int32_t n = std::min({r.seq_len() - begin, options_.chunk_size, budget});
  if (!reserve(n, r.kv_slots)) {
    if (r.locked) radix_->unlock(r.locked);
    r.locked = nullptr;
    r.kv_slots.clear();
    r.tree_len = 0;
    return false;
  }
  if (!r.admitted_once) {
    r.admitted_once = true;
    r.result.cached_tokens = begin;
    r.result.timings.queue_ms = ms_since(r.submitted);
    if (options_.prefix_cache) radix_->record_lookup(size_t(begin), size_t(r.prompt_len() - begin));
  }
  chunks.push_back({owner, begin, begin + n});
  return true;
}

bool Scheduler::build_decode(std::vector<Chunk>& chunks) {
  auto ready = [&] {
    int32_t n = 0;
    for (auto& r : running_) n += r->needs_prefill() ? 0 : 1;
    return n;
  };
  for (;;) {
    const int32_t needed = ready();
    if (needed == 0) return false;
    if (allocator_->available() < needed) radix_->evict(size_t(needed - allocator_->available()));
    if (allocator_->available() >= needed || running_.size() <= 1) break;
    retract(*running_.back());
  }
  for (auto& r : running_) {
    if (r->needs_prefill()) continue;
    const int32_t begin = r->kv_len();
    if (!reserve(1, r->kv_slots)) continue;  // only a lone request that fills the pool
    chunks.push_back({r, begin, begin + 1});
  }
  return !chunks.empty();
}

void Scheduler::run(std::vector<Chunk>& chunks, ForwardMode mode) {
  Step step;
  ForwardBatch& batch = step.batch;
  batch.mode = mode;
  batch.batch_size = int32_t(chunks.size());
  std::vector<int32_t> rows[3];
  std::vector<RequestState*> item_owner;
  std::vector<bool> item_was_empty;
  for (const Chunk& c : chunks) {
    RequestState& r = *c.req;
    batch.seq_lens.push_back(c.end);
    batch.extend_prefix_lens.push_back(c.begin);
    batch.extend_seq_lens.push_back(c.end - c.begin);
    batch.kv_slots.push_back(r.kv_slots.data());
    const bool completes_prompt = c.end == r.seq_len();
    step.samplers.push_back(completes_prompt ? r.sampler.get() : nullptr);
    step.pooling.push_back(completes_prompt && r.request.pooling ? &*r.request.pooling : nullptr);
    const int32_t prompt_len = r.prompt_len();
    int32_t last_item = -1, last_index = -1;
    for (int32_t i = c.begin; i < c.end; ++i) {
      step.input_ids.push_back(r.token(i));
      batch.out_cache_loc.push_back(r.kv_slots[size_t(i)]);
      int32_t item = -1, row = 0;
      if (i < prompt_len) {
        for (int a = 0; a < 3; ++a) rows[a].push_back(r.positions.positions[size_t(a) * prompt_len + i]);
        item = r.visual_item[size_t(i)];
        row = r.visual_row[size_t(i)];
      } else {
        for (int a = 0; a < 3; ++a) rows[a].push_back(i + r.positions.delta);
      }
      if (item >= 0) {
        if (item != last_item) {  // items are contiguous runs: one entry per run in this chunk
          VisualItem* visual = &r.items[size_t(item)];
          if (!visual->features && options_.vision_cache_bytes > 0) {
            if (auto cached = features_.get(visual->hash)) visual->features = std::move(cached);
          }
          item_was_empty.push_back(!visual->features);
          visual->vision_ms = 0;
          batch.items.push_back(visual);
          item_owner.push_back(&r);
          last_item = item;
          last_index = int32_t(batch.items.size()) - 1;
        }
        batch.visual_item.push_back(last_index);
      } else {
        batch.visual_item.push_back(-1);
      }
      batch.visual_row.push_back(row);
    }
  }
  for (const auto& row : rows) step.positions.insert(step.positions.end(), row.begin(), row.end());

  const auto start = Clock::now();
  // The masks of this step's constrained picks are computed while the model runs.
  const std::shared_future<void> masks = start_masks(step);
  try {
    runner_->forward(step, logits_);
    const bool samples = std::any_of(step.samplers.begin(), step.samplers.end(), [](auto* s) { return s != nullptr; });
    const bool pools = std::any_of(step.pooling.begin(), step.pooling.end(), [](auto* p) { return p != nullptr; });
    LOUPE_CHECK(!samples || step.next_tokens.size() == size_t(batch.batch_size) ||
                    logits_.size() >= size_t(batch.batch_size) * size_t(info_.vocab_size),
                Internal, "model returned ", logits_.size(), " logits for a batch of ", batch.batch_size);
    LOUPE_CHECK(!pools || step.pooled.size() == size_t(batch.batch_size), Internal,
                "model returned no pooled outputs for a prefill-only request");
  } catch (...) {
    if (masks.valid()) masks.wait();  // the worker is done with the samplers before they go
    auto [kind, message] = describe_current_exception();
    for (const Chunk& c : chunks) finish(*c.req, FinishReason::Error, kind, message);
    return;
  }
  if (masks.valid()) masks.wait();  // a runner that did not sample
  const double elapsed = ms_since(start);
  (mode == ForwardMode::Extend ? counters_.prefill_steps : counters_.decode_steps) += 1;

  for (size_t k = 0; k < batch.items.size(); ++k) {
    VisualItem* item = batch.items[k];
    if (!item_was_empty[k] || !item->features) continue;
    item_owner[k]->result.timings.vision_ms += item->vision_ms;
    if (options_.vision_cache_bytes > 0) features_.put(item->hash, item->features, item->feature_bytes);
  }
  for (size_t b = 0; b < chunks.size(); ++b) {
    RequestState& r = *chunks[b].req;
    (mode == ForwardMode::Extend ? r.result.timings.prefill_ms : r.result.timings.decode_ms) += elapsed;
    if (mode == ForwardMode::Extend) counters_.prefill_tokens += chunks[b].end - chunks[b].begin;
    if (r.kv_len() >= r.prompt_len())  // prompt done: features no longer needed here
      for (auto& item : r.items) item.features.reset();
    if (chunks[b].end == r.seq_len() && r.request.pooling) {
      complete_pooled(r, std::move(step.pooled[b]));
      continue;
    }
    if (chunks[b].end == r.seq_len()) {
      const int32_t token = step.next_tokens.empty()
                                ? r.sampler->sample(&logits_[b * size_t(info_.vocab_size)], info_.vocab_size)
                                : step.next_tokens[b];
      after_token(r, token);
    }
    if (!r.finished && mode == ForwardMode::Extend) cache_progress(r);
  }
}

std::shared_future<void> Scheduler::start_masks(const Step& step) {
  std::vector<Sampler*> constrained;
  for (Sampler* s : step.samplers)
    if (s && s->constrained()) constrained.push_back(s);
  if (constrained.empty()) return {};
  std::shared_future<void> ready = constraint_worker_.post([constrained] {
    for (Sampler* s : constrained) s->compute_mask();
  });
  for (Sampler* s : constrained) s->mask_pending(ready);
  return ready;
}

void Scheduler::complete_pooled(RequestState& r, std::vector<float> pooled) {
  if (r.request.pooling->kind == PoolingParams::Kind::Embedding) {
    r.result.embedding = std::move(pooled);
  } else {
    LOUPE_CHECK(pooled.size() == 1, Internal, "model returned ", pooled.size(), " values for a score");
    r.result.score = pooled[0];
  }
  finish(r, FinishReason::Pooled);  // the computed prompt goes to the prefix cache
}

void Scheduler::after_token(RequestState& r, int32_t token) {
  // A constraint that failed on this step: its pick is not part of the output.
  if (!r.sampler->constraint_error().empty())
    return finish(r, FinishReason::Error, error_kind_name(ErrorKind::InvalidArgument), r.sampler->constraint_error());
  r.output.push_back(token);
  r.keys.push_back(text_key(token));
  counters_.generated_tokens += 1;
  if (r.request.on_token) {
    try {
      r.request.on_token(token);
    } catch (...) {
      auto [kind, message] = describe_current_exception();
      return finish(r, FinishReason::Error, error_kind_name(ErrorKind::InvalidArgument), "on_token callback threw: " + message);
    }
  }
  FinishReason reason;
  try {
    if (stop_reason(r.sampler->params(), r.output, r.request.detokenize, reason)) finish(r, reason);
  } catch (...) {
    auto [kind, message] = describe_current_exception();
    finish(r, FinishReason::Error, kind, "stop check failed: " + message);
  }
}

void Scheduler::cache_progress(RequestState& r) {
  if (!options_.prefix_cache) return;
  RadixNode* node = radix_->insert(r.keys.data(), size_t(r.kv_len()), r.kv_slots);
  radix_->lock(node);
  if (r.locked) radix_->unlock(r.locked);
  r.locked = node;
  r.tree_len = r.kv_len();
}

void Scheduler::release_kv(RequestState& r, bool keep_computed) {
  // Computed KV goes to the tree (unlocked: evictable) for later requests to reuse; a
  // request that failed mid-step may hold garbage KV past tree_len, which is just freed.
  if (options_.prefix_cache && keep_computed && r.kv_len() > 0) {
    radix_->insert(r.keys.data(), size_t(r.kv_len()), r.kv_slots);
  } else if (size_t(r.tree_len) < r.kv_slots.size()) {
    allocator_->release(r.kv_slots.data() + r.tree_len, r.kv_slots.size() - size_t(r.tree_len));
  }
  if (r.locked) radix_->unlock(r.locked);
  r.locked = nullptr;
  r.kv_slots.clear();
  r.tree_len = 0;
}

void Scheduler::remove_running(RequestState& r) {
  auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &r; });
  if (it != running_.end()) running_.erase(it);
}

void Scheduler::retract(RequestState& r) {
  auto keep_alive = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &r; });
  if (keep_alive == running_.end()) return;
  std::shared_ptr<RequestState> owner = *keep_alive;
  release_kv(r, true);
  remove_running(r);
  r.result.retractions += 1;
  counters_.retractions += 1;
  waiting_.push_front(std::move(owner));
}

void Scheduler::finish(RequestState& r, FinishReason reason, const std::string& error_kind,
                       const std::string& error) {
  std::shared_ptr<RequestState> owner;
  if (auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.get() == &r; });
      it != running_.end()) {
    owner = *it;
    running_.erase(it);
  } else if (auto w = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& p) { return p.get() == &r; });
             w != waiting_.end()) {
    owner = *w;
    waiting_.erase(w);
  }
  r.result.finish_reason = reason;
  release_kv(r, reason != FinishReason::Error);
  r.finished = true;
  r.result.token_ids = r.output;
  r.result.error_kind = error_kind;
  r.result.error = error;
  (r.result.ok() ? counters_.completed : counters_.failed) += 1;
  // Whoever observes this completion may read stats() next; they must already count it.
  publish_stats(r.id);
  if (r.request.on_complete) {
    try {
      r.request.on_complete(r.result);
    } catch (...) {
      // The result stands; a throwing callback must not take the scheduler down.
    }
  }
  if (r.holds_inputs) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --holding_;
    }
    prepare_wake_.notify_one();  // the next queued request may be prepared now
  }
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    r.done = true;
  }
  r.done_cv.notify_all();
}

void Scheduler::publish_stats(uint64_t finished_id) {
  EngineStats s = counters_;
  s.running = int64_t(running_.size());
  s.kv_capacity_tokens = allocator_->usable();
  s.kv_free_tokens = allocator_->available();
  s.kv_cached_tokens = int64_t(radix_->cached_tokens());
  s.prefix_hit_tokens = radix_->stats().hit_tokens;
  s.prefix_miss_tokens = radix_->stats().miss_tokens;
  s.prefix_evicted_tokens = radix_->stats().evicted_tokens;
  s.vision_cache_hits = features_.hits();
  s.vision_cache_misses = features_.misses();
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_id != 0) live_.erase(finished_id);  // with the counts, so stats() never sees it twice
  published_ = s;  // waiting is derived from live_ in stats()
}

}  // namespace loupe::engine
