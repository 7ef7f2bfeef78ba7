#include "model/rope_index.h"

#include <algorithm>

#include "core/error.h"

namespace loupe::model {

RopePositions get_rope_index(std::span<const int32_t> ids, const std::vector<GridTHW>& image_grids,
                             const std::vector<GridTHW>& video_grids, const ModelConfig& config) {
  const int64_t L = int64_t(ids.size());
  const int64_t M = config.vision.spatial_merge_size;
  std::vector<GridTHW> videos;  // one entry per temporal group
  for (const GridTHW& g : video_grids)
    for (int64_t t = 0; t < g.t; ++t) videos.push_back({1, g.h, g.w});

  std::vector<int32_t> pt, ph, pw;
  pt.reserve(L), ph.reserve(L), pw.reserve(L);
  int64_t next = 0;  // max position so far + 1
  auto text = [&](int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      pt.push_back(int32_t(next + i)), ph.push_back(int32_t(next + i)), pw.push_back(int32_t(next + i));
    }
    next += count;
  };

  size_t image_i = 0, video_i = 0;
  int64_t st = 0;
  while (st < L) {
    // Next visual placeholder run at or after st.
    int64_t ed = st;
    while (ed < L && ids[ed] != config.image_token_id && ids[ed] != config.video_token_id) ++ed;
    if (ed == L) break;
    const bool is_image = ids[ed] == config.image_token_id;
    LOUPE_CHECK(is_image ? image_i < image_grids.size() : video_i < videos.size(), InvalidArgument,
                "prompt has more ", is_image ? "image" : "video", " placeholder runs than ",
                is_image ? "image grids (" : "video temporal groups (", is_image ? image_grids.size() : videos.size(), ")");
    const GridTHW g = is_image ? image_grids[image_i++] : videos[video_i++];
    LOUPE_CHECK(g.t > 0 && g.h > 0 && g.w > 0 && g.h % M == 0 && g.w % M == 0, InvalidArgument,
                "grid (", g.t, ", ", g.h, ", ", g.w, ") is not divisible by the merge size ", M);
    const int64_t lt = g.t, lh = g.h / M, lw = g.w / M, tokens = lt * lh * lw;
    LOUPE_CHECK(ed + tokens <= L, InvalidArgument, "prompt ends inside a visual block: ", tokens,
                " placeholders expected at token ", ed);
    for (int64_t i = ed; i < ed + tokens; ++i)
      LOUPE_CHECK(ids[i] == ids[ed], InvalidArgument, "visual block at token ", ed, " needs ", tokens,
                  " consecutive placeholders, found another token at ", i);
    text(ed - st);
    const int64_t base = next;
    for (int64_t a = 0; a < lt; ++a)
      for (int64_t b = 0; b < lh; ++b)
        for (int64_t c = 0; c < lw; ++c) {
          pt.push_back(int32_t(base + a)), ph.push_back(int32_t(base + b)), pw.push_back(int32_t(base + c));
        }
    next = base + std::max({lt, lh, lw});
    st = ed + tokens;
  }
  LOUPE_CHECK(image_i == image_grids.size() && video_i == videos.size(), InvalidArgument, "prompt has ", image_i,
              " image and ", video_i, " video placeholder runs but ", image_grids.size(), " image grids and ",
              videos.size(), " video temporal groups were given");
  text(L - st);

  RopePositions out;
  out.positions.reserve(3 * L);
  out.positions.insert(out.positions.end(), pt.begin(), pt.end());
  out.positions.insert(out.positions.end(), ph.begin(), ph.end());
  out.positions.insert(out.positions.end(), pw.begin(), pw.end());
  out.delta = next - L;
  return out;
}

RopePositions decode_positions(int64_t start, int64_t n, int64_t delta) {
  RopePositions out;
  out.positions.resize(3 * n);
  for (int axis = 0; axis < 3; ++axis)
    for (int64_t i = 0; i < n; ++i) out.positions[axis * n + i] = int32_t(start + i + delta);
  out.delta = delta;
  return out;
}

}  // namespace loupe::model
