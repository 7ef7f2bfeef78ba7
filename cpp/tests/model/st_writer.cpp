#include "st_writer.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace loupe::model::test {

std::vector<uint8_t> encode_safetensors(const std::vector<RawTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const RawTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  out.insert(out.end(), text.begin(), text.end());
  for (const RawTensor& t : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
  return out;
}

void write_file(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<RawTensor> to_raw(const std::vector<TensorEntry>& entries) {
  std::vector<RawTensor> out;
  for (const TensorEntry& e : entries) {
    const char* dtype = e.dtype == DType::BF16 ? "BF16" : e.dtype == DType::F16 ? "F16" : e.dtype == DType::F32 ? "F32"
                        : e.dtype == DType::I64 ? "I64" : "I32";
    out.push_back({e.name, dtype, e.shape, std::vector<uint8_t>(e.data, e.data + e.nbytes)});
  }
  return out;
}

}  // namespace loupe::model::test
