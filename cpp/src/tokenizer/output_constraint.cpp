#include "tokenizer/output_constraint.h"

#include "core/error.h"
#include "loupe_tokenizer.h"
#include "tokenizer/ffi_error.h"

namespace loupe {
namespace {

using detail::bytes_of;
using detail::throw_if_error;

class GrammarConstraint final : public TokenConstraint {
 public:
  GrammarConstraint(std::shared_ptr<LoupeConstraintCompiler> compiler, LoupeConstraint* matcher)
      : compiler_(std::move(compiler)), matcher_(matcher) {}
  ~GrammarConstraint() override { loupe_constraint_free(matcher_); }
  GrammarConstraint(const GrammarConstraint&) = delete;
  GrammarConstraint& operator=(const GrammarConstraint&) = delete;

  bool allowed(uint32_t* words, size_t count) override {
    bool may_end = false;
    throw_if_error(loupe_constraint_compute_mask(matcher_, words, count, &may_end), ErrorKind::InvalidArgument);
    return may_end;
  }

  void accept(int32_t token) override {
    LOUPE_CHECK(token >= 0, InvalidArgument, "negative token id ", token);
    throw_if_error(loupe_constraint_consume(matcher_, uint32_t(token)), ErrorKind::InvalidArgument);
  }

  bool complete() const override { return loupe_constraint_is_stopped(matcher_); }

 private:
  std::shared_ptr<LoupeConstraintCompiler> compiler_;  // outlives its matchers
  LoupeConstraint* matcher_;
};

uint32_t kind_code(OutputConstraint::Kind kind) {
  switch (kind) {
    case OutputConstraint::Kind::JsonSchema: return 0;
    case OutputConstraint::Kind::Regex: return 1;
    case OutputConstraint::Kind::Lark: return 2;
  }
  LOUPE_FAIL(InvalidArgument, "unknown constraint kind ", int(kind));
}

}  // namespace

ConstraintCompiler::ConstraintCompiler(Tokenizer tokenizer, int32_t vocab_size, std::vector<TokenId> end_tokens)
    : tokenizer_(std::move(tokenizer)), vocab_size_(vocab_size), end_tokens_(std::move(end_tokens)) {}

const std::shared_ptr<LoupeConstraintCompiler>& ConstraintCompiler::handle() const {
  std::call_once(built_, [this] {
    LOUPE_CHECK(vocab_size_ > 0, Internal, "constraint compiler for an empty vocabulary");
    LOUPE_CHECK(!end_tokens_.empty(), InvalidArgument,
                "an output constraint needs the checkpoint's end-of-sequence ids (generation_config.json eos_token_id)");
    std::vector<uint32_t> ends;
    for (TokenId id : end_tokens_) {
      LOUPE_CHECK(id >= 0, InvalidArgument, "negative end token id ", id);
      ends.push_back(uint32_t(id));
    }
    LoupeConstraintCompiler* raw = nullptr;
    throw_if_error(loupe_constraint_compiler_new(tokenizer_.handle_.get(), size_t(vocab_size_), ends.data(),
                                                 ends.size(), &raw),
                   ErrorKind::InvalidArgument);
    handle_.reset(raw, loupe_constraint_compiler_free);
  });
  return handle_;
}

std::unique_ptr<TokenConstraint> ConstraintCompiler::compile(const OutputConstraint& constraint) const {
  LOUPE_CHECK(!constraint.source.empty(), InvalidArgument, "empty output constraint");
  const auto& compiler = handle();
  LoupeConstraint* matcher = nullptr;
  throw_if_error(loupe_constraint_new(compiler.get(), kind_code(constraint.kind), bytes_of(constraint.source),
                                      constraint.source.size(), &matcher),
                 ErrorKind::InvalidArgument);
  return std::make_unique<GrammarConstraint>(compiler, matcher);
}

}  // namespace loupe
