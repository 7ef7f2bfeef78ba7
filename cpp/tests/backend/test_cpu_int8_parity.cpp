// Int8 weight-only text decoder (WeightOptions::int8_text_linears) against the same model
// with weights as stored, on every golden case and both tiny checkpoints, on the CPU.
// Quantisation moves the logits by a bounded amount; greedy tokens can then differ only
// where the unquantised model's top-2 margin is within that error (random tiny models have
// near-ties), so the first token must agree wherever the margin exceeds twice the error,
// and the rest is reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

#include "../model/golden.h"
#include "../model/model_cache.h"
#include "backend/cpu/cpu_gemm_bf16.h"
#include "backend/int8_weights.h"
#include "../model/greedy_generate.h"

namespace loupe::model::test {
namespace {

Qwen3VLModel& int8_model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Qwen3VLModel>> models;
  auto& slot = models[name];
  LoadOptions int8;
  int8.int8_text_linears = true;
  if (!slot) slot = std::make_unique<Qwen3VLModel>(cpu_backend(), golden_model_dir(name), int8);
  return *slot;
}

Prompt prompt_of(const GoldenCase& c, int64_t patch_dim, std::vector<float>& img, std::vector<float>& vid) {
  Prompt p;
  p.input_ids = c.input_ids;
  img = c.inputs->has("pixel_values") ? c.inputs->f32("pixel_values") : std::vector<float>{};
  vid = c.inputs->has("pixel_values_videos") ? c.inputs->f32("pixel_values_videos") : std::vector<float>{};
  int64_t off = 0;
  for (const GridTHW& g : c.image_grids) p.images.push_back(visual_item(img.data() + off * patch_dim, g)), off += g.patches();
  off = 0;
  for (const GridTHW& g : c.video_grids) p.videos.push_back(visual_item(vid.data() + off * patch_dim, g, VisualKind::Video)), off += g.patches();
  return p;
}

TEST(CpuInt8, QuantisedLayoutRoundTrips) {
  const int64_t rows = 3, cols = 70;
  std::vector<float> w(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) w[i] = std::sin(float(i)) * (i < cols ? 0.0f : 0.5f);
  std::vector<uint8_t> q(int8_weight_bytes(rows, cols));
  quantize_rows_int8(q.data(), rows, cols, 0, rows, [&](int64_t r, int64_t c) { return w[r * cols + c]; });
  const float* scales = int8_scales(q.data(), rows, cols);
  EXPECT_EQ(scales[0], 0.0f);  // an all-zero row
  for (int64_t r = 1; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      EXPECT_NEAR(float(int8_t(q[r * cols + c])) * scales[r], w[r * cols + c], 0.5f * scales[r] + 1e-7f);
}

TEST(CpuInt8, InlineRoundingIsNearbyint) {
  for (float v = -130.0f; v <= 130.0f; v += 0.125f) ASSERT_EQ(round_small_to_even(v), std::nearbyint(v)) << v;
  for (float v : {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 126.5f, -126.5f, 0.49999997f, 1e-30f, -0.0f})
    EXPECT_EQ(round_small_to_even(v), std::nearbyint(v)) << v;
}

TEST(CpuInt8, TextDecoderMatchesUnquantisedModel) {
  if (test_backend().device().kind != DeviceKind::CPU) GTEST_SKIP() << "int8 weights are CPU-only";
  int safe = 0, first_agree = 0, cases = 0;
  for (const std::string& name : {std::string("tiny-tied"), std::string("tiny-untied")}) {
    Qwen3VLModel& ref_model = golden_model(name);
    Qwen3VLModel& q_model = int8_model(name);
    EXPECT_LT(q_model.weights().bytes(), ref_model.weights().bytes());
    for (const std::string& case_name : case_names()) {
      const GoldenCase c = load_case(case_name);
      std::vector<float> img, vid;
      const Prompt p = prompt_of(c, ref_model.config().vision.patch_dim(), img, vid);
      GenerateOptions options;
      options.max_new_tokens = 16;
      const GenerateResult ref = greedy_generate(ref_model, p, options);
      const GenerateResult got = greedy_generate(q_model, p, options);
      std::vector<float> sorted = ref.prefill_logits;
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
      float max_abs_err = 0;
      for (size_t i = 0; i < ref.prefill_logits.size(); ++i)
        max_abs_err = std::max(max_abs_err, std::abs(got.prefill_logits[i] - ref.prefill_logits[i]));
      const double rel = relative_max_error(got.prefill_logits, ref.prefill_logits);
      const float margin = sorted[0] - sorted[1];
      size_t agree = 0;
      while (agree < got.tokens.size() && agree < ref.tokens.size() && got.tokens[agree] == ref.tokens[agree]) ++agree;
      std::printf("[int8] %s %s: logits rel err %.3g (abs %.3g), top-2 margin %.3g, %zu/%zu greedy tokens agree\n",
                  name.c_str(), case_name.c_str(), rel, max_abs_err, margin, agree, ref.tokens.size());
      // Really quantised (an unquantised path would match to ~1e-6), and boundedly so.
      EXPECT_GT(rel, 1e-5) << name << " " << case_name;
      EXPECT_LT(rel, 5e-2) << name << " " << case_name;
      ASSERT_FALSE(got.tokens.empty());
      ++cases;
      if (got.tokens[0] == ref.tokens[0]) ++first_agree;
      if (margin > 2 * max_abs_err) {
        ++safe;
        EXPECT_EQ(got.tokens[0], ref.tokens[0]) << name << " " << case_name << ": flipped despite a safe margin";
      }
    }
  }
  std::printf("[int8] first token agrees in %d/%d cases; %d had a margin above twice the logit error\n", first_agree,
              cases, safe);
}

}  // namespace
}  // namespace loupe::model::test
