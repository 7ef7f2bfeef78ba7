// Built when libloupe has no CUDA backend: asking for one is a clean NoDevice error.
#include "backend/backend.h"

namespace loupe {

std::unique_ptr<Backend> make_cuda_backend(int device_index) {
  LOUPE_FAIL(NoDevice, "cuda:", device_index,
             " requested but this libloupe was built without the CUDA backend");
}

}  // namespace loupe
