// Properties of the antialiased bicubic resize that must hold for any size pair.
#include <gtest/gtest.h>

#include "image/resize.h"

namespace loupe::imaging {
namespace {

TEST(Resize, SameSizeIsACopy) {
  ByteBuffer src(5 * 4 * 3);
  for (size_t i = 0; i < src.size(); ++i) src[i] = uint8_t(i * 7);
  EXPECT_EQ(resize_bicubic_aa(src.data(), 4, 5, 3, 4, 5), src);
}

TEST(Resize, ConstantImageStaysConstant) {
  for (auto [ih, iw, oh, ow] : {std::array{7, 9, 32, 64}, std::array{300, 400, 96, 128},
                                std::array{33, 1000, 32, 32}, std::array{1, 1, 64, 32}}) {
    std::vector<uint8_t> src(size_t(ih) * iw * 3, 173);
    const auto out = resize_bicubic_aa(src.data(), ih, iw, 3, oh, ow);
    ASSERT_EQ(out.size(), size_t(oh) * ow * 3);
    for (uint8_t v : out) ASSERT_EQ(v, 173);
  }
}

TEST(Resize, FilterWeightsAreNormalisedInt16) {
  for (auto [in, out] : {std::pair{400, 96}, std::pair{20, 64}, std::pair{5000, 32}}) {
    const AxisFilter f = make_bicubic_aa_filter(in, out);
    EXPECT_GE(f.precision, 8);
    EXPECT_LE(f.precision, 22);
    for (int i = 0; i < out; ++i) {
      ASSERT_GE(f.start[i], 0);
      ASSERT_LE(f.start[i] + f.count[i], in);
      int64_t sum = 0;
      for (int j = 0; j < f.count[i]; ++j) sum += f.weights[size_t(i) * f.taps + j];
      // Rounded weights sum to 2^precision within a couple of units.
      EXPECT_NEAR(double(sum), double(1 << f.precision), double(f.count[i]));
    }
  }
}

}  // namespace
}  // namespace loupe::imaging
