#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "engine/sampler.h"

using namespace loupe;
using loupe::engine::Sampler;
using loupe::engine::stop_reason;
using loupe::engine::validate_sampling;

namespace {

std::vector<float> logits_of(std::initializer_list<float> values) { return std::vector<float>(values); }

SamplingParams sampled(float temperature, uint64_t seed = 7) {
  SamplingParams p;
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

// Token frequencies over many independent draws (fresh sampler, seed i).
std::map<int32_t, int> histogram(SamplingParams p, const std::vector<float>& logits, int draws) {
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) {
    p.seed = uint64_t(i);
    Sampler s(p, {});
    auto copy = logits;
    ++counts[s.sample(copy.data(), int32_t(copy.size()))];
  }
  return counts;
}

}  // namespace

TEST(Sampler, GreedyPicksFirstMaximum) {
  Sampler s(sampled(0), {});
  auto l = logits_of({0.5f, 2.0f, -1.0f, 2.0f});
  EXPECT_EQ(s.sample(l.data(), 4), 1);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDiffers) {
  std::vector<float> base(50);
  for (size_t i = 0; i < base.size(); ++i) base[i] = std::sin(float(i)) * 2;
  auto run = [&](uint64_t seed) {
    Sampler s(sampled(1.0f, seed), {});
    std::vector<int32_t> out;
    for (int i = 0; i < 40; ++i) {
      auto l = base;
      out.push_back(s.sample(l.data(), int32_t(l.size())));
    }
    return out;
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  SamplingParams p = sampled(5.0f);  // flat distribution: everything would appear without top-k
  p.top_k = 2;
  auto counts = histogram(p, logits_of({1.0f, 3.0f, 0.5f, 2.9f, 2.0f}), 400);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[3], 0);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  // probabilities ~ 0.643, 0.237, 0.087, 0.032 -> top_p 0.8 keeps the first two
  SamplingParams p = sampled(1.0f);
  p.top_p = 0.8f;
  auto counts = histogram(p, logits_of({3, 2, 1, 0}), 600);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_NEAR(double(counts[0]) / 600, 0.643 / 0.880, 0.06);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheTop) {
  SamplingParams p = sampled(1.0f);
  p.min_p = 0.3f;  // keeps p >= 0.3 * 0.643: tokens 0 and 1
  auto counts = histogram(p, logits_of({3, 2, 1, 0}), 400);
  EXPECT_EQ(counts.size(), 2u);
}

TEST(Sampler, TemperatureSharpensTheDistribution) {
  auto low = histogram(sampled(0.2f), logits_of({1.0f, 0.5f, 0.0f}), 500);
  auto high = histogram(sampled(2.0f), logits_of({1.0f, 0.5f, 0.0f}), 500);
  EXPECT_GT(low[0], 450);  // exp(5)/(exp(5)+exp(2.5)+1) ~ 0.92
  EXPECT_LT(high[0], 300);
}

TEST(Sampler, RepetitionPenaltyFollowsHf) {
  SamplingParams p = sampled(0);
  p.repetition_penalty = 2.0f;
  Sampler s(p, {0});                       // token 0 is in the prompt
  auto l = logits_of({3.0f, 1.6f, -1.0f});  // 3 / 2 = 1.5 < 1.6
  EXPECT_EQ(s.sample(l.data(), 3), 1);
  EXPECT_FLOAT_EQ(l[0], 1.5f);
  auto again = logits_of({1.0f, 1.9f, 1.8f});  // 1 is now penalised too: 1.9 / 2
  EXPECT_EQ(s.sample(again.data(), 3), 2);
  auto negative = logits_of({-1.0f, -1.5f, -3.0f});  // negatives are multiplied
  s.sample(negative.data(), 3);
  EXPECT_FLOAT_EQ(negative[0], -2.0f);
}

TEST(Sampler, PresenceAndFrequencyPenaliseOutputOnly) {
  SamplingParams p = sampled(0);
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler s(p, {1});  // prompt tokens are not penalised
  auto first = logits_of({2.0f, 1.0f});
  EXPECT_EQ(s.sample(first.data(), 2), 0);
  EXPECT_FLOAT_EQ(first[1], 1.0f);
  auto second = logits_of({2.0f, 1.0f});
  EXPECT_EQ(s.sample(second.data(), 2), 0);
  EXPECT_FLOAT_EQ(second[0], 2.0f - 0.5f - 0.25f);
  auto third = logits_of({2.0f, 1.0f});
  EXPECT_EQ(s.sample(third.data(), 2), 0);  // 2 - 0.5 - 2 * 0.25 = 1.0 ties token 1: first wins
  EXPECT_FLOAT_EQ(third[0], 1.0f);
  auto fourth = logits_of({2.0f, 1.0f});
  EXPECT_EQ(s.sample(fourth.data(), 2), 1);  // 2 - 0.5 - 0.75 < 1
}

TEST(StopReason, TokensSequencesStringsAndLength) {
  SamplingParams p;
  p.max_new_tokens = 5;
  p.stop_token_ids = {9};
  p.stop_sequences = {{3, 4}};
  p.stop_strings = {"END"};
  auto detok = [](const std::vector<int32_t>& ids) {
    std::string text;
    for (int32_t id : ids) text += id == 7 ? "EN" : id == 8 ? "D!" : "x";
    return text;
  };
  FinishReason r;
  EXPECT_FALSE(stop_reason(p, {1, 2}, detok, r));
  ASSERT_TRUE(stop_reason(p, {1, 9}, detok, r));
  EXPECT_EQ(r, FinishReason::StopToken);
  ASSERT_TRUE(stop_reason(p, {1, 3, 4}, detok, r));
  EXPECT_EQ(r, FinishReason::StopSequence);
  EXPECT_FALSE(stop_reason(p, {4, 3}, detok, r));
  ASSERT_TRUE(stop_reason(p, {1, 7, 8}, detok, r));  // "END" spans two tokens
  EXPECT_EQ(r, FinishReason::StopString);
  ASSERT_TRUE(stop_reason(p, {1, 1, 1, 1, 1}, detok, r));
  EXPECT_EQ(r, FinishReason::Length);
}

TEST(Sampler, ValidationRejectsBadParameters) {
  auto bad = [](auto mutate, bool detok = true) {
    SamplingParams p;
    mutate(p);
    EXPECT_THROW(validate_sampling(p, detok), loupe::Error);
  };
  bad([](SamplingParams& p) { p.temperature = -1; });
  bad([](SamplingParams& p) { p.temperature = NAN; });
  bad([](SamplingParams& p) { p.top_k = -1; });
  bad([](SamplingParams& p) { p.top_p = 0; });
  bad([](SamplingParams& p) { p.min_p = 1.5f; });
  bad([](SamplingParams& p) { p.temperature = 100.5f; });
  bad([](SamplingParams& p) { p.repetition_penalty = 0; });
  bad([](SamplingParams& p) { p.repetition_penalty = 10.5f; });
  bad([](SamplingParams& p) { p.max_new_tokens = 0; });
  bad([](SamplingParams& p) { p.stop_sequences = {{}}; });
  bad([](SamplingParams& p) { p.stop_strings = {"x"}; }, false);
  EXPECT_NO_THROW(validate_sampling(SamplingParams{}, false));
  SamplingParams edges;  // the bounds themselves are valid (and what the Java SamplingParams accepts)
  edges.temperature = 100;
  edges.top_p = 1;
  edges.min_p = 1;
  edges.repetition_penalty = 10;
  edges.max_new_tokens = 1;
  EXPECT_NO_THROW(validate_sampling(edges, false));
}
