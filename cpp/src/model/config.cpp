#include "model/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace loupe::model {
namespace {

using nlohmann::json;

// A JSON object plus where it came from, so errors say "config.json: text_config.head_dim".
struct Node {
  const json& j;
  std::string file, prefix;

  std::string where(const std::string& key) const { return file + ": " + prefix + key; }
  bool has(const std::string& key) const { return j.contains(key) && !j.at(key).is_null(); }
  const json& at(const std::string& key) const {
    LOUPE_CHECK(has(key), ModelLoad, where(key), " is missing");
    return j.at(key);
  }
  Node child(const std::string& key) const {
    const json& c = at(key);
    LOUPE_CHECK(c.is_object(), ModelLoad, where(key), " must be an object");
    return Node{c, file, prefix + key + "."};
  }
  int64_t integer(const std::string& key) const {
    const json& v = at(key);
    LOUPE_CHECK(v.is_number_integer(), ModelLoad, where(key), " must be an integer, got ", v.dump());
    return v.get<int64_t>();
  }
  int64_t positive(const std::string& key) const {
    int64_t v = integer(key);
    LOUPE_CHECK(v > 0, ModelLoad, where(key), " must be positive, got ", v);
    return v;
  }
  double number(const std::string& key) const {
    const json& v = at(key);
    LOUPE_CHECK(v.is_number(), ModelLoad, where(key), " must be a number, got ", v.dump());
    return v.get<double>();
  }
  bool boolean(const std::string& key) const {
    const json& v = at(key);
    LOUPE_CHECK(v.is_boolean(), ModelLoad, where(key), " must be true or false, got ", v.dump());
    return v.get<bool>();
  }
  std::string string(const std::string& key) const {
    const json& v = at(key);
    LOUPE_CHECK(v.is_string(), ModelLoad, where(key), " must be a string, got ", v.dump());
    return v.get<std::string>();
  }
  std::vector<int64_t> ints(const std::string& key) const {
    const json& v = at(key);
    LOUPE_CHECK(v.is_array(), ModelLoad, where(key), " must be a list of integers");
    std::vector<int64_t> out;
    for (const json& e : v) {
      LOUPE_CHECK(e.is_number_integer(), ModelLoad, where(key), " must be a list of integers");
      out.push_back(e.get<int64_t>());
    }
    return out;
  }
};

json parse_json(const std::string& text, const std::string& file) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  LOUPE_CHECK(!j.is_discarded(), ModelLoad, file, ": not valid JSON");
  LOUPE_CHECK(j.is_object(), ModelLoad, file, ": top level must be a JSON object");
  return j;
}

