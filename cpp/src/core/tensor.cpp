#include "core/tensor.h"

#include <sstream>

namespace loupe {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return {DeviceKind::CPU, 0};
  if (text == "cuda") return {DeviceKind::CUDA, 0};
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    int index = 0;
    for (size_t i = 5; i < text.size(); ++i) {
      LOUPE_CHECK(text[i] >= '0' && text[i] <= '9' && index < 1000, InvalidArgument,
                  "invalid device '", text, "': expected cpu, cuda or cuda:N");
      index = index * 10 + (text[i] - '0');
    }
    return {DeviceKind::CUDA, index};
  }
  LOUPE_FAIL(InvalidArgument, "invalid device '", text, "': expected cpu, cuda or cuda:N");
}

std::string Device::str() const {
  return kind == DeviceKind::CPU ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Tensor::Tensor(void* data_, DType dtype_, std::initializer_list<int64_t> dims, Device device_)
    : data(data_), dtype(dtype_), device(device_), ndim(int(dims.size())) {
  LOUPE_CHECK(ndim <= kMaxDims, Internal, "tensor rank ", ndim, " exceeds ", kMaxDims);
  int i = 0;
  for (int64_t d : dims) shape[i++] = d;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[i];
  return n;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  LOUPE_CHECK(ndim >= 1 && 0 <= begin && begin <= end && end <= shape[0], Internal,
              "slice_rows [", begin, ", ", end, ") out of range for ", describe());
  Tensor out = *this;
  out.shape[0] = end - begin;
  out.data = static_cast<char*>(data) + size_t(begin) * (nbytes() / size_t(shape[0] ? shape[0] : 1));
  if (shape[0] == 0) out.data = data;
  return out;
}

Tensor Tensor::view(std::initializer_list<int64_t> dims) const {
  Tensor out(data, dtype, dims, device);
  LOUPE_CHECK(out.numel() == numel(), Internal, "view of ", describe(), " changes numel");
  return out;
}

std::string Tensor::describe() const {
  std::ostringstream s;
  s << dtype_name(dtype) << "[";
  for (int i = 0; i < ndim; ++i) s << (i ? ", " : "") << shape[i];
  s << "]@" << device.str();
  return s.str();
}

}  // namespace loupe
