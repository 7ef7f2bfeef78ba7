#pragma once
// Prefix-cache keys. Text tokens key by their vocabulary id; visual placeholder tokens key
// by (content hash of their image/video, offset inside it) with the top bit set, a key
// space disjoint from every vocabulary id. Two prompts therefore share a cached prefix
// exactly when their text and their visual content (pixels + grid + preprocessing) match;
// keying placeholders by raw id would let different images share KV (spec §11 pitfall 8).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loupe/visual.h"

namespace loupe::engine {

using TokenKey = uint64_t;

inline constexpr TokenKey kVisualKeyTag = uint64_t{1} << 63;

inline constexpr TokenKey text_key(int32_t token_id) { return TokenKey(uint32_t(token_id)); }

// splitmix64 finaliser: a bijection on 64 bits, so distinct offsets of one item give
// distinct mixed values before the tag bit replaces the top bit.
inline constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

inline constexpr TokenKey visual_key(uint64_t item_hash, uint32_t offset) {
  return kVisualKeyTag | (mix64(item_hash + 0x9e3779b97f4a7c15ull * (uint64_t(offset) + 1)) & ~kVisualKeyTag);
}

inline constexpr bool is_visual_key(TokenKey key) { return (key & kVisualKeyTag) != 0; }

// 64-bit XXH3 over everything that determines a visual item's features: kind, grid,
// preprocessing settings and the pixel bytes.
uint64_t hash_visual_item(VisualKind kind, const GridTHW& grid, std::string_view preprocess_key,
                          const float* pixel_values, size_t count);

}  // namespace loupe::engine
