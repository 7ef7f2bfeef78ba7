#pragma once
// A small fork-join pool for the CPU ops, the runtime's one pool of compute threads (image
// preprocessing runs single-threaded per image on the engine's preparation threads; OpenBLAS
// keeps its own pool for the GEMMs). Workers spin briefly for the next job, then sleep on a
// condition variable, so an idle or oversubscribed machine never burns a core.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace loupe::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls body(begin, end) over [0, n) split into one contiguous range per thread (the
  // caller's thread takes the first). Runs inline when `parallel` is false or n is tiny.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body, bool parallel = true);

 private:
  void worker_loop(int index);
  void run_share(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  std::mutex call_mutex_;  // one parallel_for at a time
};

}  // namespace loupe::cpu
