// Loupe's token masks against llguidance's own (its Python package, testdata/golden/constraint,
// tools/golden/make_constraint_golden.py): at every step of every golden case the allowed set
// equals the library's, end-of-sequence handling included (Loupe reports "may end here"
// instead of the end bits), and the grammar completes where the library's does.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "testdata.h"
#include "tokenizer/output_constraint.h"
#include "tokenizer/tokenizer.h"

namespace loupe::test {
namespace {

OutputConstraint::Kind kind_of(const std::string& name) {
  if (name == "json_schema") return OutputConstraint::Kind::JsonSchema;
  if (name == "regex") return OutputConstraint::Kind::Regex;
  if (name == "lark") return OutputConstraint::Kind::Lark;
  throw std::runtime_error("unknown golden kind " + name);
}

std::vector<std::filesystem::path> golden_cases() {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(testdata() / "golden/constraint"))
    if (entry.path().extension() == ".json") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ConstraintGolden, MasksEqualTheLibrarysAtEveryStep) {
  const auto cases = golden_cases();
  ASSERT_GE(cases.size(), 5u);
  for (const auto& path : cases) {
    SCOPED_TRACE(path.filename().string());
    const auto golden = read_json(path);
    const int32_t vocab = golden["vocab_size"].get<int32_t>();
    const std::vector<TokenId> eos = golden["eos"].get<std::vector<TokenId>>();
    const Tokenizer tokenizer = Tokenizer::from_file(testdata() / ".." / golden["tokenizer"].get<std::string>());
    const ConstraintCompiler compiler(tokenizer, vocab, eos);
    auto constraint = compiler.compile({kind_of(golden["kind"].get<std::string>()), golden["source"].get<std::string>()});

    const auto tokens = golden["tokens"].get<std::vector<int32_t>>();
    const auto& masks = golden["masks"];
    ASSERT_EQ(masks.size(), tokens.size() + 1);
    const size_t words = size_t(vocab + 31) / 32;
    for (size_t step = 0; step <= tokens.size(); ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      std::vector<uint32_t> want = masks[step].get<std::vector<uint32_t>>();
      ASSERT_GE(want.size(), words);
      for (size_t w = words; w < want.size(); ++w) EXPECT_EQ(want[w], 0u) << "bits past the vocabulary";
      want.resize(words);
      bool want_end = false;
      for (TokenId id : eos) {
        const uint32_t bit = 1u << (id & 31);
        want_end |= (want[size_t(id) >> 5] & bit) != 0;
        want[size_t(id) >> 5] &= ~bit;
      }
      const bool stopped = step == tokens.size() && golden["stopped_after"].get<bool>();
      EXPECT_EQ(constraint->complete(), stopped);
      std::vector<uint32_t> got(words, 0xdeadbeefu);
      const bool may_end = constraint->allowed(got.data(), got.size());
      EXPECT_EQ(may_end, want_end);
      EXPECT_EQ(got, want);
      if (step < tokens.size()) constraint->accept(tokens[step]);
    }
    EXPECT_EQ(golden["accepting_after"].get<bool>(), true);
  }
}

TEST(ConstraintGolden, ATokenOutsideTheMaskIsRefused) {
  const Tokenizer tokenizer = Tokenizer::from_file(tiny_model() / "tokenizer.json");
  const ConstraintCompiler compiler(tokenizer, 2176, {2050, 2048});
  auto digits = compiler.compile({OutputConstraint::Kind::Regex, "[0-9]+"});
  const TokenId letter = tokenizer.encode("a").at(0), digit = tokenizer.encode("7").at(0);
  EXPECT_THROW(digits->accept(letter), Error);
  EXPECT_TRUE(digits->complete());  // a refused token leaves the matcher failed, never half-advanced
  auto fresh = compiler.compile({OutputConstraint::Kind::Regex, "[0-9]+"});
  EXPECT_NO_THROW(fresh->accept(digit));
  EXPECT_FALSE(fresh->complete());
  EXPECT_THROW(compiler.compile({OutputConstraint::Kind::JsonSchema, "{\"type\": \"colour\"}"}), Error);
  EXPECT_THROW(ConstraintCompiler(tokenizer, 100, {2050}).compile({OutputConstraint::Kind::Regex, "a"}), Error);
}

}  // namespace
}  // namespace loupe::test
