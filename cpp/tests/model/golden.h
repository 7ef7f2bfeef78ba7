#pragma once
// Reading the committed golden cases (testdata/golden, made by HF transformers in fp32)
// and comparing against them.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/safetensors.h"

namespace loupe::model::test {

std::filesystem::path testdata();
std::filesystem::path golden_dir();

// One safetensors file kept mapped, with typed accessors.
class TensorFile {
 public:
  explicit TensorFile(const std::filesystem::path& path);
  bool has(const std::string& name) const { return ck_->find(name) != nullptr; }
  const TensorEntry& entry(const std::string& name) const;
  std::vector<float> f32(const std::string& name) const;
  std::vector<int64_t> i64(const std::string& name) const;
  std::vector<int32_t> i32(const std::string& name) const;  // from I64, range-checked
  std::vector<GridTHW> grids(const std::string& name) const;  // [n, 3] -> grids ([] if absent)

 private:
  std::shared_ptr<Checkpoint> ck_;
};

struct GoldenCase {
  std::string name;
  std::unique_ptr<TensorFile> inputs;
  std::vector<GridTHW> image_grids, video_grids;
  std::vector<int32_t> input_ids;
};
GoldenCase load_case(const std::string& name);
std::vector<std::string> case_names();
std::vector<std::string> model_names();

// max|a - b| / max|b|.
double relative_max_error(const std::vector<float>& actual, const std::vector<float>& reference);

}  // namespace loupe::model::test
