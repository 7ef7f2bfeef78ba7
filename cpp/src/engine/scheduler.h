#pragma once
// The scheduler thread: owns the model runner, the KV pool, the radix cache and the
// vision-feature cache; turns queued requests into prefill steps (chunked, to a token
// budget, prefix hits reused) and decode steps (every running request, one token each),
// with admission against free KV slots, eviction before refusal, and retraction of
// running requests when decode runs out of memory. It is the one owner of queueing and
// deadlines: a request with a Request::prepare step waits light (unprepared) until fewer
// than max_running requests hold prepared inputs, then a preparation thread runs it.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/feature_cache.h"
#include "engine/kv_slot_allocator.h"
#include "engine/model_runner.h"
#include "engine/radix_cache.h"
#include "engine/request_state.h"
#include "engine/worker_thread.h"
#include "loupe/engine.h"

namespace loupe::engine {

class Scheduler {
 public:
  Scheduler(std::unique_ptr<ModelRunner> runner, const EngineOptions& options);
  ~Scheduler();

  std::shared_ptr<RequestState> submit(Request request);  // thread-safe
  bool cancel(uint64_t id);                                // thread-safe
  EngineStats stats() const;                               // thread-safe
  const RunnerInfo& info() const { return info_; }
  void close();                                            // thread-safe, idempotent

 private:
  struct Chunk {
    std::shared_ptr<RequestState> req;  // keeps the request alive while the step finishes it
    int32_t begin, end;  // token range computed this step
  };

  void validate(RequestState& r) const;  // checks, hashing, placeholder mapping; any thread
  void validate_pooling(const PoolingParams& pooling) const;
  void prepare_loop();                    // a preparation thread
  bool may_prepare() const;               // mutex_ held
  void wait_for_work();
  void loop();
  void step();
  void intake();
  void drop_expired();
  bool build_prefill(std::vector<Chunk>& chunks);
  bool build_decode(std::vector<Chunk>& chunks);
  bool computed_in_this_step(const RequestState& r, const std::vector<Chunk>& chunks) const;
  bool reserve(int32_t n, std::vector<int32_t>& out);  // evicts from the radix cache if needed
  bool admit(const std::shared_ptr<RequestState>& r, int32_t budget, std::vector<Chunk>& chunks);
  void run(std::vector<Chunk>& chunks, ForwardMode mode);
  std::shared_future<void> start_masks(const Step& step);  // on constraint_worker_
  void after_token(RequestState& r, int32_t token);
  void complete_pooled(RequestState& r, std::vector<float> pooled);
  void cache_progress(RequestState& r);
  void release_kv(RequestState& r, bool keep_computed);
  void retract(RequestState& r);
  void finish(RequestState& r, FinishReason reason, const std::string& error_kind = {},
              const std::string& error = {});
  void remove_running(RequestState& r);
  void publish_stats(uint64_t finished_id = 0);  // also forgets a finished request

  std::unique_ptr<ModelRunner> runner_;
  RunnerInfo info_;
  EngineOptions options_;
  std::unique_ptr<KvSlotAllocator> allocator_;
  std::unique_ptr<RadixCache> radix_;
  FeatureCache features_;

  // shared with submitting threads
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable prepare_wake_;
  std::deque<std::shared_ptr<RequestState>> unprepared_;  // submitted with a prepare step, FIFO
  int32_t holding_ = 0;                // requests preparing or holding prepared inputs, not yet completed
  std::deque<std::shared_ptr<RequestState>> incoming_;    // submitted or prepared, for the scheduler
  std::unordered_map<uint64_t, std::weak_ptr<RequestState>> live_;
  bool cancel_requested_ = false;      // a cancel() the scheduler has not looked at yet
  uint64_t next_id_ = 1;
  bool closing_ = false;
  EngineStats published_;

  // scheduler thread only
  std::deque<std::shared_ptr<RequestState>> waiting_;
  std::vector<std::shared_ptr<RequestState>> running_;  // admission order
  EngineStats counters_;
  std::vector<float> logits_;
  int prefills_in_a_row_ = 0;
  std::vector<std::thread> preparers_;
  WorkerThread constraint_worker_;
  std::thread thread_;
};

}  // namespace loupe::engine
