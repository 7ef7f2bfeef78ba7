// config.json / generation_config.json / preprocessor_config.json parsing: real files
// parse, every missing or inconsistent key is an error naming the key and file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "golden.h"
#include "model/config.h"

namespace loupe::model::test {
namespace {

using nlohmann::json;

json tiny_config() { return json::parse(read_text_file(golden_dir() / "models/tiny-tied/config.json")); }

std::string config_error(const json& j) {
  try {
    parse_model_config(j.dump(), "config.json");
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
    return e.what();
  }
}

TEST(Config, ParsesTheGoldenCheckpoints) {
  ModelConfig c = load_model_config(golden_dir() / "models/tiny-tied");
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.text.head_dim, 32);
  EXPECT_EQ(c.text.mrope_section, (std::array<int64_t, 3>{6, 5, 5}));
  EXPECT_EQ(c.text.rope_theta, 5e6);
  EXPECT_EQ(c.vision.deepstack_visual_indexes, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(c.image_token_id, 2060);
  EXPECT_FALSE(load_model_config(golden_dir() / "models/tiny-untied").tie_word_embeddings);
}

TEST(Config, AcceptsThe457RopeScalingSpelling) {
  json j = tiny_config();
  json rope = j["text_config"]["rope_parameters"];
  j["text_config"].erase("rope_parameters");
  j["text_config"]["rope_theta"] = rope["rope_theta"];
  rope.erase("rope_theta");
  j["text_config"]["rope_scaling"] = rope;
  j.erase("dtype");
  j["torch_dtype"] = "bfloat16";
  ModelConfig c = parse_model_config(j.dump());
  EXPECT_EQ(c.text.rope_theta, 5e6);
  EXPECT_EQ(c.text.mrope_section[0], 6);
  EXPECT_EQ(c.dtype, "bfloat16");
}

TEST(Config, ParsesTheReleased2BConfigAsPublished) {
  // Qwen/Qwen3-VL-2B-Instruct's config.json (transformers 4.57): rope_scaling spelling and a
  // dtype declared only inside text_config. The loader must take it unchanged.
  ModelConfig c = load_model_config(golden_dir().parent_path() / "skeleton/qwen3-vl-2b");
  EXPECT_EQ(c.architecture, "Qwen3VLForConditionalGeneration");
  EXPECT_EQ(c.dtype, "bfloat16");
  EXPECT_EQ(c.text.hidden_size, 2048);
  EXPECT_EQ(c.text.num_hidden_layers, 28);
  EXPECT_EQ(c.text.mrope_section, (std::array<int64_t, 3>{24, 20, 20}));
  EXPECT_EQ(c.vision.deepstack_visual_indexes, (std::vector<int64_t>{5, 11, 17}));
  EXPECT_EQ(c.image_token_id, 151655);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(Config, MissingKeysAreNamed) {
  for (const char* path : {"/text_config/head_dim", "/text_config/num_key_value_heads", "/vision_config/out_hidden_size",
                           "/vision_config/deepstack_visual_indexes", "/tie_word_embeddings", "/image_token_id",
                           "/text_config/rope_parameters/mrope_section"}) {
    json j = tiny_config();
    const json::json_pointer ptr(path);
    j[ptr.parent_pointer()].erase(ptr.back());
    const std::string msg = config_error(j);
    std::string dotted = std::string(path).substr(1);
    std::replace(dotted.begin(), dotted.end(), '/', '.');
    EXPECT_NE(msg.find("config.json: " + dotted + " is missing"), std::string::npos) << path << ": " << msg;
  }
}

TEST(Config, InconsistentValuesAreErrors) {
  json j = tiny_config();
  j["text_config"]["rope_parameters"]["mrope_section"] = {6, 5, 4};
  EXPECT_NE(config_error(j).find("mrope_section sums to 15 but head_dim/2 is 16"), std::string::npos);
  j = tiny_config();
  j["text_config"]["rope_parameters"]["mrope_interleaved"] = false;
  EXPECT_NE(config_error(j).find("mrope_interleaved"), std::string::npos);
  j = tiny_config();
  j["vision_config"]["out_hidden_size"] = 32;
  EXPECT_NE(config_error(j).find("out_hidden_size"), std::string::npos);
  j = tiny_config();
  j["text_config"]["num_key_value_heads"] = 3;
  EXPECT_NE(config_error(j).find("multiple of num_key_value_heads"), std::string::npos);
  j = tiny_config();
  j["vision_config"]["deepstack_visual_indexes"] = {1, 9};
  EXPECT_NE(config_error(j).find("deepstack_visual_indexes"), std::string::npos);
  j = tiny_config();
  j["text_config"]["head_dim"] = "32";
  EXPECT_NE(config_error(j).find("text_config.head_dim must be an integer"), std::string::npos);
  j = tiny_config();
  j["model_type"] = "qwen3_vl_moe";
  EXPECT_NE(config_error(j).find("model_type"), std::string::npos);
  EXPECT_NE(config_error(json::array()).find("top level"), std::string::npos);
  try {
    parse_model_config("{not json", "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
  }
}

TEST(Config, GenerationAndPreprocessorConfigs) {
  GenerationConfig g = load_generation_config(golden_dir() / "models/tiny-tied");
  EXPECT_FALSE(g.eos_token_ids.empty());
  PreprocessorConfig p = load_preprocessor_config(golden_dir() / "models/tiny-tied");
  EXPECT_EQ(p.patch_size, 16);
  EXPECT_EQ(p.merge_size, 2);
  EXPECT_GT(p.max_pixels, p.min_pixels);
  GenerationConfig list = parse_generation_config(R"({"eos_token_id": [151645, 151643], "top_k": 20})");
  EXPECT_EQ(list.eos_token_ids, (std::vector<int32_t>{151645, 151643}));
  EXPECT_EQ(list.top_k, 20);
  EXPECT_THROW(parse_generation_config(R"({"top_k": 20})"), Error);
  EXPECT_THROW(parse_preprocessor_config(R"({"size": {"shortest_edge": 10}})"), Error);
}

}  // namespace
}  // namespace loupe::model::test
