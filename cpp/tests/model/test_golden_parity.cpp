// Stage-by-stage parity with HF transformers (fp32 goldens in testdata/golden) for every
// committed case and both tiny checkpoints (tied fp32 on disk, untied bf16 on disk).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstring>

#include "golden.h"
#include "greedy_generate.h"
#include "model/rope_index.h"
#include "model/rope_tables.h"
#include "model/vision.h"
#include "model/weights.h"
#include "model_cache.h"

namespace loupe::model::test {
namespace {

// max|Δ| / max|ref| in fp32. Issue 3 allows 1e-4; measured errors are ~1e-6 (worst 2.5e-6),
// so the bar is tightened tenfold.
constexpr double kTolerance = 1e-5;
// A bf16 backend (CUDA) rounds every activation to 8 significant bits (unit roundoff
// u = 2^-9 ~ 2e-3) and accumulates in fp32. Through the tiny checkpoints' few layers the
// rounding of ~10 ops per layer compounds to a few percent of max|ref| at worst, so each
// stage is bounded against the fp32 goldens at 5e-2 relative max error (~25u). Greedy
// tokens are compared only where bf16 cannot flip them: the first token must match when
// the fp32 golden's top-2 logit margin exceeds twice the measured logit error; later
// tokens are reported (their margins are not in the goldens). fp32 bounds stay as above.
constexpr double kBf16VisionTolerance = 5e-2;     // merger output and deepstack features
constexpr double kBf16LogitsTolerance = 5e-2;     // last-position prefill logits
// The CPU backend's default rounds only the inputs of bf16-weight linears (norms, softmax,
// residuals stay fp32): measured 2.5-3.5e-3 on vision features and 4.4e-3-1.0e-2 on logits
// (tiny-untied; tiny-tied has fp32 weights and stays at the fp32 error), bounded at 2x that.
constexpr double kCpuRoundedVisionTolerance = 1e-2;
constexpr double kCpuRoundedLogitsTolerance = 2e-2;
double vision_tolerance() {
  if (test_backend_rounds_bf16_linear_inputs()) return kCpuRoundedVisionTolerance;
  return test_backend_is_bf16() ? kBf16VisionTolerance : kTolerance;
}
double logits_tolerance() {
  if (test_backend_rounds_bf16_linear_inputs()) return kCpuRoundedLogitsTolerance;
  return test_backend_is_bf16() ? kBf16LogitsTolerance : kTolerance;
}

// Under bf16: the first token must agree wherever the golden top-2 margin is safe.
void expect_greedy_tokens(const std::vector<float>& logits, const std::vector<float>& golden,
                          const std::vector<int32_t>& tokens, const std::vector<int32_t>& expected) {
  if (!test_backend_is_bf16()) {
    EXPECT_EQ(tokens, expected);
    return;
  }
  std::vector<float> sorted = golden;
  std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
  float max_abs_err = 0, max_ref = 0;
  for (size_t i = 0; i < golden.size(); ++i) {
    max_abs_err = std::max(max_abs_err, std::abs(logits[i] - golden[i]));
    max_ref = std::max(max_ref, std::abs(golden[i]));
  }
  const float margin = sorted[0] - sorted[1];
  size_t agree = 0;
  while (agree < tokens.size() && agree < expected.size() && tokens[agree] == expected[agree]) ++agree;
  std::printf("[parity] bf16 greedy: %zu/%zu leading tokens agree; golden top-2 margin %.3g, logit err %.3g\n",
              agree, expected.size(), margin, max_abs_err);
  ASSERT_FALSE(tokens.empty());
  if (margin > 2 * max_abs_err) {
    EXPECT_EQ(tokens[0], expected[0]) << "first token flipped despite a safe margin";
  }
  // The CPU default (rounded linear inputs only) keeps every greedy token of all 10 golden
  // cases (measured: 20/20 each, smallest golden margin 0.043); a flip means a regression.
  if (test_backend_rounds_bf16_linear_inputs()) {
    EXPECT_EQ(tokens, expected) << "CPU bf16-rounded greedy tokens differ from the fp32 golden";
  }
}
const std::vector<std::string> kCases = {"text_only", "one_image", "two_images", "long_prompt", "video"};
const std::vector<std::string> kModels = {"tiny-tied", "tiny-untied"};

TEST(GoldenManifest, EveryCommittedCaseAndModelIsTested) {
  EXPECT_EQ(case_names(), kCases);
  std::vector<std::string> models = model_names();
  std::sort(models.begin(), models.end());
  EXPECT_EQ(models, kModels);
}

struct Param {
  std::string model, case_name;
};
std::string param_name(const testing::TestParamInfo<Param>& info) {
  std::string s = info.param.model + "_" + info.param.case_name;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}
std::vector<Param> all_params() {
  std::vector<Param> out;
  for (const auto& m : kModels)
    for (const auto& c : kCases) out.push_back({m, c});
  return out;
}

class GoldenParity : public testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    c_ = load_case(GetParam().case_name);
    ref_ = std::make_unique<TensorFile>(golden_dir() / "cases" / GetParam().case_name /
                                        (GetParam().model + ".safetensors"));
    model_ = &golden_model(GetParam().model);
  }
  // Visual inputs of the case: images, then videos, pixels sliced per item.
  Prompt prompt() {
    Prompt p;
    p.input_ids = c_.input_ids;
    pixels_img_ = c_.inputs->has("pixel_values") ? c_.inputs->f32("pixel_values") : std::vector<float>{};
    pixels_vid_ = c_.inputs->has("pixel_values_videos") ? c_.inputs->f32("pixel_values_videos") : std::vector<float>{};
    const int64_t dim = model_->config().vision.patch_dim();
    int64_t off = 0;
    for (const GridTHW& g : c_.image_grids) p.images.push_back(visual_item(pixels_img_.data() + off * dim, g)), off += g.patches();
    off = 0;
    for (const GridTHW& g : c_.video_grids) p.videos.push_back(visual_item(pixels_vid_.data() + off * dim, g, VisualKind::Video)), off += g.patches();
    return p;
  }
  // All items of one kind through the tower, rows concatenated like HF.
  void vision_of(const std::vector<VisualItem>& items, std::vector<float>& main,
                 std::vector<std::vector<float>>& deepstack) {
    for (const VisualItem& v : items) {
      auto f = model_->encode_vision(v.pixel_values, v.grid);
      std::vector<float> host(f->main.tensor().numel());
      test_backend().to_host_f32(host.data(), f->main);
      main.insert(main.end(), host.begin(), host.end());
      deepstack.resize(f->deepstack.size());
      for (size_t k = 0; k < f->deepstack.size(); ++k) {
        host.resize(f->deepstack[k].tensor().numel());
        test_backend().to_host_f32(host.data(), f->deepstack[k]);
        deepstack[k].insert(deepstack[k].end(), host.begin(), host.end());
      }
    }
  }

