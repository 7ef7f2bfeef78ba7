#include "backend/cpu/cpu_backend.h"

#include <unistd.h>

#include <cblas.h>

#include <algorithm>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "backend/cpu/cpu_kernels.h"

namespace loupe {

CpuBackend::CpuBackend(int threads)
    : threads_(threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()))),
      pool_(std::make_unique<cpu::ThreadPool>(threads_)) {
  openblas_set_num_threads(threads_);
}

cpu::Bf16Activations parse_bf16_activations(const std::string& text, const char* what) {
  LOUPE_CHECK(text == "exact" || text == "rounded", InvalidArgument, what, " must be 'rounded' or 'exact', not '",
              text, "'");
  return text == "rounded" ? cpu::Bf16Activations::Rounded : cpu::Bf16Activations::Exact;
}

void set_cpu_bf16_activations(Backend& backend, const std::string& mode) {
  if (mode.empty()) return;
  const cpu::Bf16Activations parsed = parse_bf16_activations(mode, "the CPU bf16 activation mode");
  if (auto* cpu = dynamic_cast<CpuBackend*>(&backend)) cpu->set_bf16_activations(parsed);
}

bool rounds_bf16_linear_inputs(const Backend& backend) {
  const auto* cpu = dynamic_cast<const CpuBackend*>(&backend);
  return cpu && cpu->bf16_activations() == cpu::Bf16Activations::Rounded;
}

void* CpuBackend::allocate(size_t bytes) { return blocks_.allocate(bytes); }
void CpuBackend::deallocate(void* ptr) { blocks_.deallocate(ptr); }
void CpuBackend::copy_from_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::fill_zero(Tensor t) { std::memset(t.data, 0, t.nbytes()); }

size_t CpuBackend::free_memory() const {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  size_t kb = 0;
  while (meminfo >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024;
    meminfo.ignore(256, '\n');
  }
  return size_t(sysconf(_SC_AVPHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
}

void CpuBackend::to_host_f32(float* dst, Tensor src) { cpu::load_f32(dst, src, 0, src.numel()); }

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

namespace cpu {
void load_f32(float* dst, const Tensor& src, int64_t offset, int64_t n) {
  switch (src.dtype) {
    case DType::F32:
      std::memcpy(dst, src.ptr<float>() + offset, size_t(n) * sizeof(float));
      return;
    case DType::BF16: {
      const uint16_t* s = src.ptr<uint16_t>() + offset;
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    default:
      LOUPE_FAIL(Internal, "cpu: cannot read ", src.describe(), " as float");
  }
}
}  // namespace cpu

}  // namespace loupe
