#pragma once
// Errors crossing module boundaries are loupe::Error with a one-line, human-readable
// message; the Java binding turns them into typed exceptions by ErrorKind.
#include <sstream>
#include <stdexcept>
#include <string>

namespace loupe {

enum class ErrorKind {
  InvalidArgument,   // bad request or parameter
  BadImage,          // undecodable or unsupported image bytes
  LimitExceeded,     // a configured limit (bytes, pixels, tokens, images) was hit: this request never fits
  Overloaded,        // the engine's queue is full: the same request may succeed later
  ModelLoad,         // missing/inconsistent checkpoint files
  OutOfMemory,       // KV pool or device memory exhausted
  Cancelled,
  Timeout,
  NoDevice,          // requested device not available
  Internal,
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace loupe

// LOUPE_CHECK(cond, kind, message parts...) throws loupe::Error when cond is false.
#define LOUPE_CHECK(cond, kind, ...)                                                  \
  do {                                                                                \
    if (!(cond)) throw ::loupe::Error(::loupe::ErrorKind::kind, ::loupe::detail::concat(__VA_ARGS__)); \
  } while (0)

#define LOUPE_FAIL(kind, ...) throw ::loupe::Error(::loupe::ErrorKind::kind, ::loupe::detail::concat(__VA_ARGS__))
