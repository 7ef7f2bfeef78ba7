// loupe::Tokenizer against HuggingFace's ids and decodes (testdata/tokenizer/tokenizer_golden.json,
// made by tools/golden/make_tokenizer_golden.py from the tiny checkpoint's tokenizer.json).
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "testdata.h"

namespace loupe {
namespace {

using test::read_json;
using test::tiny_model;

class TokenizerGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    golden_ = new nlohmann::ordered_json(read_json(test::testdata() / "tokenizer/tokenizer_golden.json"));
    tokenizer_ = new Tokenizer(Tokenizer::from_file(tiny_model() / "tokenizer.json"));
  }
  static void TearDownTestSuite() {
    delete golden_;
    delete tokenizer_;
  }
  static nlohmann::ordered_json* golden_;
  static Tokenizer* tokenizer_;
};
nlohmann::ordered_json* TokenizerGolden::golden_ = nullptr;
Tokenizer* TokenizerGolden::tokenizer_ = nullptr;

TEST_F(TokenizerGolden, EncodesLikeHuggingFace) {
  ASSERT_GE(golden_->at("cases").size(), 15u);
  for (const auto& c : golden_->at("cases")) {
    const std::string text = c["text"];
    EXPECT_EQ(tokenizer_->encode(text), c["ids"].get<std::vector<TokenId>>()) << c["name"];
    EXPECT_EQ(tokenizer_->encode(text, /*add_special_tokens=*/true), c["ids_with_special"].get<std::vector<TokenId>>())
        << c["name"];
  }
}

TEST_F(TokenizerGolden, DecodesLikeHuggingFaceAndRoundTrips) {
  for (const auto& c : golden_->at("cases")) {
    const auto ids = c["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(tokenizer_->decode(ids), c["decoded"].get<std::string>()) << c["name"];
    EXPECT_EQ(tokenizer_->decode(ids, /*skip_special_tokens=*/true), c["decoded_skip_special"].get<std::string>())
        << c["name"];
    // NFC normalisation is the only lossy step of this tokenizer.
    if (c["name"] != "nfc") {
      EXPECT_EQ(tokenizer_->decode(ids), c["text"].get<std::string>()) << c["name"];
    }
  }
}

TEST_F(TokenizerGolden, SpecialTokensAreAtomic) {
  for (const auto& [token, id] : golden_->at("special_tokens").items()) {
    EXPECT_EQ(tokenizer_->token_to_id(token), id.get<TokenId>()) << token;
    EXPECT_EQ(tokenizer_->encode(token), std::vector<TokenId>{id.get<TokenId>()}) << token;
    EXPECT_EQ(tokenizer_->id_to_token(id.get<TokenId>()), token);
  }
  const TokenId image_pad = tokenizer_->require_token("<|image_pad|>");
  EXPECT_EQ(tokenizer_->encode("<|image_pad|><|image_pad|>"), (std::vector<TokenId>{image_pad, image_pad}));
}

TEST_F(TokenizerGolden, VocabularyLookups) {
  EXPECT_EQ(tokenizer_->vocab_size(false), golden_->at("vocab_size").get<size_t>());
  EXPECT_EQ(tokenizer_->vocab_size(), golden_->at("vocab_size_with_added").get<size_t>());
  for (const auto& [id, token] : golden_->at("id_to_token").items()) {
    EXPECT_EQ(tokenizer_->id_to_token(std::stoi(id)), token.get<std::string>()) << id;
    EXPECT_EQ(tokenizer_->token_to_id(token.get<std::string>()), std::stoi(id)) << id;
  }
  EXPECT_EQ(tokenizer_->id_to_token(1 << 30), std::nullopt);
  EXPECT_EQ(tokenizer_->id_to_token(-1), std::nullopt);
  EXPECT_EQ(tokenizer_->token_to_id("<|no such token|>"), std::nullopt);
  try {
    tokenizer_->require_token("<|no such token|>");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
    EXPECT_NE(std::string(e.what()).find("<|no such token|>"), std::string::npos);
  }
}

TEST_F(TokenizerGolden, DecodeSkipsIdsPastTheVocabularyLikeHuggingFace) {
  const auto& c = golden_->at("decode_out_of_vocab");
  EXPECT_EQ(tokenizer_->decode(c["ids"].get<std::vector<TokenId>>()), c["text"].get<std::string>());
  EXPECT_EQ(tokenizer_->decode({}), "");
}

TEST_F(TokenizerGolden, RejectsBadInputWithClearErrors) {
  try {
    tokenizer_->encode(std::string("abc\xff\xfe", 5));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
  try {
    tokenizer_->decode({1, -5});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
}

TEST_F(TokenizerGolden, SharedAcrossThreadsGivesTheSameIds) {
  const auto& c = golden_->at("cases").back();
  const std::string text = c["text"];
  const auto expected = c["ids"].get<std::vector<TokenId>>();
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Tokenizer copy = *tokenizer_;  // copies share the handle
      for (int i = 0; i < 25; ++i) mismatches[t] += copy.encode(text) != expected;
    });
  }
  for (auto& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(Tokenizer, LoadErrorsAreModelLoadErrors) {
  for (const auto& load : std::vector<std::function<void()>>{
           [] { Tokenizer::from_file("/nonexistent/tokenizer.json"); },
           [] { Tokenizer::from_file(tiny_model() / "config.json"); },  // JSON, but not a tokenizer
           [] { Tokenizer::from_json("{not json"); },
           [] { Tokenizer::from_json(""); },
       }) {
    try {
      load();
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
      EXPECT_FALSE(std::string(e.what()).empty());
    }
  }
}

TEST(Tokenizer, FromJsonEqualsFromFile) {
  const auto from_file = Tokenizer::from_file(tiny_model() / "tokenizer.json");
  const auto from_json = Tokenizer::from_json(test::read_text(tiny_model() / "tokenizer.json"));
  const std::string text = "<|im_start|>user\nHello 世界<|im_end|>";
  EXPECT_EQ(from_file.encode(text), from_json.encode(text));
}

}  // namespace
}  // namespace loupe
