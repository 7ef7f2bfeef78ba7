#include "conformance.h"
#include "test_backend_choices.h"

#include "cuda_test_env.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace loupe::test {

namespace {
// Tests load the libloupe_cuda.so of this build, wherever the test binary lives.
[[maybe_unused]] const bool kCudaTestEnv = loupe::test::prepare_cuda_test_env();
}  // namespace

float round_to(DType dtype, float v) {
  if (dtype == DType::BF16) return bf16_to_f32(f32_to_bf16(v));
  return v;
}

ErrorStats compare(const std::vector<float>& got, const std::vector<double>& want) {
  ErrorStats s;
  double err2 = 0, ref2 = 0, max_err = 0, max_ref = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) s.finite = false;
    const double d = double(got[i]) - want[i];
    err2 += d * d;
    ref2 += want[i] * want[i];
    max_err = std::max(max_err, std::abs(d));
    max_ref = std::max(max_ref, std::abs(want[i]));
  }
  s.nmse = ref2 > 0 ? err2 / ref2 : err2;
  s.max_rel = max_ref > 0 ? max_err / max_ref : max_err;
  return s;
}

Tolerance tolerance_for(DType act, double f32_max_rel, double bf16_max_rel) {
  if (act == DType::F32) return {f32_max_rel * f32_max_rel, f32_max_rel};
  return {2e-5, bf16_max_rel};
}

void BackendTest::SetUp() {
  const Device device = Device::parse(GetParam());
  try {
    backend_ = loupe::test::make_test_backend(device, 2);
  } catch (const Error& e) {
    if (device.kind == DeviceKind::CUDA && e.kind() == ErrorKind::NoDevice) {
      GTEST_SKIP() << "no CUDA backend here: " << e.what();
    }
    throw;
  }
  act_ = backend_->activation_dtype();
  // A different stream of random numbers per test, reproducible across runs.
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rng_.seed(uint32_t(std::hash<std::string>{}(std::string(info->name()))));
}

Buffer BackendTest::upload(DType dtype, std::initializer_list<int64_t> dims, const std::vector<float>& values) {
  Buffer buf(*backend_, dtype, dims);
  EXPECT_EQ(size_t(buf.tensor().numel()), values.size());
  if (dtype == DType::F32) {
    backend_->copy_from_host(buf.tensor().data, values.data(), values.size() * sizeof(float));
  } else if (dtype == DType::BF16) {
    std::vector<uint16_t> bits(values.size());
    for (size_t i = 0; i < values.size(); ++i) bits[i] = f32_to_bf16(values[i]);
    backend_->copy_from_host(buf.tensor().data, bits.data(), bits.size() * sizeof(uint16_t));
  } else {
    ADD_FAILURE() << "upload: unsupported dtype " << dtype_name(dtype);
  }
  return buf;
}

Buffer BackendTest::random(DType dtype, std::initializer_list<int64_t> dims, std::vector<float>& host, float scale) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  host.resize(size_t(n));
  for (auto& v : host) v = round_to(dtype, normal(rng_) * scale);
  return upload(dtype, dims, host);
}

Buffer BackendTest::upload_i32(std::initializer_list<int64_t> dims, const std::vector<int32_t>& values) {
  Buffer buf(*backend_, DType::I32, dims);
  EXPECT_EQ(size_t(buf.tensor().numel()), values.size());
  backend_->copy_from_host(buf.tensor().data, values.data(), values.size() * sizeof(int32_t));
  return buf;
}

std::vector<float> BackendTest::download(const Tensor& t) {
  std::vector<float> out(size_t(t.numel()));
  backend_->to_host_f32(out.data(), t);
  backend_->synchronize();
  return out;
}

void BackendTest::expect_close(const std::vector<float>& got, const std::vector<double>& want, Tolerance tol,
                               const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const ErrorStats s = compare(got, want);
  EXPECT_TRUE(s.finite) << what << ": non-finite output";
  EXPECT_LE(s.nmse, tol.nmse) << what << " (max_rel " << s.max_rel << ")";
  EXPECT_LE(s.max_rel, tol.max_rel) << what << " (nmse " << s.nmse << ")";
}

// Every backend the suite knows; CUDA cases skip themselves when no device loads.
INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::Values("cpu", "cuda:0"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "cpu" ? std::string("cpu") : std::string("cuda0");
                         });

}  // namespace loupe::test
