// The embedding and reranker models' own resize (qwen-vl-utils fetch_image: Pillow decode
// without EXIF transposition, its smart_resize, Pillow BICUBIC), against what the reference
// produced in the golden kit (testdata/golden/embedding/preprocess.json): every pixel exact.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "image/resize.h"
#include "loupe/image.h"
#include "safetensors_reader.h"

using namespace loupe;

namespace {

std::string testdata() { return LOUPE_TESTDATA; }

VisionOptions retrieval_options() {
  VisionOptions o;
  o.min_pixels = 4 * 32 * 32;
  o.max_pixels = 1800 * 32 * 32;
  o.resize_reference = ResizeReference::QwenVlUtils;
  return o;
}

}  // namespace

TEST(QwenVlUtilsResize, MatchesTheReferenceOnOddSizes) {
  std::ifstream in(testdata() + "/golden/embedding/preprocess.json");
  const auto manifest = nlohmann::json::parse(in);
  const auto tensors = loupe::testing::read_safetensors(testdata() + "/golden/embedding/preprocess.safetensors");
  int compared = 0;
  for (const auto& entry : manifest["images"]) {
    const std::string path = entry["image"];
    const std::string stem = path.substr(path.rfind('/') + 1, path.rfind('.') - path.rfind('/') - 1);
    const RgbImage rgb = decode_image(loupe::testing::read_file(testdata() + "/../" + path), {}, /*apply_exif_orientation=*/false);
    const auto size = entry["size_hw"].get<std::vector<int>>();
    ASSERT_EQ(rgb.height, size[0]) << path;
    ASSERT_EQ(rgb.width, size[1]) << path;
    const auto [h, w] = smart_resize(rgb.height, rgb.width, 32, 4 * 32 * 32, 1800 * 32 * 32, ResizeReference::QwenVlUtils);
    EXPECT_EQ(std::vector<int>({h, w}), entry["resized_hw"].get<std::vector<int>>()) << path;
    const VisionInput input = preprocess_image(rgb, retrieval_options());
    EXPECT_EQ(std::vector<int64_t>({input.grid_thw.t, input.grid_thw.h, input.grid_thw.w}),
              entry["image_grid_thw"].get<std::vector<int64_t>>()) << path;
    if (auto it = tensors.find(stem + ".resized_rgb_u8"); it != tensors.end()) {
      const auto resized = imaging::resize_bicubic_pillow(rgb.pixels.data(), rgb.height, rgb.width, 3, h, w);
      const std::vector<uint8_t>& want = it->second.bytes;
      ASSERT_EQ(resized.size(), want.size()) << path;
      int64_t differing = 0, worst = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        const int d = std::abs(int(resized[i]) - int(want[i]));
        differing += d != 0;
        worst = std::max<int64_t>(worst, d);
      }
      EXPECT_EQ(differing, 0) << path << ": worst " << worst;
      ++compared;
    }
    if (auto it = tensors.find(stem + ".pixel_values"); it != tensors.end()) {
      const std::vector<float> want = it->second.as<float>();
      ASSERT_EQ(input.pixel_values.size(), want.size()) << path;
      EXPECT_TRUE(std::equal(want.begin(), want.end(), input.pixel_values.begin())) << path;
    }
  }
  EXPECT_EQ(compared, 6);
}

TEST(QwenVlUtilsResize, KeepsEachSideAtLeastOneFactor) {
  // HF rounds a 16-pixel side to 0 before the budget check; qwen-vl-utils to 32.
  EXPECT_EQ(smart_resize(16, 1000, 32, 4 * 32 * 32, 1800 * 32 * 32, ResizeReference::QwenVlUtils),
            (std::array<int, 2>{32, 992}));
}
