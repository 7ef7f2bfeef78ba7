// Conformance of Backend::sample against the host sampler's pick (backend/sampling.h, the
// code engine::Sampler runs). Greedy must agree exactly on every backend. Sampling is
// driven by the row's uniform: the CPU backend must pick exactly the host's token; a device
// backend sums probabilities in another order, so a draw that lands within rounding of a
// bucket edge may pick the neighbour: it must agree on nearly every draw, and a stratified
// sweep of the uniform must reproduce the host's distribution.
#include <algorithm>
#include <cmath>
#include <map>

#include "backend/sampling.h"
#include "conformance.h"

namespace loupe::test {
namespace {

SamplingRow row_with(float temperature, int32_t top_k = 0, float top_p = 1.0f, float min_p = 0.0f) {
  SamplingRow r;
  r.temperature = temperature;
  r.top_k = top_k;
  r.top_p = top_p;
  r.min_p = min_p;
  return r;
}

// The host's picks for the logits the device holds (already rounded to its dtype).
std::vector<int32_t> host_picks(const std::vector<float>& logits, int64_t vocab, const SamplingBatch& batch) {
  std::vector<int32_t> ids;
  sampling::Scratch scratch;
  for (size_t b = 0; b < batch.rows.size(); ++b) {
    std::vector<float> row(logits.begin() + int64_t(b) * vocab, logits.begin() + int64_t(b + 1) * vocab);
    ids.push_back(sampling::pick_token(row.data(), int32_t(vocab), batch.rows[b], batch, scratch));
  }
  return ids;
}

bool exact_backend(const std::string& name) { return name == "cpu"; }

// Logits on a coarse grid (exact in bf16) so that ties are common, as in bf16 logits.
std::vector<float> tied_logits(int64_t rows, int64_t vocab, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> host(size_t(rows * vocab));
  for (float& x : host) x = std::round(normal(rng) * 4.0f) / 4.0f;
  return host;
}

TEST_P(BackendTest, GreedySampleMatchesHostExactly) {
  for (int64_t vocab : {1, 7, 1000, 151936}) {
    const int64_t rows = vocab > 100000 ? 4 : 9;
    std::vector<float> logits;
    Buffer ld = random(act(), {rows, vocab}, logits, 3.0f);
    SamplingBatch batch;
    for (int64_t b = 0; b < rows; ++b) batch.rows.push_back(row_with(b % 3 == 2 ? 0.7f : 0.0f, b % 3 == 2 ? 1 : 0));
    std::vector<int32_t> ids(size_t(rows), -1);
    backend().sample(ids.data(), ld, batch);
    EXPECT_EQ(ids, host_picks(logits, vocab, batch)) << "greedy vocab " << vocab;
  }
  // Ties: the first maximum wins, as torch.argmax.
  std::vector<float> tied(64, 1.0f);
  tied[5] = tied[17] = tied[40] = 4.0f;
  Buffer td = upload(act(), {1, 64}, tied);
  SamplingBatch one;
  one.rows.push_back(row_with(0.0f));
  int32_t id = -1;
  backend().sample(&id, td, one);
  EXPECT_EQ(id, 5);
}

TEST_P(BackendTest, GreedySampleAppliesPenalties) {
  const int64_t vocab = 300, rows = 4;
  std::vector<float> logits;
  Buffer ld = random(act(), {rows, vocab}, logits, 2.0f);
  SamplingBatch batch;
  for (int64_t b = 0; b < rows; ++b) {
    SamplingRow r = row_with(0.0f);
    r.repetition_penalty = b == 0 ? 1.0f : 1.3f;
    r.presence_penalty = b == 2 ? 0.5f : 0.0f;
    r.frequency_penalty = b == 3 ? 0.75f : 0.0f;
    r.penalty_begin = int32_t(batch.penalty_ids.size());
    // The row's best tokens are penalised, so the penalties decide the pick.
    std::vector<int32_t> order(vocab);
    for (int32_t i = 0; i < vocab; ++i) order[size_t(i)] = i;
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t c) {
      return logits[size_t(b * vocab + a)] > logits[size_t(b * vocab + c)];
    });
    for (int i = 0; i < 6; ++i) {
      batch.penalty_ids.push_back(order[size_t(i)]);
      batch.penalty_counts.push_back(i % 3);
    }
    batch.penalty_ids.push_back(order[size_t(vocab - 1)]);  // a negative logit: multiplied
    batch.penalty_counts.push_back(2);
    r.penalty_end = int32_t(batch.penalty_ids.size());
    batch.rows.push_back(r);
  }
  std::vector<int32_t> ids(size_t(rows), -1);
  backend().sample(ids.data(), ld, batch);
  EXPECT_EQ(ids, host_picks(logits, vocab, batch));
}

