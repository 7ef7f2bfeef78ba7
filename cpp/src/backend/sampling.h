#pragma once
// The host reference of token sampling, shared by engine::Sampler (host logits) and
// Backend::sample's default (the CPU backend): one pure function, so both paths pick the
// same token from the same logits and the same draw. Device backends implement the same
// semantics in their own kernels and are checked against this in the conformance suite.
#include <cstdint>
#include <utility>
#include <vector>

#include "backend/backend.h"

namespace loupe::sampling {

// Candidate (scaled logit, id) pairs, reused between calls to avoid reallocating.
using Scratch = std::vector<std::pair<float, int32_t>>;

// Applies the row's penalties to logits[0, vocab) in place: HF's repetition penalty on
// every listed id (x < 0 ? x·p : x/p), then presence + frequency·count on ids with count > 0.
void apply_penalties(float* logits, int32_t vocab, const SamplingRow& row, const int32_t* penalty_ids,
                     const int32_t* penalty_counts);

// Words of one row's allowed-token mask.
inline int64_t mask_words(int64_t vocab) { return (vocab + 31) / 32; }

// Sets logits[t] to -inf for every token t whose bit in `allowed` is clear.
void apply_mask(float* logits, int32_t vocab, const uint32_t* allowed);

// Masks (when the row has a mask) and penalises logits[0, vocab) in place, then picks one
// token for the row. Throws Internal when sampling and every logit is -inf or NaN.
int32_t pick_token(float* logits, int32_t vocab, const SamplingRow& row, const SamplingBatch& batch,
                   Scratch& scratch);

// Checks the batch against logits of `rows` × `vocab` (row count, penalty ranges and ids).
void validate_batch(const SamplingBatch& batch, int64_t rows, int64_t vocab);

}  // namespace loupe::sampling
