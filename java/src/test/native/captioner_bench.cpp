// The C++ side of the JNI overhead measurement (see dev.loupe.bench.JniOverhead): the same
// sequential requests through loupe::Captioner directly. Build against libloupe:
//   g++ -O2 -std=c++20 -Icpp/include java/src/test/native/captioner_bench.cpp \
//       -Lbuild/java-api/src/api -lloupe -Wl,-rpath,build/java-api/src/api -o /tmp/captioner_bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "loupe/captioner.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE [requests] [max_new_tokens]\n", argv[0]);
    return 2;
  }
  const int requests = argc > 3 ? std::stoi(argv[3]) : 200;
  const int max_new = argc > 4 ? std::stoi(argv[4]) : 8;
  std::ifstream file(argv[2], std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  loupe::CaptionerOptions options;
  options.engine.threads = 1;
  options.engine.prefix_cache = false;
  options.min_pixels = 4096;
  options.max_pixels = 40960;
  auto captioner = loupe::Captioner::open(argv[1], options);
  auto sampling = captioner->default_sampling();
  sampling.temperature = 0;
  sampling.max_new_tokens = max_new;
  auto request = [&] {
    loupe::CaptionRequest r;
    r.images.push_back(bytes);
    r.prompt = "Describe this image.";
    r.sampling = sampling;
    return r;
  };
  for (int i = 0; i < 20; ++i) captioner->caption(request());
  std::vector<double> wall;
  for (int i = 0; i < requests; ++i) {
    auto r = request();  // copying the image bytes is part of the Java path too
    const auto start = std::chrono::steady_clock::now();
    captioner->caption(std::move(r));
    wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(wall.begin(), wall.end());
  std::printf("c++ path: median %.3f ms/request, p90 %.3f ms (%d requests, %d new tokens)\n", wall[requests / 2],
              wall[requests * 9 / 10], requests, max_new);
}