TEST_P(BackendTest, SeededSampleMatchesHost) {
  // Every filter alone and combined, penalties, ties, a large vocab; 8 draws per setting.
  const SamplingRow settings[] = {row_with(1.0f), row_with(0.7f, 20), row_with(1.3f, 0, 0.8f),
                                  row_with(0.9f, 50, 0.9f, 0.05f), row_with(1.0f, 0, 1.0f, 0.2f),
                                  row_with(0.5f, 3)};
  for (int64_t vocab : {5, 1000, 151936}) {
    const int64_t rows = int64_t(std::size(settings)) * 8;
    const std::vector<float> logits = tied_logits(rows, vocab, rng());
    Buffer up = upload(act(), {rows, vocab}, logits);
    SamplingBatch batch;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t b = 0; b < rows; ++b) {
      SamplingRow r = settings[b / 8];
      r.uniform = u(rng());
      if (b % 4 == 1) {
        r.repetition_penalty = 1.2f;
        r.frequency_penalty = 0.3f;
        r.penalty_begin = int32_t(batch.penalty_ids.size());
        for (int32_t id = 0; id < std::min<int32_t>(int32_t(vocab), 4); ++id) {
          batch.penalty_ids.push_back(id);
          batch.penalty_counts.push_back(id % 2);
        }
        r.penalty_end = int32_t(batch.penalty_ids.size());
      }
      batch.rows.push_back(r);
    }
    std::vector<int32_t> ids(size_t(rows), -1);
    backend().sample(ids.data(), up, batch);
    const std::vector<int32_t> want = host_picks(logits, vocab, batch);
    int agree = 0;
    for (size_t b = 0; b < want.size(); ++b) agree += ids[b] == want[b];
    if (exact_backend(GetParam())) {
      EXPECT_EQ(ids, want) << "vocab " << vocab;
    } else {
      EXPECT_GE(agree, int(want.size()) - 1) << "vocab " << vocab << ": " << agree << "/" << want.size();
    }
    for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < vocab) << id;
  }
}

TEST_P(BackendTest, StratifiedSampleReproducesTheDistribution) {
  // One logit row, N rows of it with uniforms (i + 0.5) / N: each token's share of the
  // picks is its probability after top-k/top-p, to within 1/N plus rounding.
  const int64_t vocab = 50, n = 2000;
  std::vector<float> one;
  std::normal_distribution<float> normal(0.0f, 1.5f);
  for (int64_t i = 0; i < vocab; ++i) one.push_back(round_to(act(), normal(rng())));
  std::vector<float> logits;
  for (int64_t b = 0; b < n; ++b) logits.insert(logits.end(), one.begin(), one.end());
  Buffer ld = upload(act(), {n, vocab}, logits);
  SamplingBatch batch;
  for (int64_t b = 0; b < n; ++b) {
    SamplingRow r = row_with(0.8f, 30, 0.9f);
    r.uniform = (double(b) + 0.5) / double(n);
    batch.rows.push_back(r);
  }
  std::vector<int32_t> ids(size_t(n), -1);
  backend().sample(ids.data(), ld, batch);
  const std::vector<int32_t> want = host_picks(logits, vocab, batch);
  std::map<int32_t, int> got_count, want_count;
  for (int64_t b = 0; b < n; ++b) {
    ++got_count[ids[size_t(b)]];
    ++want_count[want[size_t(b)]];
  }
  for (auto [id, count] : want_count) EXPECT_NEAR(got_count[id], count, 2) << "token " << id;
  for (auto [id, count] : got_count) EXPECT_TRUE(want_count.count(id)) << "token " << id << " is outside the nucleus";
}

