#include "backend/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace loupe::sampling {

void apply_penalties(float* logits, int32_t vocab, const SamplingRow& row, const int32_t* ids,
                     const int32_t* counts) {
  const float rep = row.repetition_penalty;
  for (int32_t i = row.penalty_begin; i < row.penalty_end; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab) continue;
    float& x = logits[id];
    if (rep != 1.0f) x = x < 0 ? x * rep : x / rep;  // HF RepetitionPenaltyLogitsProcessor
    if (counts[i] > 0) x -= row.presence_penalty + row.frequency_penalty * float(counts[i]);
  }
}

void apply_mask(float* logits, int32_t vocab, const uint32_t* allowed) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int32_t t = 0; t < vocab; ++t)
    if (!((allowed[t >> 5] >> (t & 31)) & 1u)) logits[t] = kNegInf;
}

int32_t pick_token(float* logits, int32_t vocab, const SamplingRow& row, const SamplingBatch& batch,
                   Scratch& scratch) {
  LOUPE_CHECK(vocab > 0, Internal, "empty logits");
  if (row.mask_begin >= 0) apply_mask(logits, vocab, batch.allowed.data() + row.mask_begin);
  apply_penalties(logits, vocab, row, batch.penalty_ids.data(), batch.penalty_counts.data());
  if (row.greedy()) return int32_t(std::max_element(logits, logits + vocab) - logits);  // first max

  // Candidates sorted by logit (desc), ties by id, so the draw is reproducible.
  auto before = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  const float inv_t = 1.0f / row.temperature;
  scratch.clear();
  for (int32_t i = 0; i < vocab; ++i) {
    float x = logits[i] * inv_t;
    if (!std::isnan(x) && x != -std::numeric_limits<float>::infinity()) scratch.emplace_back(x, i);
  }
  LOUPE_CHECK(!scratch.empty(), Internal, "every logit is -inf or NaN");
  size_t keep = scratch.size();
  if (row.top_k > 0 && size_t(row.top_k) < keep) {
    // HF keeps every token tied with the k-th value.
    std::nth_element(scratch.begin(), scratch.begin() + row.top_k - 1, scratch.end(), before);
    float kth = scratch[size_t(row.top_k - 1)].first;
    auto end = std::partition(scratch.begin(), scratch.end(), [kth](const auto& c) { return c.first >= kth; });
    keep = size_t(end - scratch.begin());
  }
  std::sort(scratch.begin(), scratch.begin() + ptrdiff_t(keep), before);
  // Softmax over the survivors, in double for a stable cumulative sum.
  std::vector<double> probs(keep);
  double max_logit = scratch[0].first, total = 0;
  for (size_t i = 0; i < keep; ++i) total += probs[i] = std::exp(double(scratch[i].first) - max_logit);
  for (double& q : probs) q /= total;
  if (row.top_p < 1.0f) {
    // Smallest prefix whose mass reaches top_p (HF removes the tail with cumulative
    // mass <= 1 - top_p counted from the least likely token; at least one token stays).
    double mass = 0;
    size_t n = 0;
    while (n < keep && mass < double(row.top_p)) mass += probs[n++];
    keep = std::max<size_t>(n, 1);
  }
  if (row.min_p > 0.0f) {
    double floor = double(row.min_p) * probs[0];
    size_t n = 0;
    while (n < keep && probs[n] >= floor) ++n;
    keep = std::max<size_t>(n, 1);
  }
  double mass = 0;
  for (size_t i = 0; i < keep; ++i) mass += probs[i];
  double target = row.uniform * mass, acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += probs[i];
    if (target < acc) return scratch[i].second;
  }
  return scratch[keep - 1].second;
}

void validate_batch(const SamplingBatch& batch, int64_t rows, int64_t vocab) {
  LOUPE_CHECK(int64_t(batch.rows.size()) == rows, InvalidArgument, "sample: ", batch.rows.size(),
              " sampling rows for ", rows, " logit rows");
  LOUPE_CHECK(batch.penalty_ids.size() == batch.penalty_counts.size(), InvalidArgument,
              "sample: penalty ids and counts differ in length");
  const int64_t entries = int64_t(batch.penalty_ids.size());
  for (const SamplingRow& r : batch.rows) {
    LOUPE_CHECK(r.penalty_begin >= 0 && r.penalty_begin <= r.penalty_end && r.penalty_end <= entries,
                InvalidArgument, "sample: penalty range [", r.penalty_begin, ", ", r.penalty_end, ") outside ",
                entries, " entries");
    // The parameters were validated once, when the request was submitted (validate_sampling);
    // here only what the kernels index by or draw with.
    LOUPE_CHECK(r.uniform >= 0 && r.uniform < 1, InvalidArgument, "sample: draw must be in [0, 1), got ", r.uniform);
    LOUPE_CHECK(r.mask_begin == -1 || (r.mask_begin >= 0 && int64_t(r.mask_begin) + mask_words(vocab) <=
                                                               int64_t(batch.allowed.size())),
                InvalidArgument, "sample: mask at word ", r.mask_begin, " outside ", batch.allowed.size(), " words");
  }
  for (int32_t id : batch.penalty_ids)
    LOUPE_CHECK(id >= 0 && id < vocab, InvalidArgument, "sample: penalised token ", id, " outside vocab ", vocab);
}

}  // namespace loupe::sampling

namespace loupe {

void Backend::sample(int32_t* ids, Tensor logits, const SamplingBatch& batch) {
  LOUPE_CHECK(logits.ndim == 2, InvalidArgument, "sample: logits must be [batch, vocab], got ", logits.describe());
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  sampling::validate_batch(batch, rows, vocab);
  if (rows == 0) return;
  std::vector<float> host(size_t(rows * vocab));
  to_host_f32(host.data(), logits);
  sampling::Scratch scratch;
  for (int64_t b = 0; b < rows; ++b)
    ids[b] = sampling::pick_token(host.data() + b * vocab, int32_t(vocab), batch.rows[size_t(b)], batch, scratch);
}

}  // namespace loupe
