#pragma once
// Caching device allocator: freed blocks go back to a size-keyed free list and are
// reused by later requests, so steady-state inference does no cudaMalloc/cudaFree.
// All work runs on the backend's single stream, so a block freed by the host can be
// handed out again at once: stream order guarantees earlier kernels finished with it.
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace loupe::cuda {

class MemoryPool {
 public:
  explicit MemoryPool(int device) : device_(device) {}
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  void* allocate(size_t bytes);
  void deallocate(void* ptr);
  // cudaFree every cached (unused) block; returns the bytes released.
  size_t release_cached();

  size_t cached_bytes() const;
  size_t in_use_bytes() const;
  // While a sink is set (graph capture), freed blocks stay allocated and go to the sink:
  // the graph being recorded keeps using them, so nothing else may get them.
  void set_free_sink(std::vector<void*>* sink);

 private:
  static size_t round_size(size_t bytes);

  int device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_blocks_;      // size -> block
  std::unordered_map<void*, size_t> live_blocks_;  // block -> size
  size_t cached_bytes_ = 0;
  size_t in_use_bytes_ = 0;
  std::vector<void*>* free_sink_ = nullptr;
};

}  // namespace loupe::cuda