TEST_P(BackendTest, MaskedRowsPickOnlyAllowedTokens) {
  // Constrained rows (greedy and drawn, with penalties) next to unconstrained ones: each
  // masked pick is an allowed token and equals the host's; the unmasked rows are unaffected.
  for (int64_t vocab : {33, 1000, 151936}) {
    const int64_t rows = 12, words = sampling::mask_words(vocab);
    const std::vector<float> logits = tied_logits(rows, vocab, rng());
    Buffer up = upload(act(), {rows, vocab}, logits);
    SamplingBatch batch;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::bernoulli_distribution sparse(0.02);
    for (int64_t b = 0; b < rows; ++b) {
      SamplingRow r = b % 2 == 0 ? row_with(0.0f) : row_with(0.9f, 40, 0.95f);
      if (!r.greedy()) r.uniform = u(rng());
      if (b % 3 != 2) {
        r.mask_begin = int32_t(batch.allowed.size());
        std::vector<uint32_t> mask(size_t(words), 0u);
        for (int64_t t = 0; t < vocab; ++t)
          if (sparse(rng())) mask[size_t(t >> 5)] |= 1u << (t & 31);
        mask[size_t((vocab - 1) >> 5)] |= 1u << ((vocab - 1) & 31);  // the last id: never empty
        batch.allowed.insert(batch.allowed.end(), mask.begin(), mask.end());
      }
      if (b == 4) {  // penalties on a masked row
        r.repetition_penalty = 1.5f;
        r.penalty_begin = int32_t(batch.penalty_ids.size());
        batch.penalty_ids.push_back(int32_t(vocab - 1));
        batch.penalty_counts.push_back(1);
        r.penalty_end = int32_t(batch.penalty_ids.size());
      }
      batch.rows.push_back(r);
    }
    std::vector<int32_t> ids(size_t(rows), -1);
    backend().sample(ids.data(), up, batch);
    const std::vector<int32_t> want = host_picks(logits, vocab, batch);
    for (int64_t b = 0; b < rows; ++b) {
      const SamplingRow& r = batch.rows[size_t(b)];
      const int32_t id = ids[size_t(b)];
      ASSERT_TRUE(id >= 0 && id < vocab) << id;
      if (r.mask_begin >= 0)
        EXPECT_TRUE((batch.allowed[size_t(r.mask_begin + (id >> 5))] >> (id & 31)) & 1u)
            << "row " << b << " picked forbidden token " << id << " (vocab " << vocab << ")";
      if (r.greedy() || exact_backend(GetParam())) EXPECT_EQ(id, want[size_t(b)]) << "row " << b << " vocab " << vocab;
    }
  }
}

TEST_P(BackendTest, SampleRejectsBadBatches) {
  Buffer ld(backend(), act(), {2, 10});
  backend().fill_zero(ld);
  int32_t ids[2];
  SamplingBatch batch;
  batch.rows.push_back(row_with(0.0f));
  EXPECT_THROW(backend().sample(ids, ld, batch), Error);  // one row for two
  batch.rows.push_back(row_with(1.0f));
  batch.rows[1].penalty_end = 1;  // no entries
  EXPECT_THROW(backend().sample(ids, ld, batch), Error);
  batch.penalty_ids = {10};  // outside the vocab
  batch.penalty_counts = {1};
  EXPECT_THROW(backend().sample(ids, ld, batch), Error);
  batch.penalty_ids = {9};
  batch.rows[1].uniform = 1.0;  // not in [0, 1)
  EXPECT_THROW(backend().sample(ids, ld, batch), Error);
  batch.rows[1].uniform = 0.25;
  EXPECT_NO_THROW(backend().sample(ids, ld, batch));
  batch.rows[0].mask_begin = 0;  // a mask past the end of the words
  EXPECT_THROW(backend().sample(ids, ld, batch), Error);
  batch.allowed = {0x3u};
  EXPECT_NO_THROW(backend().sample(ids, ld, batch));
  EXPECT_LT(ids[0], 2);
}

}  // namespace
}  // namespace loupe::test
