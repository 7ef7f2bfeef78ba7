#pragma once
// How the backends a test suite makes compute. CTest sets the CPU mode per directory
// (cpp/tests/CMakeLists.txt: exact, the fp32 golden bounds; model/ and backend/: rounded,
// the library default); cpp/tools/gpu-check.sh runs the GPU suites with each CUDA
// attention kernel. The library itself reads no environment.
#include <cstdlib>
#include <string>

#include "backend/backend.h"

namespace loupe::test {

inline std::string cpu_bf16_activations() {
  const char* mode = std::getenv("LOUPE_TEST_CPU_BF16_ACTIVATIONS");
  return mode && *mode ? mode : "rounded";
}

inline CudaAttention cuda_attention() {
  const char* mode = std::getenv("LOUPE_TEST_CUDA_ATTENTION");
  return parse_cuda_attention(mode && *mode ? mode : "fast");
}

// A backend for `device` made as the suite runs it.
inline std::unique_ptr<Backend> make_test_backend(const Device& device, int cpu_threads = 0) {
  std::unique_ptr<Backend> backend = make_backend(device, cpu_threads, cuda_attention());
  set_cpu_bf16_activations(*backend, cpu_bf16_activations());
  return backend;
}

}  // namespace loupe::test
