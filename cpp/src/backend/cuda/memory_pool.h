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
  // Graph scratch. Blocks taken while a graph is being captured belong to a separate arena:
  // they return to it when freed and only later captures get them again. Inside one graph
  // a freed block may serve a later op (the graph runs its ops in stream order), and graphs
  // may share blocks (they replay one at a time on the backend's one stream); eager work
  // never gets a block a recorded kernel points into, and release_cached() never frees one.
  // The arena's blocks rejoin the pool when the last graph is gone.
  void begin_capture();
  void end_capture();
  void graph_created();
  void graph_destroyed();

 private:
  static size_t round_size(size_t bytes);
  void return_arena_locked();

  int device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_blocks_;      // size -> block
  std::unordered_map<void*, size_t> live_blocks_;  // block -> size
  size_t cached_bytes_ = 0;
  size_t in_use_bytes_ = 0;
  bool capturing_ = false;
  int graphs_ = 0;
  std::multimap<size_t, void*> arena_free_;        // free arena blocks
  std::unordered_map<void*, size_t> arena_blocks_;  // every arena block (free or live) -> size
};

}  // namespace loupe::cuda
