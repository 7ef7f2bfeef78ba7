#pragma once
// loupe::Tokenizer: a checkpoint's tokenizer.json through HuggingFace's reference `tokenizers`
// implementation (the Rust crate in cpp/tokenizer, linked into libloupe). Immutable once
// loaded; every method is safe to call from several threads at once.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct LoupeTokenizer;

namespace loupe {

using TokenId = int32_t;

class Tokenizer {
 public:
  // Throws Error(ModelLoad) when the file is missing or not a valid tokenizer.json.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_json(std::string_view tokenizer_json);

  // Special tokens written in `text` (e.g. "<|im_start|>") always map to their ids; with
  // add_special_tokens the tokenizer's post-processor may add more (Qwen's adds none).
  // Throws Error(InvalidArgument) for text that is not valid UTF-8.
  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens = false) const;

  // Ids outside the vocabulary are skipped, as HuggingFace's decode does. Negative ids
  // are rejected (InvalidArgument).
  std::string decode(const std::vector<TokenId>& ids, bool skip_special_tokens = false) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;
  // Like token_to_id, but a missing token is an Error(ModelLoad) naming it: for the special
  // tokens a checkpoint must have.
  TokenId require_token(std::string_view token) const;
  std::optional<std::string> id_to_token(TokenId id) const;

  // Number of ids the tokenizer knows, added (special) tokens included by default. The
  // model's embedding table is usually larger.
  size_t vocab_size(bool with_added_tokens = true) const;

 private:
  friend class ConstraintCompiler;  // builds its token trie from the same loaded handle
  struct Free {
    void operator()(LoupeTokenizer* handle) const;
  };
  explicit Tokenizer(LoupeTokenizer* handle) : handle_(handle, Free{}) {}
  std::shared_ptr<LoupeTokenizer> handle_;
};

}  // namespace loupe
