// The whole prompt path — chat template, placeholder expansion, tokenizer — gives exactly the
// input_ids HF's processor gave for every golden case (testdata/golden/manifest.json and each
// case's inputs.safetensors, made by the golden kit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

#include "testdata.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/prompt_encoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vision_placeholders.h"

namespace loupe {
namespace {

using test::read_json;

// Reads one int64 tensor from a safetensors file.
std::vector<int64_t> read_int64_tensor(const std::filesystem::path& file, const std::string& name) {
  const std::string bytes = test::read_text(file);
  uint64_t header_len = 0;
  if (bytes.size() < 8) throw std::runtime_error("short safetensors file " + file.string());
  std::memcpy(&header_len, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_len));
  const auto& entry = header.at(name);
  if (entry.at("dtype") != "I64") throw std::runtime_error(name + " is not int64");
  const size_t begin = entry.at("data_offsets")[0], end = entry.at("data_offsets")[1];
  std::vector<int64_t> out((end - begin) / 8);
  std::memcpy(out.data(), bytes.data() + 8 + header_len + begin, end - begin);
  return out;
}

std::vector<GridTHW> grids(const nlohmann::ordered_json& list) {
  std::vector<GridTHW> out;
  for (const auto& g : list) out.push_back({g[0].get<int64_t>(), g[1].get<int64_t>(), g[2].get<int64_t>()});
  return out;
}

TEST(GoldenPrompts, TemplateExpansionAndTokenizerGiveHFInputIds) {
  const auto golden = test::testdata() / "golden";
  const auto manifest = read_json(golden / "manifest.json");
  const auto model_dir = golden / manifest["models"]["tiny-tied"]["dir"].get<std::string>();
  const auto tokenizer = Tokenizer::from_file(model_dir / "tokenizer.json");
  const auto tmpl = ChatTemplate::from_model_dir(model_dir);
  const int temporal_patch_size = read_json(model_dir / "video_preprocessor_config.json")["temporal_patch_size"];
  const int merge_size = read_json(model_dir / "preprocessor_config.json")["merge_size"];

  ASSERT_GE(manifest["cases"].size(), 4u);
  for (const auto& c : manifest["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    nlohmann::ordered_json context = {{"messages", c["messages"]},
                                      {"add_generation_prompt", c["add_generation_prompt"]}};
    const std::string prompt = tmpl.render_context(context);
    EXPECT_EQ(prompt, c["prompt"].get<std::string>());

    std::vector<VideoPlaceholder> videos;
    for (const auto& grid : grids(c["video_grid_thw"])) {
      const auto& v = c["video"];
      videos.push_back({grid, video_group_timestamps(v["sampled_frame_indices"].get<std::vector<int64_t>>(),
                                                     v["fps"].get<double>(), temporal_patch_size)});
    }
    VisionTokens tokens;
    tokens.merge_size = merge_size;
    const std::string expanded = expand_vision_placeholders(prompt, grids(c["image_grid_thw"]), videos, tokens);
    const auto ids = tokenizer.encode(expanded);

    const auto expected = read_int64_tensor(golden / c["inputs"].get<std::string>(), "input_ids");
    ASSERT_EQ(ids.size(), expected.size());
    EXPECT_EQ(static_cast<int64_t>(ids.size()), c["num_tokens"].get<int64_t>());
    for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(ids[i], expected[i]) << "token " << i;
  }
}

TEST(GoldenPrompts, PromptEncoderGivesHFInputIds) {
  const auto golden = test::testdata() / "golden";
  const auto manifest = read_json(golden / "manifest.json");
  const auto encoder = PromptEncoder::from_model_dir(golden / manifest["models"]["tiny-tied"]["dir"].get<std::string>());
  const auto& special = manifest["models"]["tiny-tied"]["special_ids"];
  EXPECT_EQ(encoder.vision_ids().image_pad, special["image_token_id"].get<TokenId>());
  EXPECT_EQ(encoder.vision_ids().video_pad, special["video_token_id"].get<TokenId>());
  EXPECT_EQ(encoder.vision_ids().vision_start, special["vision_start_token_id"].get<TokenId>());
  EXPECT_EQ(encoder.vision_ids().vision_end, special["vision_end_token_id"].get<TokenId>());

  for (const auto& c : manifest["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::vector<VideoPlaceholder> videos;
    for (const auto& grid : grids(c["video_grid_thw"])) {
      videos.push_back({grid, encoder.video_timestamps(c["video"]["sampled_frame_indices"].get<std::vector<int64_t>>(),
                                                       c["video"]["fps"].get<double>())});
    }
    const nlohmann::ordered_json context = {{"messages", c["messages"]},
                                            {"add_generation_prompt", c["add_generation_prompt"]}};
    const auto ids = encoder.encode_context(context, grids(c["image_grid_thw"]), videos);
    const auto expected = read_int64_tensor(golden / c["inputs"].get<std::string>(), "input_ids");
    EXPECT_EQ(std::vector<int64_t>(ids.begin(), ids.end()), expected);
  }
}

TEST(GoldenPrompts, PlaceholderTokensTypedByTheUserAreRefused) {
  const auto encoder = PromptEncoder::from_model_dir(test::tiny_model());
  const std::vector<ChatMessage> messages = {
      {"user", {ChatContent::image(), ChatContent::make_text("look: <|image_pad|>")}}};
  try {
    encoder.encode(messages, {{1, 2, 2}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
  }
  const std::vector<ChatMessage> fine = {{"user", {ChatContent::image(), ChatContent::make_text("look")}}};
  const auto ids = encoder.encode(fine, {{1, 4, 4}});
  EXPECT_EQ(std::count(ids.begin(), ids.end(), encoder.vision_ids().image_pad), 4);
}

TEST(GoldenPrompts, MissingModelFilesAreModelLoadErrors) {
  try {
    PromptEncoder::from_model_dir(test::testdata() / "no-such-model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
  }
}

}  // namespace
}  // namespace loupe
