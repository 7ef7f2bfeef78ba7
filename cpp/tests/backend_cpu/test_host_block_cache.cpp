#include "backend/cpu/host_block_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace loupe::cpu {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

bool aligned64(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

TEST(HostBlockCache, ReusesAFreedLargeBlockForTheNextSimilarRequest) {
  HostBlockCache cache(64 * kMiB);
  void* a = cache.allocate(8 * kMiB + 100);
  ASSERT_TRUE(aligned64(a));
  std::memset(a, 1, 8 * kMiB + 100);  // the whole requested size is usable
  cache.deallocate(a);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_GE(cache.cached_bytes(), 8 * kMiB + 100);
  void* b = cache.allocate(8 * kMiB);  // slightly smaller: the same block
  EXPECT_EQ(b, a);
  EXPECT_EQ(cache.cached_bytes(), 0u);
  cache.deallocate(b);
#endif
}

TEST(HostBlockCache, NeverHandsOutALiveBlockOrAMuchLargerOne) {
  HostBlockCache cache(256 * kMiB);
  void* big = cache.allocate(40 * kMiB);
  void* live = cache.allocate(4 * kMiB);
  cache.deallocate(big);
  void* small = cache.allocate(4 * kMiB);  // the cached 40 MiB block is over twice the size
  EXPECT_NE(small, big);
  EXPECT_NE(small, live);
  std::memset(small, 2, 4 * kMiB);
  std::memset(live, 3, 4 * kMiB);
  EXPECT_EQ(static_cast<unsigned char*>(live)[0], 3);
  cache.deallocate(small);
  cache.deallocate(live);
}

TEST(HostBlockCache, KeepsNoMoreThanItsCapAndNoSmallBlocks) {
  HostBlockCache cache(10 * kMiB);
  void* a = cache.allocate(6 * kMiB);
  void* b = cache.allocate(6 * kMiB);
  void* tiny = cache.allocate(1000);
  ASSERT_TRUE(aligned64(tiny));
  cache.deallocate(a);
  cache.deallocate(b);  // would exceed the cap: released
  cache.deallocate(tiny);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(cache.cached_bytes(), 6 * kMiB);  // a only: b over the cap, tiny below the minimum
#else
  EXPECT_EQ(cache.cached_bytes(), 0u);  // nothing is cached under ASan
#endif
  HostBlockCache none(0);
  none.deallocate(none.allocate(4 * kMiB));
  EXPECT_EQ(none.cached_bytes(), 0u);
}

}  // namespace
}  // namespace loupe::cpu
