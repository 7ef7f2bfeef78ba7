#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace loupe::engine {

void validate_sampling(const SamplingParams& p, bool has_detokenizer) {
  LOUPE_CHECK(std::isfinite(p.temperature) && p.temperature >= 0, InvalidArgument,
              "temperature must be >= 0, got ", p.temperature);
  LOUPE_CHECK(p.top_k >= 0, InvalidArgument, "top_k must be >= 0, got ", p.top_k);
  LOUPE_CHECK(p.top_p > 0 && p.top_p <= 1, InvalidArgument, "top_p must be in (0, 1], got ", p.top_p);
  LOUPE_CHECK(p.min_p >= 0 && p.min_p <= 1, InvalidArgument, "min_p must be in [0, 1], got ", p.min_p);
  LOUPE_CHECK(p.repetition_penalty > 0 && std::isfinite(p.repetition_penalty), InvalidArgument,
              "repetition_penalty must be > 0, got ", p.repetition_penalty);
  LOUPE_CHECK(std::isfinite(p.presence_penalty) && std::isfinite(p.frequency_penalty), InvalidArgument,
              "presence/frequency penalties must be finite");
  LOUPE_CHECK(p.max_new_tokens >= 1, InvalidArgument, "max_new_tokens must be >= 1, got ", p.max_new_tokens);
  for (const auto& seq : p.stop_sequences)
    LOUPE_CHECK(!seq.empty(), InvalidArgument, "empty stop token sequence");
  for (const auto& s : p.stop_strings) LOUPE_CHECK(!s.empty(), InvalidArgument, "empty stop string");
  LOUPE_CHECK(p.stop_strings.empty() || has_detokenizer, InvalidArgument,
              "stop_strings need a detokenize callback on the request");
}

Sampler::Sampler(SamplingParams params, const std::vector<int32_t>& prompt)
    : params_(std::move(params)), rng_(params_.seed) {
  if (params_.repetition_penalty != 1.0f) seen_.insert(prompt.begin(), prompt.end());
}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

void Sampler::apply_penalties(float* logits, int32_t vocab) const {
  const float rep = params_.repetition_penalty;
  if (rep != 1.0f) {
    for (int32_t id : seen_) {
      if (id < 0 || id >= vocab) continue;
      float& x = logits[id];
      x = x < 0 ? x * rep : x / rep;  // HF RepetitionPenaltyLogitsProcessor
    }
  }
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    for (auto [id, count] : output_counts_) {
      if (id < 0 || id >= vocab) continue;
      logits[id] -= params_.presence_penalty + params_.frequency_penalty * float(count);
    }
  }
}

int32_t Sampler::sample(float* logits, int32_t vocab) {
  LOUPE_CHECK(vocab > 0, Internal, "empty logits");
  apply_penalties(logits, vocab);

  int32_t chosen = 0;
  if (params_.temperature == 0.0f || params_.top_k == 1) {
    chosen = int32_t(std::max_element(logits, logits + vocab) - logits);  // first max
  } else {
    // Candidates sorted by logit (desc), ties by id, so the draw is reproducible.
    auto before = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    const float inv_t = 1.0f / params_.temperature;
    scratch_.clear();
    for (int32_t i = 0; i < vocab; ++i) {
      float x = logits[i] * inv_t;
      if (!std::isnan(x) && x != -std::numeric_limits<float>::infinity()) scratch_.emplace_back(x, i);
    }
    LOUPE_CHECK(!scratch_.empty(), Internal, "every logit is -inf or NaN");
    size_t keep = scratch_.size();
    if (params_.top_k > 0 && size_t(params_.top_k) < keep) {
      // HF keeps every token tied with the k-th value.
      std::nth_element(scratch_.begin(), scratch_.begin() + params_.top_k - 1, scratch_.end(), before);
      float kth = scratch_[size_t(params_.top_k - 1)].first;
      auto end = std::partition(scratch_.begin(), scratch_.end(),
                                [kth](const auto& c) { return c.first >= kth; });
      keep = size_t(end - scratch_.begin());
    }
    std::sort(scratch_.begin(), scratch_.begin() + ptrdiff_t(keep), before);
    // Softmax over the survivors, in double for a stable cumulative sum.
    std::vector<double> probs(keep);
    double max_logit = scratch_[0].first, total = 0;
    for (size_t i = 0; i < keep; ++i) total += probs[i] = std::exp(double(scratch_[i].first) - max_logit);
    for (double& q : probs) q /= total;
    if (params_.top_p < 1.0f) {
      // Smallest prefix whose mass reaches top_p (HF removes the tail with cumulative
      // mass <= 1 - top_p counted from the least likely token; at least one token stays).
      double mass = 0;
      size_t n = 0;
      while (n < keep && mass < double(params_.top_p)) mass += probs[n++];
      keep = std::max<size_t>(n, 1);
    }
    if (params_.min_p > 0.0f) {
      double floor = double(params_.min_p) * probs[0];
      size_t n = 0;
      while (n < keep && probs[n] >= floor) ++n;
      keep = std::max<size_t>(n, 1);
    }
    double mass = 0;
    for (size_t i = 0; i < keep; ++i) mass += probs[i];
    double target = uniform() * mass, acc = 0;
    chosen = scratch_[keep - 1].second;
    for (size_t i = 0; i < keep; ++i) {
      acc += probs[i];
      if (target < acc) {
        chosen = scratch_[i].second;
        break;
      }
    }
  }
  if (params_.repetition_penalty != 1.0f) seen_.insert(chosen);
  ++output_counts_[chosen];
  return chosen;
}

bool stop_reason(const SamplingParams& params, const std::vector<int32_t>& output,
                 const Detokenize& detokenize, FinishReason& reason) {
  if (output.empty()) return false;
  const int32_t last = output.back();
  if (std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), last) != params.stop_token_ids.end()) {
    reason = FinishReason::StopToken;
    return true;
  }
  for (const auto& seq : params.stop_sequences) {
    if (seq.size() <= output.size() && std::equal(seq.rbegin(), seq.rend(), output.rbegin())) {
      reason = FinishReason::StopSequence;
      return true;
    }
  }
  if (!params.stop_strings.empty() && detokenize) {
    // A stop string can only have been completed by the newest token, and each token is at
    // least one byte, so a window of (longest string + 1) tokens sees every new match
    // (one extra token keeps a partly decoded UTF-8 sequence whole).
    size_t longest = 0;
    for (const auto& s : params.stop_strings) longest = std::max(longest, s.size());
    size_t window = std::min(output.size(), longest + 1);
    std::vector<int32_t> tail(output.end() - ptrdiff_t(window), output.end());
    std::string text = detokenize(tail);
    for (const auto& s : params.stop_strings) {
      if (text.find(s) != std::string::npos) {
        reason = FinishReason::StopString;
        return true;
      }
    }
  }
  if (int32_t(output.size()) >= params.max_new_tokens) {
    reason = FinishReason::Length;
    return true;
  }
  return false;
}

}  // namespace loupe::engine
