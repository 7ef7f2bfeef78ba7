#include "golden.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loupe::model::test {

std::filesystem::path testdata() {
  const char* env = std::getenv("LOUPE_TESTDATA");
  return env ? std::filesystem::path(env) : std::filesystem::path(LOUPE_TESTDATA);
}
std::filesystem::path golden_dir() { return testdata() / "golden"; }

TensorFile::TensorFile(const std::filesystem::path& path)
    : ck_(std::make_shared<Checkpoint>(Checkpoint::open(path))) {}

const TensorEntry& TensorFile::entry(const std::string& name) const {
  const TensorEntry* e = ck_->find(name);
  LOUPE_CHECK(e != nullptr, Internal, "golden tensor '", name, "' not found");
  return *e;
}

std::vector<float> TensorFile::f32(const std::string& name) const {
  const TensorEntry& e = entry(name);
  LOUPE_CHECK(e.dtype == DType::F32, Internal, "golden tensor '", name, "' is not F32");
  std::vector<float> out(e.numel());
  std::memcpy(out.data(), e.data, e.nbytes);
  return out;
}

std::vector<int64_t> TensorFile::i64(const std::string& name) const {
  const TensorEntry& e = entry(name);
  LOUPE_CHECK(e.dtype == DType::I64, Internal, "golden tensor '", name, "' is not I64");
  std::vector<int64_t> out(e.numel());
  std::memcpy(out.data(), e.data, e.nbytes);
  return out;
}

std::vector<int32_t> TensorFile::i32(const std::string& name) const {
  std::vector<int32_t> out;
  for (int64_t v : i64(name)) {
    LOUPE_CHECK(v >= INT32_MIN && v <= INT32_MAX, Internal, "golden value out of int32 range");
    out.push_back(int32_t(v));
  }
  return out;
}

std::vector<GridTHW> TensorFile::grids(const std::string& name) const {
  std::vector<GridTHW> out;
  if (!has(name)) return out;
  std::vector<int64_t> v = i64(name);
  for (size_t i = 0; i + 2 < v.size(); i += 3) out.push_back({v[i], v[i + 1], v[i + 2]});
  return out;
}

GoldenCase load_case(const std::string& name) {
  GoldenCase c;
  c.name = name;
  c.inputs = std::make_unique<TensorFile>(golden_dir() / "cases" / name / "inputs.safetensors");
  c.image_grids = c.inputs->grids("image_grid_thw");
  c.video_grids = c.inputs->grids("video_grid_thw");
  c.input_ids = c.inputs->i32("input_ids");
  return c;
}

static nlohmann::json manifest() {
  return nlohmann::json::parse(read_text_file(golden_dir() / "manifest.json"));
}

std::vector<std::string> case_names() {
  std::vector<std::string> out;
  const nlohmann::json m = manifest();
  for (const auto& c : m["cases"]) out.push_back(c["name"].get<std::string>());
  return out;
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  const nlohmann::json m = manifest();
  for (const auto& [name, model] : m["models"].items()) out.push_back(name);
  return out;
}

double relative_max_error(const std::vector<float>& a, const std::vector<float>& b) {
  LOUPE_CHECK(a.size() == b.size(), Internal, "compare: ", a.size(), " vs ", b.size(), " values");
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(double(b[i])));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

}  // namespace loupe::model::test
