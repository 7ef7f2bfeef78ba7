#pragma once
// One background thread that runs posted tasks in order: the scheduler computes the next
// tokens' constraint masks on it while the model runs the step. Started on first use.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace loupe::engine {

class WorkerThread {
 public:
  WorkerThread() = default;
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // The future is ready when the task has run (an exception it throws is stored in it).
  std::shared_future<void> post(std::function<void()> task);

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loupe::engine
