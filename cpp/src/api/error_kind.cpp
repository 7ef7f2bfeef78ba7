// error_kind_of: lets callers that only see the public header (C++ users, the JNI
// wrapper) classify a loupe::Error without the internal core/error.h.
#include "core/error.h"
#include "loupe/loupe.h"

namespace loupe {

const char* error_kind_of(const std::exception& error) noexcept {
  if (const auto* loupe_error = dynamic_cast<const Error*>(&error)) {
    return error_kind_name(loupe_error->kind());
  }
  return error_kind_name(ErrorKind::Internal);
}

}  // namespace loupe