TextConfig parse_text(const Node& n) {
  TextConfig t;
  t.vocab_size = n.positive("vocab_size");
  t.hidden_size = n.positive("hidden_size");
  t.intermediate_size = n.positive("intermediate_size");
  t.num_hidden_layers = n.positive("num_hidden_layers");
  t.num_attention_heads = n.positive("num_attention_heads");
  t.num_key_value_heads = n.positive("num_key_value_heads");
  t.head_dim = n.positive("head_dim");
  t.rms_norm_eps = n.number("rms_norm_eps");
  t.max_position_embeddings = n.positive("max_position_embeddings");
  t.hidden_act = n.string("hidden_act");
  LOUPE_CHECK(t.hidden_act == "silu", ModelLoad, n.where("hidden_act"), " must be \"silu\", got \"", t.hidden_act, "\"");
  LOUPE_CHECK(t.num_attention_heads % t.num_key_value_heads == 0, ModelLoad, n.where("num_attention_heads"),
              " (", t.num_attention_heads, ") must be a multiple of num_key_value_heads (", t.num_key_value_heads, ")");
  LOUPE_CHECK(t.head_dim % 2 == 0, ModelLoad, n.where("head_dim"), " must be even");
  LOUPE_CHECK(t.rms_norm_eps > 0, ModelLoad, n.where("rms_norm_eps"), " must be positive");
  if (n.has("attention_bias"))
    LOUPE_CHECK(!n.boolean("attention_bias"), ModelLoad, n.where("attention_bias"), " = true is not supported by Qwen3-VL");

  // 4.57 writes rope_scaling, v5 writes rope_parameters (which may also hold rope_theta).
  const char* rope_key = n.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  Node rope = n.child(rope_key);
  if (rope.has("rope_type")) {
    std::string type = rope.string("rope_type");
    LOUPE_CHECK(type == "default", ModelLoad, rope.where("rope_type"), " must be \"default\", got \"", type, "\"");
  }
  std::vector<int64_t> section = rope.ints("mrope_section");
  LOUPE_CHECK(section.size() == 3, ModelLoad, rope.where("mrope_section"), " must have 3 entries");
  int64_t sum = 0;
  for (int i = 0; i < 3; ++i) {
    LOUPE_CHECK(section[i] >= 0, ModelLoad, rope.where("mrope_section"), " entries must be >= 0");
    t.mrope_section[i] = section[i];
    sum += section[i];
  }
  LOUPE_CHECK(sum == t.head_dim / 2, ModelLoad, rope.where("mrope_section"), " sums to ", sum,
              " but head_dim/2 is ", t.head_dim / 2);
  // HF Qwen3-VL always interleaves; the flag is informational, but a false value means
  // the checkpoint expects a different model.
  if (rope.has("mrope_interleaved"))
    LOUPE_CHECK(rope.boolean("mrope_interleaved"), ModelLoad, rope.where("mrope_interleaved"),
                " = false (blocked M-RoPE) is not Qwen3-VL");
  t.rope_theta = n.has("rope_theta") ? n.number("rope_theta") : rope.number("rope_theta");
  LOUPE_CHECK(t.rope_theta > 0, ModelLoad, n.where("rope_theta"), " must be positive");
  return t;
}

