#pragma once
// Minimal safetensors reader for test fixtures (F32 and I64 tensors only).
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace loupe::testing {

struct FixtureTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  template <class T> std::vector<T> as() const {
    std::vector<T> v(bytes.size() / sizeof(T));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
    return v;
  }
};

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::map<std::string, FixtureTensor> read_safetensors(const std::string& path) {
  const std::vector<uint8_t> file = read_file(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  const auto header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + header_len);
  std::map<std::string, FixtureTensor> out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    FixtureTensor t;
    t.dtype = info["dtype"];
    t.shape = info["shape"].get<std::vector<int64_t>>();
    const size_t begin = info["data_offsets"][0], end = info["data_offsets"][1];
    t.bytes.assign(file.begin() + 8 + header_len + begin, file.begin() + 8 + header_len + end);
    out[name] = std::move(t);
  }
  return out;
}

inline std::string testdata(const std::string& rel) { return std::string(LOUPE_TESTDATA) + "/" + rel; }

}  // namespace loupe::testing
