// Qwen3-VL-Embedding and Qwen3-VL-Reranker through the public API against their reference
// code run by the golden kit (testdata/golden/embedding, tools/golden/make_embedding_golden.py):
// the prompt token ids, the pooled unit vector and the yes/no score, on tiny random
// checkpoints in the embedding layouts (tied like the 2B, no lm_head like the 8B).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../image/safetensors_reader.h"
#include "loupe/captioner.h"

using namespace loupe;
using loupe::testing::read_safetensors;

namespace {

std::string testdata() { return LOUPE_TESTDATA; }

// CTest runs this suite with "exact" (cpp/tests/CMakeLists.txt); the library default is "rounded".
std::string cpu_bf16_activations() {
  const char* mode = std::getenv("LOUPE_TEST_CPU_BF16_ACTIVATIONS");
  return mode && *mode ? mode : "rounded";
}
std::string golden() { return testdata() + "/golden/embedding"; }

nlohmann::json manifest() {
  std::ifstream in(golden() + "/manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<uint8_t> file_bytes(const std::string& repo_relative) {
  return loupe::testing::read_file(testdata() + "/../" + repo_relative);
}

std::unique_ptr<Captioner> open_model(const std::string& name) {
  CaptionerOptions o;
  o.engine.device = "cpu";
  o.engine.threads = 2;
  o.engine.kv_cache_bytes = 64u << 20;
  o.engine.cpu_bf16_activations = cpu_bf16_activations();
  return Captioner::open(testdata() + "/golden/models/" + name, o);
}

RetrievalInput input_of(const nlohmann::json& side) {
  RetrievalInput in;
  if (side.contains("images"))
    for (const auto& path : side["images"]) in.images.push_back(file_bytes(path.get<std::string>()));
  if (side.contains("image")) in.images.push_back(file_bytes(side["image"].get<std::string>()));
  if (side.contains("text") && side["text"].is_string()) in.text = side["text"].get<std::string>();
  return in;
}

EmbedRequest embed_request(const nlohmann::json& c) {
  EmbedRequest r;
  r.input = input_of(c);
  if (c["instruction"].is_string()) r.instruction = c["instruction"].get<std::string>();
  return r;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += double(a[i]) * b[i], na += double(a[i]) * a[i], nb += double(b[i]) * b[i];
  return dot / std::sqrt(na * nb);
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

}  // namespace

TEST(RetrievalGolden, EmbeddingsMatchTheReference) {
  const auto m = manifest();
  for (const std::string model : {"tiny-tied-embed", "tiny-untied-nohead"}) {
    auto captioner = open_model(model);
    const ModelCapabilities caps = captioner->capabilities();
    EXPECT_TRUE(caps.embedding_model) << model;
    EXPECT_EQ(caps.embedding_size, model == "tiny-tied-embed" ? 64 : 96);
    for (const auto& c : m["embedding_cases"]) {
      if (c["model"] != model) continue;
      const std::string name = c["name"];
      EmbedRequest request = embed_request(c);
      EXPECT_EQ(captioner->prompt_token_ids(request), c["input_ids"].get<std::vector<int32_t>>()) << model << " " << name;
      const CaptionResult r = captioner->embed(request);
      ASSERT_TRUE(r.ok()) << model << " " << name << ": " << r.error;
      EXPECT_EQ(r.finish_reason, FinishReason::Pooled);
      const auto want = read_safetensors(golden() + "/" + name + "." + model + ".safetensors");
      const std::vector<float> ref = want.at("embedding").as<float>();
      ASSERT_EQ(r.embedding.size(), ref.size());
      if (cpu_bf16_activations() == "exact") {
        EXPECT_GE(cosine(r.embedding, ref), 0.99999) << model << " " << name;
        EXPECT_LE(max_abs_diff(r.embedding, ref), 1e-5) << model << " " << name;
      } else {  // bf16-rounded activations: the reference model run in bf16 stays as close
        EXPECT_GE(cosine(r.embedding, ref), 0.999) << model << " " << name;
      }
    }
  }
}

TEST(RetrievalGolden, MatryoshkaDimensionsAreTheRenormalisedPrefix) {
  const auto m = manifest();
  auto captioner = open_model("tiny-untied-nohead");
  for (const auto& c : m["embedding_cases"]) {
    if (c["model"] != "tiny-untied-nohead" || c["name"] != "text_only") continue;
    const auto ref = read_safetensors(golden() + "/text_only.tiny-untied-nohead.safetensors").at("hidden").as<float>();
    EmbedRequest request = embed_request(c);
    request.dimensions = 64;
    const CaptionResult r = captioner->embed(request);
    ASSERT_TRUE(r.ok()) << r.error;
    ASSERT_EQ(r.embedding.size(), 64u);
    std::vector<float> prefix(ref.begin(), ref.begin() + 64);
    double norm = 0;
    for (float v : prefix) norm += double(v) * v;
    for (float& v : prefix) v = float(v / std::sqrt(norm));
    EXPECT_LE(max_abs_diff(r.embedding, prefix), cpu_bf16_activations() == "exact" ? 1e-5 : 1e-2);
    request.dimensions = 32;  // below the Matryoshka minimum
    EXPECT_FALSE(captioner->embed(request).ok());
  }
}

// The resize budget of an embedded image: the reference's 1800 merged tokens by default, the
// node's max_pixels as a ceiling on that default, and a request's own max_pixels above both.
TEST(RetrievalGolden, ImageResizeBudgetIsTheReferencesCappedByTheEngine) {
  const auto m = manifest();
  const nlohmann::json* image_case = nullptr;
  for (const auto& c : m["embedding_cases"])
    if (c["model"] == "tiny-tied-embed" && c["name"] == "two_images_text") image_case = &c;
  ASSERT_NE(image_case, nullptr);
  auto count_image_tokens = [](const std::vector<int32_t>& ids, int32_t image_token) {
    return std::count(ids.begin(), ids.end(), image_token);
  };
  auto captioner = open_model("tiny-tied-embed");
  std::ifstream config(testdata() + "/golden/models/tiny-tied-embed/config.json");
  const int32_t image_token = nlohmann::json::parse(config)["image_token_id"].get<int32_t>();
  EmbedRequest request = embed_request(*image_case);
  const auto reference = count_image_tokens(captioner->prompt_token_ids(request), image_token);
  EXPECT_EQ(reference, 266);  // the reference's grids (manifest image_grid_thw) / merge²
  request.max_pixels = 4 * 32 * 32;  // two images of at most 4 merged tokens each
  EXPECT_LE(count_image_tokens(captioner->prompt_token_ids(request), image_token), 8);

  CaptionerOptions o;
  o.engine.device = "cpu";
  o.engine.threads = 2;
  o.engine.kv_cache_bytes = 64u << 20;
  o.max_pixels = 4 * 32 * 32;
  auto capped = Captioner::open(testdata() + "/golden/models/tiny-tied-embed", o);
  request.max_pixels = 0;
  EXPECT_LE(count_image_tokens(capped->prompt_token_ids(request), image_token), 8);
  request.max_pixels = 64 * 32 * 32;  // the caller's bound, not the default's ceiling
  const auto asked = count_image_tokens(capped->prompt_token_ids(request), image_token);
  EXPECT_GT(asked, 8);
  EXPECT_LE(asked, 128);
}

TEST(RetrievalGolden, CheckpointWithoutOutputHeadRefusesToCaption) {
  auto captioner = open_model("tiny-untied-nohead");
  EXPECT_FALSE(captioner->capabilities().can_generate);
  EXPECT_FALSE(captioner->capabilities().can_score);
  CaptionRequest request;
  request.prompt = "hello";
  try {
    captioner->submit(request);
    FAIL() << "an embedding checkpoint captioned";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("embedding checkpoint"), std::string::npos) << e.what();
  }
}

TEST(RetrievalGolden, RerankerScoresMatchTheReference) {
  const auto m = manifest()["rerank"];
  auto captioner = open_model("tiny-reranker");
  ASSERT_TRUE(captioner->capabilities().can_score);
  for (const auto& c : m["cases"]) {
    const std::string name = c["name"];
    const RetrievalInput query = input_of(c["query"]);
    std::optional<std::string> instruction;
    if (c["instruction"].is_string()) instruction = c["instruction"].get<std::string>();
    std::vector<RetrievalInput> documents;
    for (const auto& pair : c["pairs"]) documents.push_back(input_of(pair["document"]));
    for (size_t i = 0; i < documents.size(); ++i) {
      ScoreRequest pair{query, documents[i], instruction, 0};
      const auto got = captioner->prompt_token_ids(pair);
      const auto want_ids = c["pairs"][i]["input_ids"].get<std::vector<int32_t>>();
      size_t first = 0;
      while (first < got.size() && first < want_ids.size() && got[first] == want_ids[first]) ++first;
      EXPECT_EQ(got, want_ids) << name << " pair " << i << ": first difference at " << first << " of "
                               << got.size() << " / " << want_ids.size();
    }
    const std::vector<CaptionResult> results = captioner->rerank(query, documents, instruction);
    ASSERT_EQ(results.size(), documents.size());
    for (size_t i = 0; i < results.size(); ++i) {
      ASSERT_TRUE(results[i].ok()) << name << " pair " << i << ": " << results[i].error;
      const double want = c["pairs"][i]["score"].get<double>();
      EXPECT_NEAR(results[i].score, want, cpu_bf16_activations() == "exact" ? 1e-5 : 2e-2)
          << name << " pair " << i;
    }
    // The query prefix is computed once: later pairs find it in the prefix cache.
    EXPECT_GT(results.back().cached_tokens, 0) << name;
  }
}
