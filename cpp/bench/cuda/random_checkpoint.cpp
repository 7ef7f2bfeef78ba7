#include "random_checkpoint.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace loupe::bench {
namespace {

struct Sizes {
  int64_t hidden, layers, heads, kv_heads, inter;
  bool tie;
  int64_t v_depth, v_hidden, v_inter;
  std::vector<int64_t> deepstack;
};

Sizes sizes_for(const std::string& size) {
  // The released Instruct config.json values (spec section 1.4).
  if (size == "2b") return {2048, 28, 16, 8, 6144, true, 24, 1024, 4096, {5, 11, 17}};
  if (size == "8b") return {4096, 36, 32, 8, 12288, false, 27, 1152, 4304, {8, 16, 24}};
  LOUPE_FAIL(InvalidArgument, "random checkpoint size must be 2b or 8b, got '", size, "'");
}

constexpr int64_t kVocab = 151936, kHeadDim = 128, kPatchDim = 3 * 2 * 16 * 16, kPositions = 2304;

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

std::vector<Spec> tensor_specs(const Sizes& s) {
  std::vector<Spec> t;
  const std::string v = "model.visual.";
  t.push_back({v + "patch_embed.proj.weight", {s.v_hidden, 3, 2, 16, 16}});
  t.push_back({v + "patch_embed.proj.bias", {s.v_hidden}});
  t.push_back({v + "pos_embed.weight", {kPositions, s.v_hidden}});
  for (int64_t b = 0; b < s.v_depth; ++b) {
    const std::string p = v + "blocks." + std::to_string(b) + ".";
    t.push_back({p + "norm1.weight", {s.v_hidden}});
    t.push_back({p + "norm1.bias", {s.v_hidden}});
    t.push_back({p + "attn.qkv.weight", {3 * s.v_hidden, s.v_hidden}});
    t.push_back({p + "attn.qkv.bias", {3 * s.v_hidden}});
    t.push_back({p + "attn.proj.weight", {s.v_hidden, s.v_hidden}});
    t.push_back({p + "attn.proj.bias", {s.v_hidden}});
    t.push_back({p + "norm2.weight", {s.v_hidden}});
    t.push_back({p + "norm2.bias", {s.v_hidden}});
    t.push_back({p + "mlp.linear_fc1.weight", {s.v_inter, s.v_hidden}});
    t.push_back({p + "mlp.linear_fc1.bias", {s.v_inter}});
    t.push_back({p + "mlp.linear_fc2.weight", {s.v_hidden, s.v_inter}});
    t.push_back({p + "mlp.linear_fc2.bias", {s.v_hidden}});
  }
  const int64_t merged = 4 * s.v_hidden;
  auto merger = [&](const std::string& p, int64_t norm_dim) {
    t.push_back({p + "norm.weight", {norm_dim}});
    t.push_back({p + "norm.bias", {norm_dim}});
    t.push_back({p + "linear_fc1.weight", {merged, merged}});
    t.push_back({p + "linear_fc1.bias", {merged}});
    t.push_back({p + "linear_fc2.weight", {s.hidden, merged}});
    t.push_back({p + "linear_fc2.bias", {s.hidden}});
  };
  merger(v + "merger.", s.v_hidden);
  for (size_t i = 0; i < s.deepstack.size(); ++i) merger(v + "deepstack_merger_list." + std::to_string(i) + ".", merged);

  const std::string l = "model.language_model.";
  t.push_back({l + "embed_tokens.weight", {kVocab, s.hidden}});
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = l + "layers." + std::to_string(i) + ".";
    t.push_back({p + "input_layernorm.weight", {s.hidden}});
    t.push_back({p + "self_attn.q_proj.weight", {s.heads * kHeadDim, s.hidden}});
    t.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * kHeadDim, s.hidden}});
    t.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * kHeadDim, s.hidden}});
    t.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * kHeadDim}});
    t.push_back({p + "self_attn.q_norm.weight", {kHeadDim}});
    t.push_back({p + "self_attn.k_norm.weight", {kHeadDim}});
    t.push_back({p + "post_attention_layernorm.weight", {s.hidden}});
    t.push_back({p + "mlp.gate_proj.weight", {s.inter, s.hidden}});
    t.push_back({p + "mlp.up_proj.weight", {s.inter, s.hidden}});
    t.push_back({p + "mlp.down_proj.weight", {s.hidden, s.inter}});
  }
  t.push_back({l + "norm.weight", {s.hidden}});
  if (!s.tie) t.push_back({"lm_head.weight", {kVocab, s.hidden}});
  return t;
}

