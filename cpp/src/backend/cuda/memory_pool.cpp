#include "backend/cuda/memory_pool.h"

#include <cuda_runtime.h>

#include "backend/cuda/cuda_check.h"

namespace loupe::cuda {

namespace {
constexpr size_t kSmallLimit = size_t(1) << 20;  // below: round to powers of two
constexpr size_t kLargeGranule = size_t(2) << 20;  // above: round to 2 MiB
}  // namespace

MemoryPool::~MemoryPool() {
  int previous = 0;
  cudaGetDevice(&previous);
  cudaSetDevice(device_);
  for (auto& [size, ptr] : free_blocks_) cudaFree(ptr);
  for (auto& [size, ptr] : arena_free_) cudaFree(ptr);
  // Live blocks are owned by Buffers that outlive the backend only through misuse;
  // freeing them here keeps device memory from leaking with the process still running.
  for (auto& [ptr, size] : live_blocks_) cudaFree(ptr);
  cudaSetDevice(previous);
}

size_t MemoryPool::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= kSmallLimit) {
    size_t size = 512;
    while (size < bytes) size <<= 1;
    return size;
  }
  return (bytes + kLargeGranule - 1) / kLargeGranule * kLargeGranule;
}

void* MemoryPool::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  if (capturing_) {
    // Arena first (exact size class); otherwise a new block that joins the arena.
    if (auto it = arena_free_.find(size); it != arena_free_.end()) {
      void* ptr = it->second;
      arena_free_.erase(it);
      live_blocks_[ptr] = size;
      in_use_bytes_ += size;
      return ptr;
    }
  }
  // Exact size class first; large blocks may also come from a slightly bigger one.
  auto it = free_blocks_.lower_bound(size);
  if (it != free_blocks_.end() && (it->first == size || (size > kSmallLimit && it->first <= size + size / 8))) {
    void* ptr = it->second;
    live_blocks_[ptr] = it->first;
    cached_bytes_ -= it->first;
    in_use_bytes_ += it->first;
    if (capturing_) arena_blocks_[ptr] = it->first;
    free_blocks_.erase(it);
    return ptr;
  }
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  if (err == cudaErrorMemoryAllocation && !free_blocks_.empty()) {
    cudaGetLastError();  // clear the sticky-free error state before retrying
    for (auto& [s, p] : free_blocks_) cudaFree(p);
    free_blocks_.clear();
    cached_bytes_ = 0;
    err = cudaMalloc(&ptr, size);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    LOUPE_FAIL(OutOfMemory, "cuda:", device_, ": cannot allocate ", size, " bytes (",
               cudaGetErrorString(err), "; ", free_b, " of ", total_b, " bytes free, ",
               in_use_bytes_, " in use by loupe)");
  }
  live_blocks_[ptr] = size;
  in_use_bytes_ += size;
  if (capturing_) arena_blocks_[ptr] = size;
  return ptr;
}

void MemoryPool::begin_capture() {
  std::lock_guard<std::mutex> lock(mutex_);
  capturing_ = true;
}

void MemoryPool::end_capture() {
  std::lock_guard<std::mutex> lock(mutex_);
  capturing_ = false;
  if (graphs_ == 0) return_arena_locked();
}

void MemoryPool::graph_created() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++graphs_;
}

void MemoryPool::graph_destroyed() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (--graphs_ == 0 && !capturing_) return_arena_locked();
}

// No graph can replay any more: free arena blocks become ordinary cached blocks. Blocks
// still live (taken during a capture and not yet freed) stay marked until they come back.
void MemoryPool::return_arena_locked() {
  for (auto& [size, ptr] : arena_free_) {
    arena_blocks_.erase(ptr);
    free_blocks_.emplace(size, ptr);
    cached_bytes_ += size;
  }
  arena_free_.clear();
}

void MemoryPool::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_blocks_.find(ptr);
  LOUPE_CHECK(it != live_blocks_.end(), InvalidArgument, "deallocate of a pointer this CUDA backend did not allocate");
  const size_t size = it->second;
  in_use_bytes_ -= size;
  live_blocks_.erase(it);
  if (arena_blocks_.count(ptr)) {
    if (graphs_ > 0 || capturing_) {  // a recorded kernel may point into it
      arena_free_.emplace(size, ptr);
      return;
    }
    arena_blocks_.erase(ptr);
  }
  free_blocks_.emplace(size, ptr);
  cached_bytes_ += size;
}

size_t MemoryPool::release_cached() {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t released = cached_bytes_;
  for (auto& [size, ptr] : free_blocks_) cudaFree(ptr);
  free_blocks_.clear();
  cached_bytes_ = 0;
  return released;
}

size_t MemoryPool::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_bytes_;
}

size_t MemoryPool::in_use_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_bytes_;
}

}  // namespace loupe::cuda