VisionConfig parse_vision(const Node& n) {
  VisionConfig v;
  v.depth = n.positive("depth");
  v.hidden_size = n.positive("hidden_size");
  v.intermediate_size = n.positive("intermediate_size");
  v.num_heads = n.positive("num_heads");
  v.in_channels = n.positive("in_channels");
  v.patch_size = n.positive("patch_size");
  v.temporal_patch_size = n.positive("temporal_patch_size");
  v.spatial_merge_size = n.positive("spatial_merge_size");
  v.out_hidden_size = n.positive("out_hidden_size");
  v.num_position_embeddings = n.positive("num_position_embeddings");
  v.deepstack_visual_indexes = n.ints("deepstack_visual_indexes");
  v.hidden_act = n.string("hidden_act");
  // HF hard-codes the ViT rotary base 10000; v5 files also record it.
  if (n.has("rope_parameters")) {
    Node rope = n.child("rope_parameters");
    if (rope.has("rope_theta"))
      LOUPE_CHECK(rope.number("rope_theta") == 10000.0, ModelLoad, rope.where("rope_theta"),
                  " must be 10000 (the Qwen3-VL vision rotary base)");
  }
  LOUPE_CHECK(v.hidden_act == "gelu_pytorch_tanh", ModelLoad, n.where("hidden_act"),
              " must be \"gelu_pytorch_tanh\", got \"", v.hidden_act, "\"");
  LOUPE_CHECK(v.hidden_size % v.num_heads == 0, ModelLoad, n.where("hidden_size"), " (", v.hidden_size,
              ") must be a multiple of num_heads (", v.num_heads, ")");
  LOUPE_CHECK(v.head_dim() % 4 == 0, ModelLoad, n.where("num_heads"), ": vision head dim ", v.head_dim(),
              " must be a multiple of 4 for the 2-D rotary embedding");
  int64_t side = 0;
  while ((side + 1) * (side + 1) <= v.num_position_embeddings) ++side;
  LOUPE_CHECK(side * side == v.num_position_embeddings, ModelLoad, n.where("num_position_embeddings"),
              " (", v.num_position_embeddings, ") must be a perfect square");
  int64_t prev = -1;
  for (int64_t idx : v.deepstack_visual_indexes) {
    LOUPE_CHECK(idx > prev && idx < v.depth, ModelLoad, n.where("deepstack_visual_indexes"),
                " must be increasing block indices below depth ", v.depth);
    prev = idx;
  }
  return v;
}

}  // namespace

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LOUPE_CHECK(in.good(), ModelLoad, "cannot open ", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ModelConfig parse_model_config(const std::string& text, const std::string& file) {
  json j = parse_json(text, file);
  Node n{j, file, ""};
  ModelConfig c;
  if (n.has("architectures")) {
    const json& list = n.at("architectures");
    LOUPE_CHECK(list.is_array() && !list.empty() && list[0].is_string(), ModelLoad, n.where("architectures"),
                " must be a non-empty list of names");
    c.architecture = list[0].get<std::string>();
  }
  c.model_type = n.string("model_type");
  LOUPE_CHECK(c.model_type == "qwen3_vl", ModelLoad, n.where("model_type"), " is \"", c.model_type,
              "\"; only the dense \"qwen3_vl\" model is supported");
  c.image_token_id = int32_t(n.integer("image_token_id"));
  c.video_token_id = int32_t(n.integer("video_token_id"));
  c.vision_start_token_id = int32_t(n.integer("vision_start_token_id"));
  c.vision_end_token_id = int32_t(n.integer("vision_end_token_id"));
  // HF ties from the outer config; the copy inside text_config is not authoritative.
  c.tie_word_embeddings = n.boolean("tie_word_embeddings");
  c.text = parse_text(n.child("text_config"));
  // Informational only (weights carry their own dtype). The released Qwen3-VL configs
  // (transformers 4.57) declare it inside text_config only; v5 writes it at the top.
  for (const Node& where : {n, n.child("text_config")})
    for (const char* key : {"dtype", "torch_dtype"})
      if (c.dtype.empty() && where.has(key)) c.dtype = where.string(key);
  c.vision = parse_vision(n.child("vision_config"));
  LOUPE_CHECK(c.vision.out_hidden_size == c.text.hidden_size, ModelLoad, file,
              ": vision_config.out_hidden_size (", c.vision.out_hidden_size, ") must equal text_config.hidden_size (",
              c.text.hidden_size, ")");
  LOUPE_CHECK(int64_t(c.vision.deepstack_visual_indexes.size()) <= c.text.num_hidden_layers, ModelLoad, file,
              ": more deepstack levels than text layers");
  for (int32_t id : {c.image_token_id, c.video_token_id, c.vision_start_token_id, c.vision_end_token_id})
    LOUPE_CHECK(id >= 0 && id < c.text.vocab_size, ModelLoad, file, ": special token id ", id,
                " is outside text_config.vocab_size ", c.text.vocab_size);
  return c;
}

GenerationConfig parse_generation_config(const std::string& text, const std::string& file) {
  json j = parse_json(text, file);
  Node n{j, file, ""};
  GenerationConfig g;
  const json& eos = n.at("eos_token_id");
  if (eos.is_array()) {
    for (int64_t id : n.ints("eos_token_id")) g.eos_token_ids.push_back(int32_t(id));
  } else {
    g.eos_token_ids.push_back(int32_t(n.integer("eos_token_id")));
  }
  // Sampling keys are optional in HF: absent means the GenerationConfig default.
  if (n.has("bos_token_id")) g.bos_token_id = int32_t(n.integer("bos_token_id"));
  if (n.has("pad_token_id")) g.pad_token_id = int32_t(n.integer("pad_token_id"));
  if (n.has("do_sample")) g.do_sample = n.boolean("do_sample");
  if (n.has("temperature")) g.temperature = n.number("temperature");
  if (n.has("top_p")) g.top_p = n.number("top_p");
  if (n.has("top_k")) g.top_k = n.integer("top_k");
  if (n.has("repetition_penalty")) g.repetition_penalty = n.number("repetition_penalty");
  return g;
}

PreprocessorConfig parse_preprocessor_config(const std::string& text, const std::string& file) {
  json j = parse_json(text, file);
  Node n{j, file, ""};
  PreprocessorConfig p;
  Node size = n.child("size");
  p.min_pixels = size.positive("shortest_edge");
  p.max_pixels = size.positive("longest_edge");
  LOUPE_CHECK(p.min_pixels <= p.max_pixels, ModelLoad, file, ": size.shortest_edge (min pixels) exceeds size.longest_edge");
  p.patch_size = n.positive("patch_size");
  p.temporal_patch_size = n.positive("temporal_patch_size");
  p.merge_size = n.positive("merge_size");
  for (const char* key : {"image_mean", "image_std"}) {
    const json& v = n.at(key);
    LOUPE_CHECK(v.is_array() && v.size() == 3, ModelLoad, n.where(key), " must be a list of 3 numbers");
    for (int i = 0; i < 3; ++i) {
      LOUPE_CHECK(v[i].is_number(), ModelLoad, n.where(key), " must be a list of 3 numbers");
      (key[6] == 'm' ? p.image_mean : p.image_std)[i] = v[i].get<double>();
    }
  }
  for (double s : p.image_std) LOUPE_CHECK(s > 0, ModelLoad, n.where("image_std"), " entries must be positive");
  if (n.has("rescale_factor")) p.rescale_factor = n.number("rescale_factor");
  return p;
}

ModelConfig load_model_config(const std::filesystem::path& dir) {
  return parse_model_config(read_text_file(dir / "config.json"), (dir / "config.json").string());
}
GenerationConfig load_generation_config(const std::filesystem::path& dir) {
  return parse_generation_config(read_text_file(dir / "generation_config.json"),
                                 (dir / "generation_config.json").string());
}
PreprocessorConfig load_preprocessor_config(const std::filesystem::path& dir) {
  return parse_preprocessor_config(read_text_file(dir / "preprocessor_config.json"),
                                   (dir / "preprocessor_config.json").string());
}

SentencePooling load_sentence_pooling(const std::filesystem::path& dir) {
  SentencePooling pooling;
  const auto modules_file = dir / "modules.json";
  if (!std::filesystem::exists(modules_file)) return pooling;
  json modules = json::parse(read_text_file(modules_file), nullptr, /*allow_exceptions=*/false);
  LOUPE_CHECK(modules.is_array(), ModelLoad, modules_file.string(), ": must be a JSON list of modules");
  std::string pooling_path;
  for (const json& m : modules) {
    LOUPE_CHECK(m.is_object() && m.value("type", json()).is_string(), ModelLoad, modules_file.string(),
                ": every module needs a \"type\"");
    const std::string type = m["type"].get<std::string>();
    if (type == "sentence_transformers.models.Pooling") {
      pooling.present = true;
      pooling_path = m.value("path", json()).is_string() ? m["path"].get<std::string>() : "";
    }
    if (type == "sentence_transformers.models.Normalize") pooling.normalize = true;
  }
  if (!pooling.present) return pooling;
  const auto config_file = dir / pooling_path / "config.json";
  json config = parse_json(read_text_file(config_file), config_file.string());
  for (const auto& [key, value] : config.items())
    if (key.rfind("pooling_mode_", 0) == 0 && value.is_boolean() && value.get<bool>()) {
      LOUPE_CHECK(pooling.mode.empty(), ModelLoad, config_file.string(), ": more than one pooling mode is set");
      pooling.mode = key.substr(std::string("pooling_mode_").size());
    }
  LOUPE_CHECK(!pooling.mode.empty(), ModelLoad, config_file.string(), ": no pooling_mode_* is true");
  return pooling;
}

}  // namespace loupe::model
