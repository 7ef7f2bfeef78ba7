// Broken copies of the tiny checkpoint (made in a temp dir at test time): a tensor removed,
// a shape changed, a truncated shard. Each is a one-line ModelLoad error naming the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "golden.h"
#include "model/qwen3_vl.h"
#include "model/weights.h"
#include "model_cache.h"
#include "st_writer.h"

namespace loupe::model::test {
namespace {

namespace fs = std::filesystem;

class BrokenCheckpoint : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loupe-broken-" + std::to_string(::getpid()) + "-" +
                                        testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::copy(golden_model_dir("tiny-untied"), dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The shard holding `tensor`, per the index.
  fs::path shard_of(const std::string& tensor) {
    auto index = nlohmann::json::parse(read_text_file(dir_ / "model.safetensors.index.json"));
    return dir_ / index["weight_map"][tensor].get<std::string>();
  }
  // Rewrites the shard holding `tensor` through `edit`.
  template <class Edit>
  void rewrite_shard(const std::string& tensor, Edit edit) {
    const fs::path shard = shard_of(tensor);
    std::vector<uint8_t> bytes = read_file(shard);
    std::vector<RawTensor> raw = to_raw(parse_safetensors(bytes.data(), bytes.size(), "x"));
    edit(raw);
    write_file(shard, encode_safetensors(raw));
  }
  std::string load_error() {
    try {
      Qwen3VLModel model(cpu_backend(), dir_);
      return "";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
      const std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      std::printf("load error: %s\n", msg.c_str());
      return msg;
    }
  }

  fs::path dir_;
};

const std::string kTensor = "model.language_model.layers.1.mlp.up_proj.weight";

TEST_F(BrokenCheckpoint, IntactCopyLoads) { EXPECT_EQ(load_error(), ""); }

TEST_F(BrokenCheckpoint, TensorRemovedFromShardAndIndex) {
  rewrite_shard(kTensor, [](std::vector<RawTensor>& raw) {
    std::erase_if(raw, [](const RawTensor& t) { return t.name == kTensor; });
  });
  auto index = nlohmann::json::parse(read_text_file(dir_ / "model.safetensors.index.json"));
  index["weight_map"].erase(kTensor);
  const std::string text = index.dump();
  write_file(dir_ / "model.safetensors.index.json", std::vector<uint8_t>(text.begin(), text.end()));
  const std::string msg = load_error();
  EXPECT_NE(msg.find("missing 1 tensor"), std::string::npos) << msg;
  EXPECT_NE(msg.find(kTensor), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, TensorRemovedFromShardOnly) {
  rewrite_shard(kTensor, [](std::vector<RawTensor>& raw) {
    std::erase_if(raw, [](const RawTensor& t) { return t.name == kTensor; });
  });
  const std::string msg = load_error();
  EXPECT_NE(msg.find(kTensor), std::string::npos) << msg;
  EXPECT_NE(msg.find("not in the shard"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, ShapeChanged) {
  rewrite_shard(kTensor, [](std::vector<RawTensor>& raw) {
    for (RawTensor& t : raw)
      if (t.name == kTensor) std::swap(t.shape[0], t.shape[1]);  // [F, D] -> [D, F], same bytes
  });
  const std::string msg = load_error();
  EXPECT_NE(msg.find("shape mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find(kTensor + " is ["), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected ["), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, TruncatedShard) {
  const fs::path shard = shard_of(kTensor);
  fs::resize_file(shard, fs::file_size(shard) - 100);
  const std::string msg = load_error();
  EXPECT_NE(msg.find(shard.filename().string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(BrokenCheckpoint, UnusedTensorsAreReportedByName) {
  rewrite_shard(kTensor, [](std::vector<RawTensor>& raw) {
    raw.push_back({"model.visual.extra_adapter.weight", "F32", {2}, std::vector<uint8_t>(8)});
  });
  auto index = nlohmann::json::parse(read_text_file(dir_ / "model.safetensors.index.json"));
  index["weight_map"]["model.visual.extra_adapter.weight"] = shard_of(kTensor).filename().string();
  const std::string text = index.dump();
  write_file(dir_ / "model.safetensors.index.json", std::vector<uint8_t>(text.begin(), text.end()));
  Qwen3VLModel model(cpu_backend(), dir_);
  EXPECT_EQ(model.unused_tensors(), std::vector<std::string>{"model.visual.extra_adapter.weight"});
}

TEST(TensorNames, AliasesMapToTheCanonicalNames) {
  EXPECT_EQ(canonical_tensor_name("model.visual.blocks.0.attn.qkv.weight"), "visual.blocks.0.attn.qkv.weight");
  EXPECT_EQ(canonical_tensor_name("visual.blocks.0.attn.qkv.weight"), "visual.blocks.0.attn.qkv.weight");
  EXPECT_EQ(canonical_tensor_name("model.language_model.norm.weight"), "text.norm.weight");
  EXPECT_EQ(canonical_tensor_name("model.norm.weight"), "text.norm.weight");
  EXPECT_EQ(canonical_tensor_name("model.layers.3.self_attn.rotary_emb.inv_freq"), "");
  EXPECT_EQ(canonical_tensor_name("lm_head.weight"), "lm_head.weight");
}

}  // namespace
}  // namespace loupe::model::test
