// One test per spec §11 pitfall: the deliberately wrong variant must visibly differ from
// the HF golden while the correct model matches it. If a pitfall is reintroduced in the
// model, the "correct" half fails; if a test loses its power, the "wrong" half fails.
#include <gtest/gtest.h>

#include "golden.h"
#include "greedy_generate.h"
#include "model/kv_cache.h"
#include "model/rope_index.h"
#include "model/weights.h"
#include "model_cache.h"

namespace loupe::model::test {
namespace {

constexpr double kMatch = 1e-5;   // correct variant (same bar as the parity tests)
constexpr double kDiffer = 1e-3;  // a wrong variant must be off by more than this

// The one-image case: non-square grid (1, 10, 14), so corners and window order matter.
class Pitfall : public testing::Test {
 protected:
  void SetUp() override {
    // Each pitfall is told apart by a 1e-5 match vs a 1e-3 miss; bf16 noise is ~1e-2.
    if (test_backend_is_bf16()) GTEST_SKIP() << "pitfall variants need fp32 activations to be told apart";
    c_ = load_case("one_image");
    ref_ = std::make_unique<TensorFile>(golden_dir() / "cases/one_image/tiny-tied.safetensors");
    model_ = &golden_model("tiny-tied");
    pixels_ = c_.inputs->f32("pixel_values");
  }
  void TearDown() override {  // the model is shared by the whole binary
    if (!model_) return;  // skipped in SetUp
    model_->vision_variant = {};
    model_->text_variant = {};
  }
  Prompt prompt() const {
    Prompt p;
    p.input_ids = c_.input_ids;
    p.images.push_back(visual_item(pixels_.data(), c_.image_grids[0]));
    return p;
  }
  double vision_error() {
    auto f = model_->encode_vision(pixels_.data(), c_.image_grids[0]);
    std::vector<float> main(f->main.tensor().numel());
    test_backend().to_host_f32(main.data(), f->main);
    return relative_max_error(main, ref_->f32("image.merger_output"));
  }
  double logits_error() {
    GenerateOptions o;
    o.max_new_tokens = 1;
    return relative_max_error(greedy_generate(*model_, prompt(), o).prefill_logits, ref_->f32("prefill_logits_last"));
  }

