// loupe::TextStream releases exactly decode(all ids), never a split UTF-8 character.
#include "tokenizer/text_stream.h"

#include <gtest/gtest.h>

#include "testdata.h"

namespace loupe {
namespace {

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

TEST(TextStream, DeltasConcatenateToTheFullDecodeForEveryGoldenString) {
  const auto tokenizer = Tokenizer::from_file(test::tiny_model() / "tokenizer.json");
  const auto golden = test::read_json(test::testdata() / "tokenizer/tokenizer_golden.json");
  int held_back = 0;
  for (const auto& c : golden["cases"]) {
    const auto ids = c["ids"].get<std::vector<TokenId>>();
    for (bool skip : {true, false}) {
      TextStream stream(tokenizer, skip);
      std::string joined;
      for (TokenId id : ids) {
        const std::string delta = stream.push(id);
        EXPECT_TRUE(valid_utf8(delta)) << c["name"];
        held_back += delta.empty();
        joined += delta;
      }
      joined += stream.finish();
      EXPECT_EQ(joined, tokenizer.decode(ids, skip)) << c["name"];
      EXPECT_EQ(stream.text(), joined);
      EXPECT_EQ(stream.ids(), ids);
    }
  }
  EXPECT_GT(held_back, 0);  // the CJK and emoji strings split characters across tokens
}

TEST(TextStream, IncompleteCharacterIsHeldUntilFinished) {
  const auto tokenizer = Tokenizer::from_file(test::tiny_model() / "tokenizer.json");
  const auto ids = tokenizer.encode("🚀");
  ASSERT_GT(ids.size(), 1u);  // a 4-byte character split over byte-level tokens
  TextStream stream(tokenizer);
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_EQ(stream.push(ids[i]), "");
  EXPECT_EQ(stream.finish(), tokenizer.decode({ids.begin(), ids.end() - 1}));
  TextStream complete(tokenizer);
  std::string text;
  for (TokenId id : ids) text += complete.push(id);
  EXPECT_EQ(text, "🚀");
  EXPECT_EQ(complete.finish(), "");
}

}  // namespace
}  // namespace loupe
