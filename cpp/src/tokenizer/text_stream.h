#pragma once
// loupe::TextStream turns generated token ids into text as they arrive, for token streaming
// and stop strings. A byte-level BPE token can end in the middle of a UTF-8 character, so
// text is only released once it decodes without a trailing U+FFFD; the concatenation of
// everything released plus finish() equals decode(all ids).
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace loupe {

class TextStream {
 public:
  explicit TextStream(Tokenizer tokenizer, bool skip_special_tokens = true)
      : tokenizer_(std::move(tokenizer)), skip_special_tokens_(skip_special_tokens) {}

  // Appends one id; returns the text it completes (often empty mid-character).
  std::string push(TokenId id);
  // Releases whatever is held back (an incomplete character decodes to U+FFFD, as HF does).
  std::string finish();

  const std::vector<TokenId>& ids() const { return ids_; }
  // Everything released so far.
  const std::string& text() const { return text_; }

 private:
  std::string decode_range(size_t begin, size_t end) const;

  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  std::vector<TokenId> ids_;
  // Text is decoded over the window [prefix_, end): ids before read_ were released already,
  // those in [prefix_, read_) give the decoder the context it needs (e.g. leading spaces).
  size_t prefix_ = 0;
  size_t read_ = 0;
  std::string text_;
};

}  // namespace loupe
