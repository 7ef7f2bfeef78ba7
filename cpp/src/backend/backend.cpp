#include "backend/backend.h"

#include <utility>

namespace loupe {

std::unique_ptr<Backend> make_backend(const Device& device, int cpu_threads, CudaAttention cuda_attention) {
  if (device.kind == DeviceKind::CUDA) return make_cuda_backend(device.index, cuda_attention);
  return make_cpu_backend(cpu_threads);
}

CudaAttention parse_cuda_attention(const std::string& text) {
  LOUPE_CHECK(text == "fast" || text == "generic", InvalidArgument, "CUDA attention must be 'fast' or 'generic', got '",
              text, "'");
  return text == "fast" ? CudaAttention::Fast : CudaAttention::Generic;
}

Buffer::Buffer(Backend& backend, DType dtype, std::initializer_list<int64_t> dims)
    : backend_(&backend), tensor_(nullptr, dtype, dims, backend.device()) {
  if (tensor_.nbytes() > 0) tensor_.data = backend.allocate(tensor_.nbytes());
}

Buffer::~Buffer() {
  if (backend_ && tensor_.data) backend_->deallocate(tensor_.data);
}

Buffer::Buffer(Buffer&& other) noexcept
    : backend_(std::exchange(other.backend_, nullptr)), tensor_(std::exchange(other.tensor_, Tensor{})) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    if (backend_ && tensor_.data) backend_->deallocate(tensor_.data);
    backend_ = std::exchange(other.backend_, nullptr);
    tensor_ = std::exchange(other.tensor_, Tensor{});
  }
  return *this;
}

}  // namespace loupe
