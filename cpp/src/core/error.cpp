#include "core/error.h"

namespace loupe {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "invalid_argument";
    case ErrorKind::BadImage: return "bad_image";
    case ErrorKind::LimitExceeded: return "limit_exceeded";
    case ErrorKind::Overloaded: return "overloaded";
    case ErrorKind::ModelLoad: return "model_load";
    case ErrorKind::OutOfMemory: return "out_of_memory";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::NoDevice: return "no_device";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

}  // namespace loupe
