#include <gtest/gtest.h>

#include "core/tensor.h"

namespace loupe {

TEST(Device, ParsesKnownSpellings) {
  EXPECT_EQ(Device::parse("cpu").kind, DeviceKind::CPU);
  EXPECT_EQ(Device::parse("cuda").str(), "cuda:0");
  EXPECT_EQ(Device::parse("cuda:3").index, 3);
  EXPECT_THROW(Device::parse("gpu"), Error);
  EXPECT_THROW(Device::parse("cuda:x"), Error);
  EXPECT_THROW(Device::parse("cuda:"), Error);
}

TEST(Tensor, SliceAndView) {
  float data[12];
  Tensor t(data, DType::F32, {4, 3});
  EXPECT_EQ(t.rows(), 4);
  EXPECT_EQ(t.cols(), 3);
  Tensor s = t.slice_rows(1, 3);
  EXPECT_EQ(s.ptr<float>(), data + 3);
  EXPECT_EQ(s.numel(), 6);
  EXPECT_EQ(t.view({2, 6}).cols(), 6);
  EXPECT_THROW(t.view({5, 2}), Error);
  EXPECT_THROW(t.slice_rows(2, 5), Error);
}

TEST(DType, Bf16RoundTripsAndRoundsToNearestEven) {
  for (float f : {0.0f, 1.0f, -2.5f, 3.140625f, 1e-20f, 6.5e4f}) {
    EXPECT_EQ(bf16_to_f32(f32_to_bf16(bf16_to_f32(f32_to_bf16(f)))), bf16_to_f32(f32_to_bf16(f)));
  }
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even mantissa (1.0).
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
}

}  // namespace loupe
