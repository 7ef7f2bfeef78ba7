#pragma once
// Per-request token sampling on fp32 logits, HF order: repetition penalty (+ OpenAI-style
// presence/frequency penalties) -> temperature -> top-k -> top-p -> min-p -> draw.
// Temperature 0 is greedy (argmax, lowest id on ties, like torch.argmax). The RNG is the
// request's own, seeded from SamplingParams::seed, so results never depend on batching.
#include <cstdint>
#include <functional>
#include <future>
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
  // constraint: the request's own (it outlives the sampler), or null; vocab: logit width.
  Sampler(SamplingParams params, const std::vector<int32_t>& prompt, TokenConstraint* constraint = nullptr,
          int32_t vocab = 0);

  // Picks the next token from logits[0, vocab) (modified in place) and records it.
  int32_t sample(float* logits, int32_t vocab);

  // Batched sampling on a backend (Backend::sample): add_row appends this request's row
  // (drawing its uniform from the request's RNG unless greedy, exactly as sample() would)
  // and its penalty entries; accept records the token the backend picked for that row.
  void add_row(SamplingBatch& batch);
  void accept(int32_t token);

  const SamplingParams& params() const { return params_; }

  // Output constraint. The scheduler runs compute_mask on its constraint thread while the
  // step's forward runs (mask_pending is the future of that work; add_row waits for it),
  // and after each token checks constraint_error.
  bool constrained() const { return constraint_ != nullptr; }
  void compute_mask();
  void mask_pending(std::shared_future<void> ready) { mask_ready_ = std::move(ready); }
  void wait_for_mask();
  const std::string& constraint_error() const { return constraint_error_; }

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
  TokenConstraint* constraint_ = nullptr;
  std::vector<uint32_t> mask_;  // the allowed tokens for the next pick
  std::shared_future<void> mask_ready_;
  std::string constraint_error_;  // set: the request fails after this step
};

// Why generation should stop after `output` (newest token last), if it should.
using Detokenize = std::function<std::string(const std::vector<int32_t>&)>;
bool stop_reason(const SamplingParams& params, const std::vector<int32_t>& output,
                 const Detokenize& detokenize, FinishReason& reason);

}  // namespace loupe::engine
