// The CUDA loader: without a usable device (no GPU, no driver, or no libloupe_cuda.so)
// asking for CUDA is Error(NoDevice) with a readable reason, never a crash. On a
// machine with a GPU the same calls must produce a working backend instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "backend/backend.h"
#include "cuda_test_env.h"

namespace loupe {
namespace {

[[maybe_unused]] const bool kCudaTestEnv = loupe::test::prepare_cuda_test_env();

TEST(CudaLoader, DeviceZeroIsABackendOrAReadableNoDevice) {
  try {
    auto backend = make_cuda_backend(0, CudaAttention::Fast);
    // A device is present: the backend must be a real CUDA one.
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->device().kind, DeviceKind::CUDA);
    EXPECT_EQ(backend->activation_dtype(), DType::BF16);
    std::cout << "[ info ] CUDA device present: " << backend->name() << "\n";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NoDevice) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find("cuda:0"), std::string::npos) << message;
    EXPECT_GT(message.size(), 30u) << "the reason should say why: " << message;
    std::cout << "[ info ] no CUDA device: " << message << "\n";
  }
}

TEST(CudaLoader, OutOfRangeIndexIsNoDevice) {
  try {
    make_cuda_backend(4096, CudaAttention::Fast);
    FAIL() << "cuda:4096 cannot exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NoDevice) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda:4096"), std::string::npos) << e.what();
  }
}

TEST(CudaLoader, MakeBackendDispatchesOnDevice) {
  EXPECT_THROW(make_backend(Device::parse("cuda:4096"), 0, CudaAttention::Fast), Error);
}

TEST(CudaLoader, MissingLibraryIsNoDeviceNamingTheLibrary) {
  // The loader caches its first attempt per process, so the check runs in a child
  // process whose environment points at a library that does not exist.
  if (std::getenv("LOUPE_CUDA_LOADER_CHILD") != nullptr) {
    try {
      make_cuda_backend(0, CudaAttention::Fast);
      FAIL() << "loaded a CUDA backend from a missing library";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::NoDevice) << e.what();
      EXPECT_NE(std::string(e.what()).find("libloupe_cuda.so"), std::string::npos) << e.what();
    }
    return;
  }
  const std::string self = ::testing::internal::GetArgvs()[0];
  const std::string cmd = "LOUPE_CUDA_LOADER_CHILD=1 LOUPE_CUDA_LIBRARY=/nonexistent/libloupe_cuda.so "
                          "LD_LIBRARY_PATH=/nonexistent '" + self +
                          "' --gtest_filter=CudaLoader.MissingLibraryIsNoDeviceNamingTheLibrary";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace loupe
