#include "tokenizer/text_stream.h"

namespace loupe {

namespace {
bool ends_with_replacement_char(const std::string& text) {
  static const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD
  return text.size() >= replacement.size() &&
         text.compare(text.size() - replacement.size(), replacement.size(), replacement) == 0;
}
}  // namespace

std::string TextStream::decode_range(size_t begin, size_t end) const {
  return tokenizer_.decode(std::vector<TokenId>(ids_.begin() + begin, ids_.begin() + end), skip_special_tokens_);
}

std::string TextStream::push(TokenId id) {
  ids_.push_back(id);
  const std::string before = decode_range(prefix_, read_);
  const std::string after = decode_range(prefix_, ids_.size());
  if (after.size() <= before.size() || ends_with_replacement_char(after) ||
      after.compare(0, before.size(), before) != 0) {
    return {};
  }
  std::string delta = after.substr(before.size());
  prefix_ = read_;
  read_ = ids_.size();
  text_ += delta;
  return delta;
}

std::string TextStream::finish() {
  if (read_ == ids_.size()) return {};
  const std::string before = decode_range(prefix_, read_);
  const std::string after = decode_range(prefix_, ids_.size());
  std::string delta = after.compare(0, before.size(), before) == 0 ? after.substr(before.size()) : after;
  prefix_ = read_ = ids_.size();
  text_ += delta;
  return delta;
}

}  // namespace loupe
