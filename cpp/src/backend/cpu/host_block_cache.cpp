#include "backend/cpu/host_block_cache.h"

#include <cstdlib>

#include "core/error.h"

namespace loupe::cpu {
namespace {

constexpr size_t kAlignment = 64;        // AVX-512 loads
constexpr size_t kGranule = 64 << 10;    // large blocks rounded up, so near sizes share a block

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

void* aligned_block(size_t size) {
  void* p = std::aligned_alloc(kAlignment, size);
  LOUPE_CHECK(p != nullptr, OutOfMemory, "cpu: cannot allocate ", size, " bytes");
  return p;
}

}  // namespace

HostBlockCache::HostBlockCache(size_t max_cached_bytes) : max_cached_(kSanitized ? 0 : max_cached_bytes) {}

HostBlockCache::~HostBlockCache() {
  for (auto& [size, ptr] : free_blocks_) std::free(ptr);
}

void* HostBlockCache::allocate(size_t bytes) {
  if (bytes < kMinCachedBytes) return aligned_block((bytes + kAlignment - 1) / kAlignment * kAlignment);
  const size_t size = (bytes + kGranule - 1) / kGranule * kGranule;
  std::lock_guard<std::mutex> lock(mutex_);
  // The smallest cached block that fits, unless it is over twice the size: a big idle block
  // serving a small request would leave the next big request to allocate anew.
  auto it = free_blocks_.lower_bound(size);
  if (it != free_blocks_.end() && it->first <= 2 * size) {
    void* ptr = it->second;
    large_blocks_[ptr] = it->first;
    cached_bytes_ -= it->first;
    free_blocks_.erase(it);
    return ptr;
  }
  void* ptr = aligned_block(size);
  large_blocks_[ptr] = size;
  return ptr;
}

void HostBlockCache::deallocate(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = large_blocks_.find(ptr);
  if (it == large_blocks_.end()) {
    std::free(ptr);
    return;
  }
  const size_t size = it->second;
  large_blocks_.erase(it);
  if (cached_bytes_ + size > max_cached_) {
    std::free(ptr);
    return;
  }
  free_blocks_.emplace(size, ptr);
  cached_bytes_ += size;
}

size_t HostBlockCache::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_bytes_;
}

}  // namespace loupe::cpu
