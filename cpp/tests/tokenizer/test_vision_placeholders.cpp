// The processor's placeholder expansion (HF Qwen3VLProcessor.replace_image_token /
// replace_video_token / _calculate_timestamps).
#include "tokenizer/vision_placeholders.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace loupe {
namespace {

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(VisionPlaceholders, ImagesExpandInOrder) {
  const std::string prompt = "a<|image_pad|>b<|image_pad|>c";
  const std::string expanded = expand_vision_placeholders(prompt, {{1, 4, 6}, {2, 2, 2}}, {});
  EXPECT_EQ(expanded, "a" + repeat("<|image_pad|>", 6) + "b" + repeat("<|image_pad|>", 2) + "c");
  EXPECT_EQ(vision_token_count({1, 10, 14}), 35);
  EXPECT_EQ(vision_token_count({2, 10, 14}), 70);
}

TEST(VisionPlaceholders, VideosGetOneTimestampedBlockPerTemporalGroup) {
  const std::string prompt = "<|vision_start|><|video_pad|><|vision_end|>?<|image_pad|>";
  const VideoPlaceholder video{{2, 2, 4}, {0.25, 1.75}};
  const std::string pads = repeat("<|video_pad|>", 2);
  EXPECT_EQ(expand_vision_placeholders(prompt, {{1, 2, 2}}, {video}),
            "<|vision_start|><0.2 seconds><|vision_start|>" + pads + "<|vision_end|><1.8 seconds><|vision_start|>" +
                pads + "<|vision_end|><|vision_end|>?<|image_pad|>");
}

TEST(VisionPlaceholders, TimestampsAverageEachTemporalGroup) {
  // HF: indices padded with the last one to a multiple of the temporal patch size.
  EXPECT_EQ(video_group_timestamps({0, 2, 4, 6, 9, 11, 13, 15}, 4.0, 2),
            (std::vector<double>{0.25, 1.25, 2.5, 3.5}));
  EXPECT_EQ(video_group_timestamps({0, 3, 6}, 2.0, 2), (std::vector<double>{0.75, 3.0}));
  EXPECT_THROW(video_group_timestamps({}, 2.0, 2), Error);
  EXPECT_THROW(video_group_timestamps({0}, 0.0, 2), Error);
}

TEST(VisionPlaceholders, MismatchedCountsAreClearErrors) {
  auto expect_invalid = [](auto&& call, const std::string& needle) {
    try {
      call();
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_invalid([] { expand_vision_placeholders("<|image_pad|><|image_pad|>", {{1, 2, 2}}, {}); }, "more");
  expect_invalid([] { expand_vision_placeholders("text only", {{1, 2, 2}}, {}); }, "1 images given");
  expect_invalid([] { expand_vision_placeholders("<|video_pad|>", {}, {}); }, "videos");
  expect_invalid([] { expand_vision_placeholders("<|image_pad|>", {{1, 3, 2}}, {}); }, "merge size");
  expect_invalid([] { expand_vision_placeholders("<|image_pad|>", {{0, 2, 2}}, {}); }, "positive");
  expect_invalid([] { expand_vision_placeholders("<|video_pad|>", {}, {{{2, 2, 2}, {0.5}}}); }, "timestamps");
}

TEST(VisionPlaceholders, TextWithoutPlaceholdersIsUnchanged) {
  EXPECT_EQ(expand_vision_placeholders("", {}, {}), "");
  EXPECT_EQ(expand_vision_placeholders("<|image_pad| no <|vision_start|>", {}, {}), "<|image_pad| no <|vision_start|>");
}

}  // namespace
}  // namespace loupe
