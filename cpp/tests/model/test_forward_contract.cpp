// The forward() contract the engine relies on: bad batches are InvalidArgument errors, the
// bf16->fp32 upcast option changes nothing numerically, batching two sequences gives the
// same logits as running them alone.
#include <gtest/gtest.h>

#include <numeric>

#include "golden.h"
#include "greedy_generate.h"
#include "model/kv_cache.h"
#include "model/rope_index.h"
#include "model_cache.h"

namespace loupe::model::test {
namespace {

// Same-device consistency: exact-ish in fp32; in bf16 a different GEMM shape (batch of 2,
// fp32 vs bf16 weights) may round one activation by an ulp, which the layers carry on.
double consistency_tolerance() { return test_backend_is_bf16() ? 5e-2 : 1e-6; }

struct TextBatch {
  std::vector<int32_t> slots;
  ForwardBatch batch;
};

TextBatch text_batch(const std::vector<int32_t>& ids, KVCache& cache) {
  TextBatch t;
  t.slots.resize(ids.size());
  std::iota(t.slots.begin(), t.slots.end(), 0);
  t.batch.batch_size = 1;
  t.batch.seq_lens = {int32_t(ids.size())};
  t.batch.extend_prefix_lens = {0};
  t.batch.extend_seq_lens = {int32_t(ids.size())};
  t.batch.kv_slots = {t.slots.data()};
  t.batch.out_cache_loc = t.slots;
  t.batch.kv_cache = &cache;
  return t;
}

void expect_invalid(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    FAIL() << "expected an error mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ForwardContract, RejectsMalformedBatches) {
  Qwen3VLModel& model = golden_model("tiny-tied");
  const std::vector<int32_t> ids = {5, 6, 7};
  const auto pos = get_rope_index(ids, {}, {}, model.config()).positions;
  KVCache cache(test_backend(), model.config(), 8);
  {
    TextBatch t = text_batch(ids, cache);
    std::vector<int32_t> bad = {5, 6, int32_t(model.config().text.vocab_size)};
    expect_invalid([&] { model.forward(bad, pos, t.batch); }, "outside the vocabulary");
  }
  {
    TextBatch t = text_batch(ids, cache);
    expect_invalid([&] { model.forward(ids, std::span(pos).first(6), t.batch); }, "positions");
  }
  {
    TextBatch t = text_batch(ids, cache);
    t.batch.out_cache_loc.pop_back();
    expect_invalid([&] { model.forward(ids, pos, t.batch); }, "out_cache_loc");
  }
  {
    TextBatch t = text_batch(ids, cache);
    t.batch.extend_seq_lens = {2};
    expect_invalid([&] { model.forward(ids, pos, t.batch); }, "extend_seq_lens");
  }
  {
    TextBatch t = text_batch(ids, cache);
    t.batch.kv_cache = nullptr;
    expect_invalid([&] { model.forward(ids, pos, t.batch); }, "KV cache");
  }
}

TEST(ForwardContract, UpcastWeightsMatchBf16Weights) {
  LoadOptions options;
  options.upcast_to_f32 = true;
  Qwen3VLModel upcast(test_backend(), golden_model_dir("tiny-untied"), options);
  EXPECT_EQ(upcast.weights().embed_tokens.dtype, DType::F32);
  EXPECT_EQ(golden_model("tiny-untied").weights().embed_tokens.dtype, DType::BF16);
  Prompt p;
  p.input_ids = load_case("text_only").input_ids;
  GenerateOptions o;
  o.max_new_tokens = 1;
  const auto a = greedy_generate(upcast, p, o).prefill_logits;
  const auto b = greedy_generate(golden_model("tiny-untied"), p, o).prefill_logits;
  EXPECT_LE(relative_max_error(a, b), consistency_tolerance());
}

TEST(ForwardContract, BatchedSequencesMatchSeparateRuns) {
  // Two text prompts of different lengths in one extend step, with interleaved KV slots.
  Qwen3VLModel& model = golden_model("tiny-tied");
  const std::vector<int32_t> a = {11, 12, 13, 14, 15}, b = {21, 22, 23};
  std::vector<float> alone_a, alone_b;
  for (auto [ids, out] : {std::pair{&a, &alone_a}, std::pair{&b, &alone_b}}) {
    KVCache cache(test_backend(), model.config(), 16);
    TextBatch t = text_batch(*ids, cache);
    *out = model.forward(*ids, get_rope_index(*ids, {}, {}, model.config()).positions, t.batch);
  }
  KVCache cache(test_backend(), model.config(), 16);
  std::vector<int32_t> slots_a = {0, 2, 4, 6, 8}, slots_b = {1, 3, 5};
  ForwardBatch batch;
  batch.batch_size = 2;
  batch.seq_lens = {5, 3};
  batch.extend_prefix_lens = {0, 0};
  batch.extend_seq_lens = {5, 3};
  batch.kv_slots = {slots_a.data(), slots_b.data()};
  batch.out_cache_loc = {0, 2, 4, 6, 8, 1, 3, 5};
  batch.kv_cache = &cache;
  std::vector<int32_t> ids = a;
  ids.insert(ids.end(), b.begin(), b.end());
  // positions [3, 8]: each row is arange(5) ++ arange(3)
  std::vector<int32_t> pos;
  for (int axis = 0; axis < 3; ++axis) pos.insert(pos.end(), {0, 1, 2, 3, 4, 0, 1, 2});
  std::vector<float> both = model.forward(ids, pos, batch);
  const size_t vocab = alone_a.size();
  ASSERT_EQ(both.size(), 2 * vocab);
  EXPECT_LE(relative_max_error(std::vector<float>(both.begin(), both.begin() + vocab), alone_a), consistency_tolerance());
  EXPECT_LE(relative_max_error(std::vector<float>(both.begin() + vocab, both.end()), alone_b), consistency_tolerance());
}

}  // namespace
}  // namespace loupe::model::test
