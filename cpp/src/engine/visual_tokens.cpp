#include "engine/visual_tokens.h"

#include "core/error.h"

namespace loupe::engine {

VisualTokenMap map_visual_tokens(std::span<const int32_t> ids, std::span<const VisualItem> items,
                                 const RunnerInfo& info) {
  const int64_t merge = info.spatial_merge;
  std::vector<int64_t> expected(items.size());
  for (size_t k = 0; k < items.size(); ++k)
    expected[k] = items[k].grid.merged_tokens(merge);
  auto per_frame = [&](size_t k) { return expected[k] / items[k].grid.t; };

  VisualTokenMap map;
  map.visual_item.assign(ids.size(), -1);
  map.visual_row.assign(ids.size(), 0);
  size_t item = 0;
  int64_t row = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const bool image = ids[i] == info.image_token_id, video = ids[i] == info.video_token_id;
    if (!image && !video) {
      LOUPE_CHECK(row == 0 || (items[item].kind == VisualKind::Video && row % per_frame(item) == 0),
                  InvalidArgument, "attachment ", item, " has ", row, " placeholder tokens, expected ", expected[item]);
      continue;
    }
    LOUPE_CHECK(item < items.size(), InvalidArgument, "prompt has more visual placeholder tokens than the ",
                items.size(), " attachments need");
    const auto kind = image ? VisualKind::Image : VisualKind::Video;
    LOUPE_CHECK(items[item].kind == kind, InvalidArgument, "attachment ", item, " is ", image ? "a video" : "an image",
                " but its placeholder tokens are ", image ? "image" : "video", " pads");
    map.visual_item[i] = int32_t(item);
    map.visual_row[i] = int32_t(row);
    if (++row == expected[item]) {
      ++item;
      row = 0;
    }
  }
  LOUPE_CHECK(item == items.size() && row == 0, InvalidArgument, "prompt has placeholder tokens for ", item, " of ",
              items.size(), " attachments", row ? " (the last one incomplete)" : "");
  return map;
}

}  // namespace loupe::engine