std::string config_json(const Sizes& s) {
  std::ostringstream ds;
  for (size_t i = 0; i < s.deepstack.size(); ++i) ds << (i ? ", " : "") << s.deepstack[i];
  const char* tie = s.tie ? "true" : "false";
  std::ostringstream o;
  o << "{\n  \"architectures\": [\"Qwen3VLForConditionalGeneration\"],\n  \"model_type\": \"qwen3_vl\",\n"
    << "  \"dtype\": \"bfloat16\",\n  \"image_token_id\": 151655,\n  \"video_token_id\": 151656,\n"
    << "  \"vision_start_token_id\": 151652,\n  \"vision_end_token_id\": 151653,\n"
    << "  \"tie_word_embeddings\": " << tie << ",\n"
    << "  \"text_config\": {\n    \"model_type\": \"qwen3_vl_text\", \"dtype\": \"bfloat16\",\n"
    << "    \"vocab_size\": " << kVocab << ", \"hidden_size\": " << s.hidden << ", \"intermediate_size\": " << s.inter
    << ",\n    \"num_hidden_layers\": " << s.layers << ", \"num_attention_heads\": " << s.heads
    << ", \"num_key_value_heads\": " << s.kv_heads << ", \"head_dim\": " << kHeadDim << ",\n"
    << "    \"hidden_act\": \"silu\", \"rms_norm_eps\": 1e-06, \"attention_bias\": false, \"attention_dropout\": 0.0,\n"
    << "    \"max_position_embeddings\": 262144, \"bos_token_id\": 151643, \"eos_token_id\": 151645,\n"
    << "    \"tie_word_embeddings\": " << tie << ",\n"
    << "    \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 5000000.0, "
       "\"mrope_section\": [24, 20, 20], \"mrope_interleaved\": true}\n  },\n"
    << "  \"vision_config\": {\n    \"model_type\": \"qwen3_vl_vision\", \"depth\": " << s.v_depth
    << ", \"hidden_size\": " << s.v_hidden << ", \"intermediate_size\": " << s.v_inter << ",\n"
    << "    \"num_heads\": 16, \"hidden_act\": \"gelu_pytorch_tanh\", \"in_channels\": 3, \"patch_size\": 16,\n"
    << "    \"temporal_patch_size\": 2, \"spatial_merge_size\": 2, \"out_hidden_size\": " << s.hidden << ",\n"
    << "    \"num_position_embeddings\": " << kPositions << ", \"deepstack_visual_indexes\": [" << ds.str() << "],\n"
    << "    \"rope_parameters\": {\"rope_type\": \"axial\", \"rope_theta\": 10000.0}\n  }\n}\n";
  return o.str();
}

const char* kGenerationConfig =
    "{\n  \"bos_token_id\": 151643, \"pad_token_id\": 151643, \"eos_token_id\": [151645, 151643],\n"
    "  \"do_sample\": true, \"temperature\": 0.7, \"top_p\": 0.8, \"top_k\": 20, \"repetition_penalty\": 1.0\n}\n";

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  LOUPE_CHECK(f.good(), Internal, "cannot write ", path.string());
}

// bf16 values of N(0, 1); a tensor takes a window at its own offset, scaled on the fly.
std::vector<float> random_block(unsigned seed) {
  std::vector<float> block(size_t(1) << 22);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& x : block) x = normal(rng);
  return block;
}

}  // namespace

size_t write_random_checkpoint(const std::filesystem::path& dir, const std::string& size, unsigned seed) {
  const Sizes s = sizes_for(size);
  std::filesystem::create_directories(dir);
  write_text(dir / "config.json", config_json(s));
  write_text(dir / "generation_config.json", kGenerationConfig);
  const std::vector<Spec> specs = tensor_specs(s);
  const std::vector<float> block = random_block(seed);

  constexpr int64_t kShardBytes = 2'000'000'000;
  std::vector<std::vector<const Spec*>> shards(1);
  int64_t shard_bytes = 0;
  for (const Spec& t : specs) {
    if (!shards.back().empty() && shard_bytes + 2 * t.numel() > kShardBytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(&t);
    shard_bytes += 2 * t.numel();
  }
  std::ostringstream weight_map;
  size_t total = 0, salt = 0;
  bool first_entry = true;
  std::vector<uint16_t> row;
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    std::ostringstream header;
    header << "{\"__metadata__\":{\"format\":\"pt\"}";
    int64_t offset = 0;
    for (const Spec* t : shards[i]) {
      header << ",\"" << t->name << "\":{\"dtype\":\"BF16\",\"shape\":[";
      for (size_t d = 0; d < t->shape.size(); ++d) header << (d ? "," : "") << t->shape[d];
      header << "],\"data_offsets\":[" << offset << "," << offset + 2 * t->numel() << "]}";
      offset += 2 * t->numel();
      weight_map << (first_entry ? "" : ",\n") << "    \"" << t->name << "\": \"" << name << "\"";
      first_entry = false;
    }
    header << "}";
    std::string h = header.str();
    while (h.size() % 8) h.push_back(' ');
    std::ofstream f(dir / name, std::ios::binary);
    const uint64_t hlen = h.size();
    f.write(reinterpret_cast<const char*>(&hlen), 8);
    f.write(h.data(), std::streamsize(h.size()));
    for (const Spec* t : shards[i]) {
      const bool is_norm_scale = t->shape.size() == 1 && t->name.find(".bias") == std::string::npos;
      const int64_t n = t->numel();
      size_t start = (salt++ * 7919u) % block.size();
      for (int64_t done = 0; done < n;) {
        const int64_t chunk = std::min<int64_t>(n - done, int64_t(block.size() - start));
        row.resize(size_t(chunk));
        for (int64_t j = 0; j < chunk; ++j) {
          const float x = 0.02f * block[start + size_t(j)];
          row[size_t(j)] = f32_to_bf16(is_norm_scale ? 1.0f + x : x);
        }
        f.write(reinterpret_cast<const char*>(row.data()), std::streamsize(chunk * 2));
        done += chunk;
        start = 0;
      }
      total += size_t(2 * n);
    }
    LOUPE_CHECK(f.good(), Internal, "cannot write ", (dir / name).string());
  }
  write_text(dir / "model.safetensors.index.json", "{\n  \"metadata\": {\"total_size\": " + std::to_string(total) +
                                                       "},\n  \"weight_map\": {\n" + weight_map.str() + "\n  }\n}\n");
  return total;
}

}  // namespace loupe::bench
