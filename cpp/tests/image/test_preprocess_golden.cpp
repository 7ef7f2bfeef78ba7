// Parity with HuggingFace transformers: decode + preprocess every sample image and
// compare with the processor's pixel_values (tools/golden/make_preprocess_golden.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "loupe/image.h"
#include "safetensors_reader.h"

namespace loupe {
namespace {

using testing::read_file;
using testing::read_safetensors;
using testing::testdata;

// One uint8 step after (x - 127.5) / 127.5.
constexpr double kOneLevel = 1.0 / 127.5;

nlohmann::json manifest() {
  std::ifstream in(testdata("preprocess/manifest.json"));
  return nlohmann::json::parse(in);
}

struct Comparison {
  double max_error = 0;
  double exact_fraction = 0;
};

Comparison compare(const FloatBuffer& got, const std::vector<float>& want) {
  Comparison c;
  size_t exact = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(double(got[i]) - double(want[i]));
    c.max_error = std::max(c.max_error, e);
    exact += got[i] == want[i];
  }
  c.exact_fraction = want.empty() ? 1.0 : double(exact) / want.size();
  return c;
}

TEST(PreprocessGolden, EveryImageMatchesTransformers) {
  const auto m = manifest();
  ASSERT_GE(m["images"].size(), 19u);
  for (const auto& item : m["images"]) {
    const std::string name = item["image"];
    SCOPED_TRACE(name);
    const auto bytes = read_file(testdata("images/" + name));
    const RgbImage image = decode_image(bytes);
    EXPECT_EQ(image.width, item["size"][0].get<int>());
    EXPECT_EQ(image.height, item["size"][1].get<int>());
    VisionOptions options;
    options.min_pixels = item["min_pixels"];
    options.max_pixels = item["max_pixels"];
    const VisionInput got = preprocess_image(image, options);

    const auto golden = read_safetensors(testdata("preprocess/" + item["golden"].get<std::string>()));
    const auto grid = golden.at("grid_thw").as<int64_t>();
    ASSERT_EQ(grid.size(), 3u);
    EXPECT_EQ(got.grid_thw.t, grid[0]);
    EXPECT_EQ(got.grid_thw.h, grid[1]);
    EXPECT_EQ(got.grid_thw.w, grid[2]);
    const auto& pv = golden.at("pixel_values");
    ASSERT_EQ(got.num_patches, pv.shape[0]);
    ASSERT_EQ(got.patch_dim, pv.shape[1]);
    EXPECT_EQ(got.num_tokens, grid[0] * grid[1] * grid[2] / 4);
    const Comparison c = compare(got.pixel_values, pv.as<float>());
    std::printf("[golden] %-34s grid %lldx%lldx%lld  max_err %.6f (%.2f levels)  exact %.4f%%\n",
                name.c_str(), (long long)grid[0], (long long)grid[1], (long long)grid[2], c.max_error,
                c.max_error / kOneLevel, 100.0 * c.exact_fraction);
    EXPECT_LE(c.max_error, kOneLevel + 1e-6);
  }
}

TEST(PreprocessGolden, SmartResizeMatchesTransformers) {
  const auto m = manifest();
  ASSERT_GT(m["smart_resize"].size(), 30u);
  for (const auto& c : m["smart_resize"]) {
    const int h = c["height"], w = c["width"];
    SCOPED_TRACE(std::to_string(h) + "x" + std::to_string(w));
    if (c.contains("error")) {
      EXPECT_THROW(smart_resize(h, w, 32, c["min_pixels"], c["max_pixels"]), Error);
      continue;
    }
    const auto r = smart_resize(h, w, 32, c["min_pixels"], c["max_pixels"]);
    EXPECT_EQ(r[0], c["resized"][0].get<int>());
    EXPECT_EQ(r[1], c["resized"][1].get<int>());
  }
}

TEST(PreprocessGolden, SpecExamplesAtDefaults) {
  // qwen3-vl-model.md §3.2 table (defaults 65536 .. 16777216).
  struct Case { int h, w, rh, rw; int64_t tokens; };
  for (const Case& c : {Case{336, 592, 320, 576, 180}, Case{480, 640, 480, 640, 300},
                        Case{224, 224, 256, 256, 64}, Case{5000, 5000, 4096, 4096, 16384}}) {
    const auto r = smart_resize(c.h, c.w, 32, 65536, 16777216);
    EXPECT_EQ(r[0], c.rh);
    EXPECT_EQ(r[1], c.rw);
    EXPECT_EQ(int64_t(r[0] / 32) * (r[1] / 32), c.tokens);
  }
}

RgbImage video_frame(int t, int h, int w) {
  RgbImage f;
  f.width = w;
  f.height = h;
  f.pixels.resize(size_t(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) f.pixels[(size_t(y) * w + x) * 3 + c] = uint8_t((x * 7 + y * 3 + t * 11 + c * 60) % 256);
  return f;
}

TEST(PreprocessGolden, VideoMatchesTransformers) {
  const auto v = manifest()["video"];
  VideoOptions options;
  options.vision.min_pixels = v["min_pixels"];
  options.vision.max_pixels = v["max_pixels"];
  const double fps = v["fps"];
  const auto indices = sample_video_frames(v["total_frames"], fps, options);
  EXPECT_EQ(indices, v["indices"].get<std::vector<int64_t>>());
  std::vector<RgbImage> frames;
  for (int64_t i : indices) frames.push_back(video_frame(int(i), v["height"], v["width"]));
  const VideoInput got = preprocess_video(frames, indices, fps, options);
  EXPECT_EQ(got.timestamps, v["timestamps"].get<std::vector<std::string>>());
  const auto golden = read_safetensors(testdata("preprocess/" + v["file"].get<std::string>()));
  const auto grid = golden.at("grid_thw").as<int64_t>();
  EXPECT_EQ((std::vector<int64_t>{got.grid_thw.t, got.grid_thw.h, got.grid_thw.w}), grid);
  const Comparison c = compare(got.pixel_values, golden.at("pixel_values").as<float>());
  std::printf("[golden] video grid %lldx%lldx%lld max_err %.6f exact %.4f%%\n", (long long)grid[0],
              (long long)grid[1], (long long)grid[2], c.max_error, 100.0 * c.exact_fraction);
  EXPECT_LE(c.max_error, kOneLevel + 1e-6);
  // Prompt expansion: one timestamp + vision block per temporal group.
  const std::string text = got.prompt_text();
  EXPECT_EQ(text.rfind(got.timestamps[0] + "<|vision_start|><|video_pad|>", 0), 0u);
}

TEST(PreprocessGolden, DecodedClipMatchesTransformersAtDefaults) {
  const auto m = manifest();
  ASSERT_TRUE(m.contains("clip"));
  const auto v = m["clip"];
  const double fps = v["fps"];
  const auto names = v["frames"].get<std::vector<std::string>>();
  const auto indices = sample_video_frames(int64_t(names.size()), fps);  // default VideoOptions
  EXPECT_EQ(indices, v["indices"].get<std::vector<int64_t>>());
  std::vector<RgbImage> frames;
  for (int64_t i : indices) frames.push_back(decode_image(read_file(testdata("images/" + names[i]))));
  const VideoInput got = preprocess_video(frames, indices, fps);
  EXPECT_EQ(got.timestamps, v["timestamps"].get<std::vector<std::string>>());
  const auto golden = read_safetensors(testdata("preprocess/" + v["file"].get<std::string>()));
  EXPECT_EQ((std::vector<int64_t>{got.grid_thw.t, got.grid_thw.h, got.grid_thw.w}), golden.at("grid_thw").as<int64_t>());
  const Comparison c = compare(got.pixel_values, golden.at("pixel_values").as<float>());
  std::printf("[golden] clip grid %lldx%lldx%lld max_err %.6f exact %.4f%%\n", (long long)got.grid_thw.t,
              (long long)got.grid_thw.h, (long long)got.grid_thw.w, c.max_error, 100.0 * c.exact_fraction);
  EXPECT_LE(c.max_error, kOneLevel + 1e-6);
}

}  // namespace
}  // namespace loupe
