// Decode + Qwen3-VL preprocess timing for one image file at the default pixel budget.
//   bench_image <image> [iterations=10] [threads=0 (OpenMP default)] [max_pixels=16777216]
// Prints the median and best wall time of decode, preprocess and both, in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.h"
#include "loupe/image.h"

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <image> [iterations] [max_pixels]\n", argv[0]);
    return 2;
  }
  const int iterations = argc > 2 ? std::max(1, std::atoi(argv[2])) : 10;
  std::ifstream in(argv[1], std::ios::binary);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  loupe::VisionOptions options;  // Qwen3-VL defaults: 65536 .. 16777216 pixels
  if (argc > 3) options.max_pixels = std::atoll(argv[3]);
  try {
    std::vector<double> decode_ms, preprocess_ms, total_ms;
    loupe::VisionInput input;
    loupe::RgbImage image;
    for (int i = 0; i < iterations + 1; ++i) {  // first run warms caches and thread pools
      const auto t0 = std::chrono::steady_clock::now();
      image = loupe::decode_image(bytes);
      const double d = ms_since(t0);
      const auto t1 = std::chrono::steady_clock::now();
      input = loupe::preprocess_image(image, options);
      const double p = ms_since(t1);
      if (i == 0) continue;
      decode_ms.push_back(d);
      preprocess_ms.push_back(p);
      total_ms.push_back(d + p);
    }
    std::printf("image %dx%d -> resized %dx%d, grid %lldx%lldx%lld, %lld tokens\n", image.width,
                image.height, input.resized_width, input.resized_height, (long long)input.grid_thw.t,
                (long long)input.grid_thw.h, (long long)input.grid_thw.w, (long long)input.num_tokens);
    std::printf("loupe decode     median %8.2f ms  best %8.2f ms\n", median(decode_ms),
                *std::min_element(decode_ms.begin(), decode_ms.end()));
    std::printf("loupe preprocess median %8.2f ms  best %8.2f ms\n", median(preprocess_ms),
                *std::min_element(preprocess_ms.begin(), preprocess_ms.end()));
    std::printf("loupe total      median %8.2f ms  best %8.2f ms\n", median(total_ms),
                *std::min_element(total_ms.begin(), total_ms.end()));
  } catch (const loupe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
