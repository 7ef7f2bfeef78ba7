#pragma once
// OutputConstraint -> TokenConstraint: llguidance (through the tokenizer crate) compiles a
// JSON schema, regex or Lark grammar against the checkpoint's tokens, and each request gets
// its own matcher.
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "loupe/captioner.h"
#include "loupe/engine.h"
#include "tokenizer/tokenizer.h"

struct LoupeConstraintCompiler;

namespace loupe {

class ConstraintCompiler {
 public:
  // vocab_size: the model's logit width; end_tokens: the ids that end an output (at least one).
  ConstraintCompiler(Tokenizer tokenizer, int32_t vocab_size, std::vector<TokenId> end_tokens);

  // Thread-safe. Throws Error(InvalidArgument) naming what is wrong with the constraint.
  std::unique_ptr<TokenConstraint> compile(const OutputConstraint& constraint) const;

 private:
  // The token trie over the whole vocabulary is built on first use (about 0.1 s for a
  // 150k vocabulary), so a captioner that never constrains never pays for it.
  const std::shared_ptr<LoupeConstraintCompiler>& handle() const;

  Tokenizer tokenizer_;
  int32_t vocab_size_;
  std::vector<TokenId> end_tokens_;
  mutable std::once_flag built_;
  mutable std::shared_ptr<LoupeConstraintCompiler> handle_;
};

}  // namespace loupe
