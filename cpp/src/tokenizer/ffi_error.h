#pragma once
// Turns the error string returned by a loupe-tokenizer C function into a loupe::Error.
#include <string>

#include "core/error.h"
#include "loupe_tokenizer.h"

namespace loupe::detail {

inline void throw_if_error(char* message, ErrorKind kind) {
  if (message == nullptr) return;
  std::string text(message);
  loupe_tok_string_free(message);
  throw Error(kind, text);
}

inline const uint8_t* bytes_of(std::string_view text) {
  return reinterpret_cast<const uint8_t*>(text.data());
}

}  // namespace loupe::detail