  GoldenCase c_;
  std::unique_ptr<TensorFile> ref_;
  Qwen3VLModel* model_ = nullptr;
  std::vector<float> pixels_;
};

TEST_F(Pitfall, InterleavedNotBlockedMrope) {
  EXPECT_LE(logits_error(), kMatch);
  model_->text_variant.mrope_layout = MropeLayout::Blocked;
  EXPECT_GT(logits_error(), kDiffer);
}

TEST_F(Pitfall, BlockedMropeIsInvisibleOnTextOnlyPrompts) {
  // Why the image cases are needed: for text p_t = p_h = p_w, so both layouts agree.
  GoldenCase text = load_case("text_only");
  TensorFile ref(golden_dir() / "cases/text_only/tiny-tied.safetensors");
  model_->text_variant.mrope_layout = MropeLayout::Blocked;
  GenerateOptions o;
  o.max_new_tokens = 1;
  Prompt p;
  p.input_ids = text.input_ids;
  EXPECT_LE(relative_max_error(greedy_generate(*model_, p, o).prefill_logits, ref.f32("prefill_logits_last")), kMatch);
}

TEST_F(Pitfall, DeepstackInjected) {
  model_->text_variant.deepstack = false;
  EXPECT_GT(logits_error(), kDiffer);
}

TEST_F(Pitfall, PosEmbedAlignCorners) {
  EXPECT_LE(vision_error(), kMatch);
  model_->vision_variant.align_corners = false;
  EXPECT_GT(vision_error(), kDiffer);
}

TEST_F(Pitfall, PosEmbedInMergeWindowOrder) {
  model_->vision_variant.merge_window_order = false;
  EXPECT_GT(vision_error(), kDiffer);
}

TEST_F(Pitfall, MergerUsesExactGelu) {
  // tanh GELU is within ~3e-4 of erf GELU, so the difference is small but far above the
  // parity bar: it must stay at least 10x the correct model's tolerance.
  model_->vision_variant.merger_exact_gelu = false;
  const double err = vision_error();
  std::printf("tanh-GELU merger error %.3g\n", err);
  EXPECT_GT(err, 10 * kMatch);
}

TEST_F(Pitfall, DecodeNeedsRopeDelta) {
  // Step 1 of greedy decoding (first token after prefill) against HF's top logits, once with
  // the stored delta and once without it.
  const auto rope = get_rope_index(c_.input_ids, c_.image_grids, {}, model_->config());
  ASSERT_NE(rope.delta, 0);
  const std::vector<int32_t> generated = ref_->i32("generated_ids");
  const std::vector<int32_t> top_ids = ref_->i32("step_topk_ids");
  const std::vector<float> top_logits = ref_->f32("step_topk_logits");
  const int64_t L = int64_t(c_.input_ids.size());
  for (bool use_delta : {true, false}) {
    KVCache cache(test_backend(), model_->config(), L + 1);
    std::vector<int32_t> slots(L + 1);
    for (int64_t i = 0; i <= L; ++i) slots[i] = int32_t(i);
    const engine::VisualTokenMap map = map_visual_tokens(c_.input_ids, c_.image_grids, {}, model_->config());
    VisualItem item = visual_item(pixels_.data(), c_.image_grids[0]);
    ForwardBatch prefill;
    prefill.batch_size = 1;
    prefill.seq_lens = {int32_t(L)};
    prefill.extend_prefix_lens = {0};
    prefill.extend_seq_lens = {int32_t(L)};
    prefill.kv_slots = {slots.data()};
    prefill.out_cache_loc.assign(slots.begin(), slots.begin() + L);
    prefill.visual_item = map.visual_item;
    prefill.visual_row = map.visual_row;
    prefill.items = {&item};
    prefill.kv_cache = &cache;
    model_->forward(c_.input_ids, rope.positions, prefill);

    ForwardBatch decode = single_decode_batch(L, slots.data(), cache);
    const auto pos = decode_positions(L, 1, use_delta ? rope.delta : 0);
    std::vector<float> logits = model_->forward(std::span(&generated[0], 1), pos.positions, decode);
    std::vector<float> ours, ref;
    for (int k = 0; k < 8; ++k) {
      ours.push_back(logits[top_ids[8 + k]]);
      ref.push_back(top_logits[8 + k]);
    }
    if (use_delta) EXPECT_LE(relative_max_error(ours, ref), kMatch);
    else EXPECT_GT(relative_max_error(ours, ref), kDiffer);
  }
}

TEST(PitfallWeights, UntiedLmHeadIsNotTheEmbedding) {
  const Weights& tied = golden_model("tiny-tied").weights();
  const Weights& untied = golden_model("tiny-untied").weights();
  EXPECT_EQ(tied.lm_head.data, tied.embed_tokens.data);
  EXPECT_NE(untied.lm_head.data, untied.embed_tokens.data);
}

TEST_F(Pitfall, PlaceholderCountMismatchIsAnError) {
  std::vector<int32_t> ids = c_.input_ids;
  auto it = std::find(ids.begin(), ids.end(), model_->config().image_token_id);
  ids.erase(it);  // one placeholder short
  try {
    map_visual_tokens(ids, c_.image_grids, {}, model_->config());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("placeholder"), std::string::npos) << e.what();
  }
  // The forward pass refuses a placeholder token that has no visual item.
  KVCache cache(test_backend(), model_->config(), int64_t(c_.input_ids.size()));
  std::vector<int32_t> slots(c_.input_ids.size());
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = int32_t(i);
  ForwardBatch b;
  b.batch_size = 1;
  b.seq_lens = {int32_t(slots.size())};
  b.extend_prefix_lens = {0};
  b.extend_seq_lens = {int32_t(slots.size())};
  b.kv_slots = {slots.data()};
  b.out_cache_loc = slots;
  b.kv_cache = &cache;
  const auto rope = get_rope_index(c_.input_ids, c_.image_grids, {}, model_->config());
  EXPECT_THROW(model_->forward(c_.input_ids, rope.positions, b), Error);
}

}  // namespace
}  // namespace loupe::model::test
