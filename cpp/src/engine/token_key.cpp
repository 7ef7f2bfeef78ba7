#include "engine/token_key.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/error.h"

namespace loupe::engine {

uint64_t hash_visual_item(VisualKind kind, const GridTHW& grid, std::string_view preprocess_key,
                          const float* pixel_values, size_t count) {
  XXH3_state_t state;
  LOUPE_CHECK(XXH3_64bits_reset(&state) == XXH_OK, Internal, "xxhash reset failed");
  // Fixed-width header first, then a length-prefixed key, so field boundaries cannot shift.
  const int64_t header[5] = {int64_t(kind), grid.t, grid.h, grid.w, int64_t(preprocess_key.size())};
  XXH3_64bits_update(&state, header, sizeof(header));
  XXH3_64bits_update(&state, preprocess_key.data(), preprocess_key.size());
  XXH3_64bits_update(&state, pixel_values, count * sizeof(float));
  return XXH3_64bits_digest(&state);
}

}  // namespace loupe::engine
