#pragma once
// Reads the golden kit's processor outputs (testdata/golden/cases/<case>/inputs.safetensors)
// and HF's generated ids into engine Requests. A small self-contained safetensors reader:
// these are trusted repository fixtures, checked only for what the tests rely on.
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "loupe/engine.h"

namespace loupe::engine::testing {

struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  std::vector<int64_t> as_i64() const {
    LOUPE_CHECK(dtype == "I64", InvalidArgument, "tensor is ", dtype, ", not I64");
    std::vector<int64_t> out(bytes.size() / 8);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
  std::vector<float> as_f32() const {
    LOUPE_CHECK(dtype == "F32", InvalidArgument, "tensor is ", dtype, ", not F32");
    std::vector<float> out(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
  }
};

inline std::map<std::string, RawTensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LOUPE_CHECK(in.good(), InvalidArgument, "cannot open ", path);
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  std::string header(header_len, '\0');
  in.read(header.data(), std::streamsize(header_len));
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, RawTensor> out;
  const nlohmann::json parsed = nlohmann::json::parse(header);  // must outlive the loop
  for (auto& [name, info] : parsed.items()) {
    if (name == "__metadata__") continue;
    RawTensor t;
    t.dtype = info["dtype"];
    t.shape = info["shape"].get<std::vector<int64_t>>();
    auto offsets = info["data_offsets"].get<std::vector<size_t>>();
    LOUPE_CHECK(offsets[1] <= data.size(), InvalidArgument, path, ": tensor ", name, " out of range");
    t.bytes.assign(data.begin() + ptrdiff_t(offsets[0]), data.begin() + ptrdiff_t(offsets[1]));
    out.emplace(name, std::move(t));
  }
  return out;
}

inline std::string golden_dir() {
  const char* env = std::getenv("LOUPE_TESTDATA");
  return std::string(env ? env : LOUPE_TESTDATA) + "/golden";
}

// The case's prompt with its images/videos attached (preprocess_key names the case).
inline Request golden_request(const std::string& case_name) {
  auto inputs = read_safetensors(golden_dir() + "/cases/" + case_name + "/inputs.safetensors");
  Request r;
  for (int64_t id : inputs.at("input_ids").as_i64()) r.token_ids.push_back(int32_t(id));
  for (const char* kind : {"image", "video"}) {
    const std::string suffix = std::string(kind) == "image" ? "" : "_videos";
    auto grids = inputs.find(std::string(kind) + "_grid_thw");
    if (grids == inputs.end()) continue;
    const auto g = grids->second.as_i64();
    const auto pixels = inputs.at("pixel_values" + suffix).as_f32();
    const int64_t patch_dim = inputs.at("pixel_values" + suffix).shape[1];
    size_t row = 0;
    for (size_t k = 0; k + 2 < g.size(); k += 3) {
      VisualAttachment a;
      a.kind = std::string(kind) == "image" ? VisualKind::Image : VisualKind::Video;
      a.grid = {g[k], g[k + 1], g[k + 2]};
      const size_t rows = size_t(g[k] * g[k + 1] * g[k + 2]);
      a.pixel_values.assign(pixels.begin() + ptrdiff_t(row * size_t(patch_dim)),
                            pixels.begin() + ptrdiff_t((row + rows) * size_t(patch_dim)));
      a.preprocess_key = "golden:" + case_name;
      row += rows;
      r.visuals.push_back(std::move(a));
    }
  }
  return r;
}

inline std::vector<int32_t> golden_generated_ids(const std::string& case_name, const std::string& model) {
  auto stages = read_safetensors(golden_dir() + "/cases/" + case_name + "/" + model + ".safetensors");
  std::vector<int32_t> out;
  for (int64_t id : stages.at("generated_ids").as_i64()) out.push_back(int32_t(id));
  return out;
}

}  // namespace loupe::engine::testing
