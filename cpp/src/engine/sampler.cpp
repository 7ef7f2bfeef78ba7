#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace loupe::engine {

void validate_sampling(const SamplingParams& p, bool has_detokenizer) {
  // The Java SamplingParams checks the same ranges, so a pipeline is refused when it is
  // defined rather than per document.
  LOUPE_CHECK(std::isfinite(p.temperature) && p.temperature >= 0 && p.temperature <= 100, InvalidArgument,
              "temperature must be between 0 (greedy) and 100, got ", p.temperature);
  LOUPE_CHECK(p.top_k >= 0, InvalidArgument, "top_k must be >= 0, got ", p.top_k);
  LOUPE_CHECK(p.top_p > 0 && p.top_p <= 1, InvalidArgument, "top_p must be in (0, 1], got ", p.top_p);
  LOUPE_CHECK(p.min_p >= 0 && p.min_p <= 1, InvalidArgument, "min_p must be in [0, 1], got ", p.min_p);
  LOUPE_CHECK(p.repetition_penalty > 0 && p.repetition_penalty <= 10, InvalidArgument,
              "repetition_penalty must be in (0, 10], got ", p.repetition_penalty);
  LOUPE_CHECK(std::isfinite(p.presence_penalty) && std::isfinite(p.frequency_penalty), InvalidArgument,
              "presence/frequency penalties must be finite");
  LOUPE_CHECK(p.max_new_tokens >= 1, InvalidArgument, "max_new_tokens must be >= 1, got ", p.max_new_tokens);
  for (const auto& seq : p.stop_sequences)
    LOUPE_CHECK(!seq.empty(), InvalidArgument, "empty stop token sequence");
  for (const auto& s : p.stop_strings) LOUPE_CHECK(!s.empty(), InvalidArgument, "empty stop string");
  LOUPE_CHECK(p.stop_strings.empty() || has_detokenizer, InvalidArgument,
              "stop_strings need a detokenize callback on the request");
}

Sampler::Sampler(SamplingParams params, const std::vector<int32_t>& prompt, TokenConstraint* constraint,
                 int32_t vocab)
    : params_(std::move(params)), rng_(params_.seed), constraint_(constraint) {
  if (constraint_) {
    LOUPE_CHECK(vocab > 0, Internal, "a constrained sampler needs the vocabulary size");
    LOUPE_CHECK(!params_.stop_token_ids.empty(), InvalidArgument,
                "a constrained request needs a stop token id to end its output with");
    for (int32_t id : params_.stop_token_ids)
      LOUPE_CHECK(id >= 0 && id < vocab, InvalidArgument, "stop token id ", id, " outside the vocabulary");
    mask_.resize(size_t(sampling::mask_words(vocab)));
  }
  penalties_on_ = params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                  params_.frequency_penalty != 0.0f;
  if (params_.repetition_penalty != 1.0f)
    for (int32_t id : prompt) penalised_.emplace(id, 0);
}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

void Sampler::compute_mask() {
  if (!constraint_ || !constraint_error_.empty()) return;
  try {
    bool may_end = true;
    if (constraint_->complete())
      std::fill(mask_.begin(), mask_.end(), 0u);
    else
      may_end = constraint_->allowed(mask_.data(), mask_.size());
    if (may_end)  // the request's own stop tokens end it (the grammar's may differ)
      for (int32_t id : params_.stop_token_ids) mask_[size_t(id) >> 5] |= 1u << (id & 31);
    if (std::all_of(mask_.begin(), mask_.end(), [](uint32_t w) { return w == 0; }))
      constraint_error_ = "the output constraint allows no token here";
  } catch (const std::exception& e) {
    constraint_error_ = e.what();
  }
}

void Sampler::wait_for_mask() {
  if (mask_ready_.valid()) {
    mask_ready_.wait();
    mask_ready_ = {};
  }
}

void Sampler::add_row(SamplingBatch& batch) {
  SamplingRow row;
  row.temperature = params_.temperature;
  row.top_k = params_.top_k;
  row.top_p = params_.top_p;
  row.min_p = params_.min_p;
  row.repetition_penalty = params_.repetition_penalty;
  row.presence_penalty = params_.presence_penalty;
  row.frequency_penalty = params_.frequency_penalty;
  row.uniform = row.greedy() ? 0.0 : uniform();
  row.penalty_begin = row.penalty_end = int32_t(batch.penalty_ids.size());
  if (penalties_on_) {
    for (auto [id, count] : penalised_) {
      batch.penalty_ids.push_back(id);
      batch.penalty_counts.push_back(count);
    }
    row.penalty_end = int32_t(batch.penalty_ids.size());
  }
  if (constraint_) {
    wait_for_mask();
    if (constraint_error_.empty()) {  // else the pick is dropped with the failing request
      row.mask_begin = int32_t(batch.allowed.size());
      batch.allowed.insert(batch.allowed.end(), mask_.begin(), mask_.end());
    }
  }
  batch.rows.push_back(row);
}

void Sampler::accept(int32_t token) {
  if (penalties_on_) ++penalised_[token];
  if (!constraint_ || !constraint_error_.empty()) return;
  // A stop token ends the request; the grammar only sees the output itself.
  const auto& stops = params_.stop_token_ids;
  if (std::find(stops.begin(), stops.end(), token) != stops.end()) return;
  try {
    constraint_->accept(token);
  } catch (const std::exception& e) {
    constraint_error_ = e.what();
  }
}

int32_t Sampler::sample(float* logits, int32_t vocab) {
  one_row_.rows.clear();
  one_row_.penalty_ids.clear();
  one_row_.penalty_counts.clear();
  one_row_.allowed.clear();
  add_row(one_row_);
  const int32_t chosen = sampling::pick_token(logits, vocab, one_row_.rows[0], one_row_, scratch_);
  accept(chosen);
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
