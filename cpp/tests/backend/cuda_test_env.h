#pragma once
// In-tree runs of the CUDA backend: point the loader at this build's libloupe_cuda.so and
// preload the toolkit's cudart/cuBLASLt by path (libloupe_cuda.so's RUNPATH is $ORIGIN
// only, as shipped), so the library loads on a build machine without a system CUDA and
// the no-device path is the real one (the runtime reporting no driver or no GPU).
#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace loupe::test {

inline bool prepare_cuda_test_env() {
#ifdef LOUPE_CUDA_LIBRARY_PATH
  setenv("LOUPE_CUDA_LIBRARY", LOUPE_CUDA_LIBRARY_PATH, /*overwrite=*/0);
#endif
#ifdef LOUPE_CUDA_RUNTIME_DIR
  for (const char* lib : {"libcudart.so.13", "libcublasLt.so.13"}) {
    // A system copy already on the loader path wins; the toolkit's is the fallback.
    if (!dlopen(lib, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) && !dlopen(lib, RTLD_NOW | RTLD_GLOBAL))
      dlopen((std::string(LOUPE_CUDA_RUNTIME_DIR) + "/" + lib).c_str(), RTLD_NOW | RTLD_GLOBAL);
  }
#endif
  return true;
}

}  // namespace loupe::test
