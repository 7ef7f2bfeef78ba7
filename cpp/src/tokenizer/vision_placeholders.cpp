#include "tokenizer/vision_placeholders.h"

#include <cstdio>

#include "core/error.h"

namespace loupe {

namespace {

int64_t tokens_per_group(const GridTHW& grid, int merge_size) {
  LOUPE_CHECK(grid.t > 0 && grid.h > 0 && grid.w > 0, InvalidArgument, "vision grid (", grid.t, ", ",
              grid.h, ", ", grid.w, ") must be positive");
  LOUPE_CHECK(merge_size > 0 && grid.h % merge_size == 0 && grid.w % merge_size == 0, InvalidArgument,
              "vision grid (", grid.t, ", ", grid.h, ", ", grid.w, ") is not divisible by the merge size ",
              merge_size);
  return grid.h * grid.w / (int64_t{merge_size} * merge_size);
}

std::string repeat(const std::string& token, int64_t count) {
  std::string out;
  out.reserve(token.size() * static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out += token;
  return out;
}

// Python's f"{t:.1f}": both round the exact binary value half-to-even at the digit.
std::string one_decimal(double seconds) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f", seconds);
  return buffer;
}

std::string video_expansion(const VideoPlaceholder& video, const VisionTokens& tokens) {
  const int64_t per_group = tokens_per_group(video.grid, tokens.merge_size);
  LOUPE_CHECK(static_cast<int64_t>(video.timestamps.size()) == video.grid.t, InvalidArgument, "video has ",
              video.grid.t, " temporal groups but ", video.timestamps.size(), " timestamps");
  const std::string pads = repeat(tokens.video_pad, per_group);
  std::string out;
  for (double seconds : video.timestamps) {
    out += "<" + one_decimal(seconds) + " seconds>";
    out += tokens.vision_start;
    out += pads;
    out += tokens.vision_end;
  }
  return out;
}

}  // namespace

std::vector<double> video_group_timestamps(const std::vector<int64_t>& sampled_frame_indices, double fps,
                                           int temporal_patch_size) {
  LOUPE_CHECK(!sampled_frame_indices.empty(), InvalidArgument, "a video needs at least one sampled frame");
  LOUPE_CHECK(fps > 0, InvalidArgument, "video fps must be positive, got ", fps);
  LOUPE_CHECK(temporal_patch_size > 0, InvalidArgument, "temporal patch size must be positive");
  std::vector<int64_t> indices = sampled_frame_indices;
  while (indices.size() % static_cast<size_t>(temporal_patch_size) != 0) indices.push_back(indices.back());
  std::vector<double> out;
  for (size_t i = 0; i < indices.size(); i += static_cast<size_t>(temporal_patch_size)) {
    const double first = static_cast<double>(indices[i]) / fps;
    const double last = static_cast<double>(indices[i + temporal_patch_size - 1]) / fps;
    out.push_back((first + last) / 2);
  }
  return out;
}

int64_t vision_token_count(const GridTHW& grid, int merge_size) {
  return grid.t * tokens_per_group(grid, merge_size);
}

std::string expand_vision_placeholders(std::string_view prompt, const std::vector<GridTHW>& images,
                                       const std::vector<VideoPlaceholder>& videos, const VisionTokens& tokens) {
  LOUPE_CHECK(!tokens.image_pad.empty() && !tokens.video_pad.empty(), InvalidArgument,
              "vision placeholder tokens must not be empty");
  std::string out;
  size_t next_image = 0, next_video = 0, pos = 0;
  while (pos < prompt.size()) {
    const size_t image_at = prompt.find(tokens.image_pad, pos);
    const size_t video_at = prompt.find(tokens.video_pad, pos);
    const size_t at = std::min(image_at, video_at);
    if (at == std::string_view::npos) break;
    out.append(prompt.substr(pos, at - pos));
    if (at == image_at) {
      LOUPE_CHECK(next_image < images.size(), InvalidArgument, "the prompt has more ", tokens.image_pad,
                  " placeholders than the ", images.size(), " images given");
      out += repeat(tokens.image_pad, vision_token_count(images[next_image++], tokens.merge_size));
      pos = at + tokens.image_pad.size();
    } else {
      LOUPE_CHECK(next_video < videos.size(), InvalidArgument, "the prompt has more ", tokens.video_pad,
                  " placeholders than the ", videos.size(), " videos given");
      out += video_expansion(videos[next_video++], tokens);
      pos = at + tokens.video_pad.size();
    }
  }
  if (pos < prompt.size()) out.append(prompt.substr(pos));
  LOUPE_CHECK(next_image == images.size(), InvalidArgument, images.size(), " images given but the prompt has ",
              next_image, " ", tokens.image_pad, " placeholders");
  LOUPE_CHECK(next_video == videos.size(), InvalidArgument, videos.size(), " videos given but the prompt has ",
              next_video, " ", tokens.video_pad, " placeholders");
  return out;
}

}  // namespace loupe