  GoldenCase c_;
  std::unique_ptr<TensorFile> ref_;
  Qwen3VLModel* model_ = nullptr;
  std::vector<float> pixels_img_, pixels_vid_;
};

TEST_P(GoldenParity, RopeIndexPositionsAndDelta) {
  RopePositions r = get_rope_index(c_.input_ids, c_.image_grids, c_.video_grids, model_->config());
  EXPECT_EQ(r.positions, c_.inputs->i32("position_ids"));
  EXPECT_EQ(r.delta, c_.inputs->i64("rope_delta")[0]);
}

TEST_P(GoldenParity, PosEmbedInterpolation) {
  const Prompt p = prompt();
  for (const auto& [kind, items] : {std::pair{"image", p.images}, std::pair{"video", p.videos}}) {
    if (items.empty()) continue;
    std::vector<float> table(model_->weights().pos_embed.numel());
    test_backend().to_host_f32(table.data(), model_->weights().pos_embed);
    std::vector<float> pos;
    for (const VisualItem& v : items) {
      auto e = interpolate_pos_embed(table, v.grid, model_->config().vision);
      pos.insert(pos.end(), e.begin(), e.end());
    }
    const double err = relative_max_error(pos, ref_->f32(std::string(kind) + ".pos_embed"));
    EXPECT_LE(err, 1e-6) << kind;
    RecordProperty(std::string(kind) + "_pos_embed_err", std::to_string(err));
  }
}

TEST_P(GoldenParity, VisionFeaturesAndDeepstack) {
  const Prompt p = prompt();
  for (const auto& [kind, items] : {std::pair{"image", p.images}, std::pair{"video", p.videos}}) {
    if (items.empty()) continue;
    std::vector<float> main;
    std::vector<std::vector<float>> deepstack;
    vision_of(items, main, deepstack);
    const double err = relative_max_error(main, ref_->f32(std::string(kind) + ".merger_output"));
    EXPECT_LE(err, vision_tolerance()) << kind << " merger output";
    std::printf("[parity] %s %s %s.merger_output rel err %.3g\n", GetParam().model.c_str(), c_.name.c_str(), kind, err);
    ASSERT_EQ(deepstack.size(), model_->config().vision.deepstack_visual_indexes.size());
    for (size_t k = 0; k < deepstack.size(); ++k) {
      const double e = relative_max_error(deepstack[k], ref_->f32(std::string(kind) + ".deepstack_" + std::to_string(k)));
      EXPECT_LE(e, vision_tolerance()) << kind << " deepstack " << k;
      std::printf("[parity] %s %s %s.deepstack_%zu rel err %.3g\n", GetParam().model.c_str(), c_.name.c_str(), kind, k, e);
    }
  }
}

TEST_P(GoldenParity, PrefillLogitsAndGreedyTokens) {
  GenerateOptions options;
  const std::vector<int32_t> expected = ref_->i32("generated_ids");
  options.max_new_tokens = int(expected.size());
  GenerateResult r = greedy_generate(*model_, prompt(), options);
  const double err = relative_max_error(r.prefill_logits, ref_->f32("prefill_logits_last"));
  EXPECT_LE(err, logits_tolerance());
  std::printf("[parity] %s %s prefill_logits rel err %.3g\n", GetParam().model.c_str(), c_.name.c_str(), err);
  EXPECT_GE(expected.size(), 16u);
  expect_greedy_tokens(r.prefill_logits, ref_->f32("prefill_logits_last"), r.tokens, expected);
}

TEST_P(GoldenParity, ChunkedPrefillMatchesWholePrefill) {
  // Chunks of 7 split images and the deepstack rows; positions come from the whole prompt.
  GenerateOptions options;
  const std::vector<int32_t> expected = ref_->i32("generated_ids");
  options.max_new_tokens = 4;
  options.prefill_chunk = 7;
  GenerateResult r = greedy_generate(*model_, prompt(), options);
  EXPECT_LE(relative_max_error(r.prefill_logits, ref_->f32("prefill_logits_last")), logits_tolerance());
  expect_greedy_tokens(r.prefill_logits, ref_->f32("prefill_logits_last"), r.tokens,
                       std::vector<int32_t>(expected.begin(), expected.begin() + 4));
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenParity, testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace loupe::model::test
