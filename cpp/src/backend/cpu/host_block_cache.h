#pragma once
// Caching host allocator for the CPU backend's activation buffers. A forward pass allocates
// and frees the same large buffers every step; through malloc, blocks above its mmap
// threshold go back to the kernel on free and come back as fresh zeroed pages, so every
// step would pay page faults and page clearing. Freed blocks of at least kMinCachedBytes
// stay here, up to a byte cap, for the next request of a similar size. Under AddressSanitizer nothing is cached, so use-after-free stays
// detectable.
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

namespace loupe::cpu {

class HostBlockCache {
 public:
  static constexpr size_t kMinCachedBytes = size_t(1) << 20;

  // Keeps at most max_cached_bytes in freed blocks; 0 caches nothing.
  explicit HostBlockCache(size_t max_cached_bytes);
  ~HostBlockCache();
  HostBlockCache(const HostBlockCache&) = delete;
  HostBlockCache& operator=(const HostBlockCache&) = delete;

  // 64-byte aligned, uninitialised; throws OutOfMemory.
  void* allocate(size_t bytes);
  void deallocate(void* ptr);

  size_t cached_bytes() const;

 private:
  const size_t max_cached_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_blocks_;       // size -> cached block
  std::unordered_map<void*, size_t> large_blocks_;  // live blocks >= kMinCachedBytes -> size
  size_t cached_bytes_ = 0;
};

}  // namespace loupe::cpu
