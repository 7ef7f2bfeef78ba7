// get_rope_index against the worked examples of spec §9.7, plus malformed prompts.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "model/rope_index.h"
#include "model/rope_tables.h"

namespace loupe::model::test {
namespace {

ModelConfig qwen_ids() {
  ModelConfig c;
  c.image_token_id = 151655;
  c.video_token_id = 151656;
  c.vision_start_token_id = 151652;
  c.vision_end_token_id = 151653;
  c.vision.spatial_merge_size = 2;
  return c;
}

std::array<int32_t, 3> at(const RopePositions& r, int64_t i) {
  const int64_t L = r.length();
  return {r.positions[i], r.positions[L + i], r.positions[2 * L + i]};
}

TEST(RopeIndex, SpecImageExample) {
  const ModelConfig c = qwen_ids();
  std::vector<int32_t> ids = {1, 2, 3, c.vision_start_token_id};
  ids.insert(ids.end(), 64, c.image_token_id);
  ids.push_back(c.vision_end_token_id);
  for (int i = 0; i < 5; ++i) ids.push_back(10 + i);
  ASSERT_EQ(ids.size(), 74u);
  const RopePositions r = get_rope_index(ids, {{1, 16, 16}}, {}, c);
  EXPECT_EQ(at(r, 2), (std::array<int32_t, 3>{2, 2, 2}));
  EXPECT_EQ(at(r, 3), (std::array<int32_t, 3>{3, 3, 3}));
  EXPECT_EQ(at(r, 4), (std::array<int32_t, 3>{4, 4, 4}));
  EXPECT_EQ(at(r, 5), (std::array<int32_t, 3>{4, 4, 5}));
  EXPECT_EQ(at(r, 11), (std::array<int32_t, 3>{4, 4, 11}));
  EXPECT_EQ(at(r, 12), (std::array<int32_t, 3>{4, 5, 4}));
  EXPECT_EQ(at(r, 67), (std::array<int32_t, 3>{4, 11, 11}));
  EXPECT_EQ(at(r, 68), (std::array<int32_t, 3>{12, 12, 12}));
  EXPECT_EQ(at(r, 73), (std::array<int32_t, 3>{17, 17, 17}));
  EXPECT_EQ(r.delta, -56);
  EXPECT_EQ(decode_positions(74, 1, r.delta).positions, (std::vector<int32_t>{18, 18, 18}));
}

TEST(RopeIndex, SpecVideoExample) {
  // grid (2, 8, 12): two temporal groups of 4x6 tokens, each after 3 timestamp tokens.
  const ModelConfig c = qwen_ids();
  std::vector<int32_t> ids = {1, 2, 3};
  for (int g = 0; g < 2; ++g) {
    ids.insert(ids.end(), {20, 21, 22, c.vision_start_token_id});
    ids.insert(ids.end(), 24, c.video_token_id);
    ids.push_back(c.vision_end_token_id);
  }
  ids.insert(ids.end(), {30, 31});
  ASSERT_EQ(ids.size(), 63u);
  const RopePositions r = get_rope_index(ids, {}, {{2, 8, 12}}, c);
  EXPECT_EQ(at(r, 6), (std::array<int32_t, 3>{6, 6, 6}));
  EXPECT_EQ(at(r, 7), (std::array<int32_t, 3>{7, 7, 7}));
  EXPECT_EQ(at(r, 30), (std::array<int32_t, 3>{7, 10, 12}));
  EXPECT_EQ(at(r, 31), (std::array<int32_t, 3>{13, 13, 13}));
  EXPECT_EQ(at(r, 32), (std::array<int32_t, 3>{14, 14, 14}));
  EXPECT_EQ(at(r, 35), (std::array<int32_t, 3>{17, 17, 17}));
  EXPECT_EQ(at(r, 36), (std::array<int32_t, 3>{18, 18, 18}));
  EXPECT_EQ(at(r, 59), (std::array<int32_t, 3>{18, 21, 23}));
  EXPECT_EQ(at(r, 60), (std::array<int32_t, 3>{24, 24, 24}));
  EXPECT_EQ(at(r, 62), (std::array<int32_t, 3>{26, 26, 26}));
  EXPECT_EQ(r.delta, -36);
}

TEST(RopeIndex, TextOnlyIsArange) {
  const RopePositions r = get_rope_index(std::vector<int32_t>{5, 6, 7}, {}, {}, qwen_ids());
  EXPECT_EQ(r.positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(r.delta, 0);
}

TEST(RopeIndex, MismatchedPromptsAreErrors) {
  const ModelConfig c = qwen_ids();
  std::vector<int32_t> ids = {1, c.vision_start_token_id};
  ids.insert(ids.end(), 3, c.image_token_id);  // grid needs 4
  ids.push_back(c.vision_end_token_id);
  EXPECT_THROW(get_rope_index(ids, {{1, 4, 4}}, {}, c), Error);
  EXPECT_THROW(get_rope_index(ids, {}, {}, c), Error);                       // no grid at all
  EXPECT_THROW(get_rope_index(std::vector<int32_t>{1, 2}, {{1, 4, 4}}, {}, c), Error);  // grid without tokens
  EXPECT_THROW(get_rope_index(ids, {{1, 3, 4}}, {}, c), Error);              // not divisible by merge
}

TEST(MropeTable, InterleavedAxisPattern) {
  // Frequencies j = 1, 4, ... use h; 2, 5, ... use w; the rest t (spec §8.4 table).
  TextConfig t;
  t.head_dim = 128;
  t.rope_theta = 5e6;
  t.mrope_section = {24, 20, 20};
  const std::vector<int32_t> pos = {0, 1, 0};  // one token: t = 0, h = 1, w = 0
  RopeTable table = mrope_table(pos, 1, t);
  const std::vector<float> inv = rope_inv_freq(5e6, 128);
  for (int j = 0; j < 64; ++j) {
    const bool h_axis = j % 3 == 1 && j < 60;
    EXPECT_FLOAT_EQ(table.sin[j], h_axis ? std::sin(inv[j]) : 0.f) << j;
  }
}

}  // namespace
}  // namespace loupe::model::test
