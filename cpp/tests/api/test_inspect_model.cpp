#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "loupe/loupe.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSkeleton2B = fs::path(LOUPE_TESTDATA) / "skeleton" / "qwen3-vl-2b";

json load_fixture() {
  std::ifstream in(kSkeleton2B / "config.json");
  return json::parse(in);
}

// A scratch model directory holding a config.json with the given contents.
class ScratchModelDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("loupe-test-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write_config(const std::string& text) { std::ofstream(dir_ / "config.json") << text; }

  // Expects inspect_model to fail with ModelLoad and a message containing `needle`.
  void expect_model_load_error(const std::string& needle) {
    try {
      loupe::inspect_model(dir_.string());
      FAIL() << "expected loupe::Error mentioning " << needle;
    } catch (const loupe::Error& e) {
      EXPECT_EQ(e.kind(), loupe::ErrorKind::ModelLoad);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }

  fs::path dir_;
};

TEST(InspectModel, ReadsQwen3VL2BFacts) {
  const loupe::ModelInfo info = loupe::inspect_model(kSkeleton2B.string());
  EXPECT_EQ(info.architecture, "Qwen3VLForConditionalGeneration");
  EXPECT_EQ(info.model_type, "qwen3_vl");
  EXPECT_EQ(info.text_hidden_size, 2048);
  EXPECT_EQ(info.text_layers, 28);
  EXPECT_EQ(info.text_heads, 16);
  EXPECT_EQ(info.text_kv_heads, 8);
  EXPECT_EQ(info.text_head_dim, 128);
  EXPECT_EQ(info.vocab_size, 151936);
  EXPECT_EQ(info.vision_depth, 24);
  EXPECT_EQ(info.vision_hidden_size, 1024);
  EXPECT_EQ(info.deepstack_layers, 3);
  EXPECT_TRUE(info.tie_word_embeddings);
}

TEST_F(ScratchModelDir, MissingConfigNamesTheFile) { expect_model_load_error("config.json"); }

TEST_F(ScratchModelDir, MissingDirectoryNamesTheFile) {
  fs::remove_all(dir_);
  expect_model_load_error("cannot open");
}

TEST_F(ScratchModelDir, InvalidJsonIsModelLoad) {
  write_config("{\"architectures\": [");
  expect_model_load_error("not valid JSON");
}

TEST_F(ScratchModelDir, MissingNestedKeyIsNamed) {
  json config = load_fixture();
  config["text_config"].erase("head_dim");
  write_config(config.dump());
  expect_model_load_error("text_config.head_dim");
}

TEST_F(ScratchModelDir, MissingTopLevelTieIsNamed) {
  json config = load_fixture();
  config.erase("tie_word_embeddings");
  write_config(config.dump());
  expect_model_load_error("config.json: tie_word_embeddings is missing");
}

TEST_F(ScratchModelDir, WrongTypeIsNamed) {
  json config = load_fixture();
  config["vision_config"]["depth"] = "24";
  write_config(config.dump());
  expect_model_load_error("vision_config.depth");
}

TEST_F(ScratchModelDir, AnotherModelIsRefusedAsTheLoaderWould) {
  json config = load_fixture();
  config["model_type"] = "qwen3_vl_moe";
  write_config(config.dump());
  expect_model_load_error("only the dense \"qwen3_vl\" model is supported");
}

TEST_F(ScratchModelDir, UntiedEmbeddingsAreReported) {
  json config = load_fixture();
  config["tie_word_embeddings"] = false;
  write_config(config.dump());
  EXPECT_FALSE(loupe::inspect_model(dir_.string()).tie_word_embeddings);
}

}  // namespace
