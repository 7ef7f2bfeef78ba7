#pragma once
// Writes small safetensors files for loader tests (hostile and broken checkpoints).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/safetensors.h"

namespace loupe::model::test {

struct RawTensor {
  std::string name, dtype;  // "F32", "BF16", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> encode_safetensors(const std::vector<RawTensor>& tensors);
void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_file(const std::filesystem::path& path);
// Every tensor of a parsed file as RawTensor (to rewrite it with changes).
std::vector<RawTensor> to_raw(const std::vector<TensorEntry>& entries);

}  // namespace loupe::model::test
