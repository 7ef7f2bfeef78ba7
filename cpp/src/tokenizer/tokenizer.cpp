#include "tokenizer/tokenizer.h"

#include <fstream>

#include "core/error.h"
#include "loupe_tokenizer.h"
#include "tokenizer/ffi_error.h"

namespace loupe {

using detail::bytes_of;
using detail::throw_if_error;

void Tokenizer::Free::operator()(LoupeTokenizer* handle) const { loupe_tok_free(handle); }

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  LOUPE_CHECK(std::filesystem::is_regular_file(tokenizer_json), ModelLoad,
              "tokenizer file not found: ", tokenizer_json.string());
  const std::string path = tokenizer_json.string();
  LoupeTokenizer* handle = nullptr;
  throw_if_error(loupe_tok_from_file(bytes_of(path), path.size(), &handle), ErrorKind::ModelLoad);
  return Tokenizer(handle);
}

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json) {
  LoupeTokenizer* handle = nullptr;
  throw_if_error(loupe_tok_from_json(bytes_of(tokenizer_json), tokenizer_json.size(), &handle),
                 ErrorKind::ModelLoad);
  return Tokenizer(handle);
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  LoupeIds ids{};
  throw_if_error(loupe_tok_encode(handle_.get(), bytes_of(text), text.size(), add_special_tokens, &ids),
                 ErrorKind::InvalidArgument);
  std::vector<TokenId> out(ids.data, ids.data + ids.len);
  loupe_tok_ids_free(ids);
  return out;
}

std::string Tokenizer::decode(const std::vector<TokenId>& ids, bool skip_special_tokens) const {
  std::vector<uint32_t> unsigned_ids;
  unsigned_ids.reserve(ids.size());
  for (TokenId id : ids) {
    LOUPE_CHECK(id >= 0, InvalidArgument, "cannot decode negative token id ", id);
    unsigned_ids.push_back(static_cast<uint32_t>(id));
  }
  LoupeBytes text{};
  throw_if_error(loupe_tok_decode(handle_.get(), unsigned_ids.data(), unsigned_ids.size(),
                                  skip_special_tokens, &text),
                 ErrorKind::InvalidArgument);
  std::string out(reinterpret_cast<const char*>(text.data), text.len);
  loupe_tok_bytes_free(text);
  return out;
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  uint32_t id = 0;
  bool found = false;
  throw_if_error(loupe_tok_token_to_id(handle_.get(), bytes_of(token), token.size(), &id, &found),
                 ErrorKind::InvalidArgument);
  if (!found) return std::nullopt;
  return static_cast<TokenId>(id);
}

TokenId Tokenizer::require_token(std::string_view token) const {
  auto id = token_to_id(token);
  LOUPE_CHECK(id.has_value(), ModelLoad, "tokenizer has no token '", token, "'");
  return *id;
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (id < 0) return std::nullopt;
  LoupeBytes text{};
  bool found = false;
  throw_if_error(loupe_tok_id_to_token(handle_.get(), static_cast<uint32_t>(id), &text, &found),
                 ErrorKind::InvalidArgument);
  std::string out(reinterpret_cast<const char*>(text.data), text.len);
  loupe_tok_bytes_free(text);
  if (!found) return std::nullopt;
  return out;
}

size_t Tokenizer::vocab_size(bool with_added_tokens) const {
  size_t size = 0;
  throw_if_error(loupe_tok_vocab_size(handle_.get(), with_added_tokens, &size), ErrorKind::Internal);
  return size;
}

}  // namespace loupe
