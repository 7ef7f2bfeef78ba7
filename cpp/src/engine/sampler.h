#pragma once
// Per-request token sampling on fp32 logits, HF order: repetition penalty (+ OpenAI-style
// presence/frequency penalties) -> temperature -> top-k -> top-p -> min-p -> draw.
// Temperature 0 is greedy (argmax, lowest id on ties, like torch.argmax). The RNG is the
// request's own, seeded from SamplingParams::seed, so results never depend on batching.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/sampling.h"
#include "loupe/engine.h"

namespace loupe::engine {

// Throws InvalidArgument for out-of-range parameters.
void validate_sampling(const SamplingParams& params, bool has_detokenizer);

class Sampler {
 public:
  Sampler(SamplingParams params, const std::vector<int32_t>& prompt);

  // Picks the next token from logits[0, vocab) (modified in place) and records it.
  int32_t sample(float* logits, int32_t vocab);

  // Batched sampling on a backend (Backend::sample): add_row appends this request's row
  // (drawing its uniform from the request's RNG unless greedy, exactly as sample() would)
  // and its penalty entries; accept records the token the backend picked for that row.
  void add_row(SamplingBatch& batch);
  void accept(int32_t token);

  const SamplingParams& params() const { return params_; }

 private:
  double uniform();  // [0, 1) from 53 random bits: identical on every platform

  SamplingParams params_;
  std::mt19937_64 rng_;
  // Penalised tokens -> times each was output: the prompt (count 0) and the output when
  // the repetition penalty is on, else the output only (presence/frequency penalties).
  std::unordered_map<int32_t, int32_t> penalised_;
  bool penalties_on_ = false;
  SamplingBatch one_row_;  // sample()'s batch of one, reused
  sampling::Scratch scratch_;
};

// Why generation should stop after `output` (newest token last), if it should.
using Detokenize = std::function<std::string(const std::vector<int32_t>&)>;
bool stop_reason(const SamplingParams& params, const std::vector<int32_t>& output,
                 const Detokenize& detokenize, FinishReason& reason);

}  // namespace loupe::engine
