#include "model/weights.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "backend/int8_weights.h"
#include "core/error.h"

namespace loupe::model {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string join_names(const std::vector<std::string>& names, size_t limit = 8) {
  std::ostringstream s;
  for (size_t i = 0; i < names.size() && i < limit; ++i) s << (i ? ", " : "") << names[i];
  if (names.size() > limit) s << ", ... (" << names.size() << " in total)";
  return s.str();
}

}  // namespace

std::string canonical_tensor_name(const std::string& name) {
  if (name.size() >= 14 && name.compare(name.size() - 14, 14, ".rotary_emb.inv_freq") == 0) return "";
  if (name.find("rotary_emb.inv_freq") != std::string::npos) return "";
  if (starts_with(name, "model.visual.")) return "visual." + name.substr(13);
  if (starts_with(name, "visual.")) return name;
  if (starts_with(name, "model.language_model.")) return "text." + name.substr(21);
  if (starts_with(name, "model.")) return "text." + name.substr(6);  // alias: text without language_model
  if (name == "lm_head.weight") return name;
  return "?" + name;  // unknown: reported as unused
}

// Looks tensors up by canonical name, checks shape, and places them on the device.
class Weights::Loader {
 public:
  Loader(Backend& backend, const Checkpoint& ck, const WeightOptions& options, Weights& out)
      : backend_(backend), options_(options), out_(out) {
    for (const auto& [name, entry] : ck.tensors()) {
      std::string canon = canonical_tensor_name(name);
      if (canon.empty()) continue;
      if (canon[0] == '?') {
        out_.unused_.push_back(name);
        continue;
      }
      auto [it, inserted] = by_canon_.emplace(canon, &entry);
      LOUPE_CHECK(inserted, ModelLoad, "tensors '", it->second->name, "' and '", name, "' are the same weight under two names");
    }
  }

  // The tensor `canon` with exactly `shape`, converted to the runtime dtype.
  Tensor take(const std::string& canon, std::vector<int64_t> shape) {
    const TensorEntry* e = find(canon, shape);
    if (!e) return Tensor{};
    return place({e}, shape);
  }

  // Several tensors with the same column count stacked along rows (fused projections).
  Tensor take_stacked(const std::vector<std::pair<std::string, std::vector<int64_t>>>& parts) {
    std::vector<const TensorEntry*> entries;
    int64_t rows = 0;
    for (const auto& [canon, shape] : parts) {
      entries.push_back(find(canon, shape));
      rows += shape[0];
    }
    for (const TensorEntry* e : entries)
      if (!e) return Tensor{};
    return place(entries, {rows, parts[0].second[1]});
  }

  bool has(const std::string& canon) const { return by_canon_.count(canon) != 0; }

  void skip(const std::string& canon) {
    if (auto it = by_canon_.find(canon); it != by_canon_.end()) used_.insert(canon);
  }

  void finish() {
    LOUPE_CHECK(missing_.empty(), ModelLoad, "checkpoint is missing ", missing_.size(), " tensor(s): ",
                join_names(missing_));
    LOUPE_CHECK(wrong_shape_.empty(), ModelLoad, "checkpoint tensor shape mismatch: ", join_names(wrong_shape_));
    for (const auto& [canon, e] : by_canon_)
      if (!used_.count(canon)) out_.unused_.push_back(e->name);
  }

  // The int8 form of a loaded [out, in] weight; the source's memory (mapped pages or its
  // owned buffer) is released so the model is never held twice.
  Tensor quantize_int8(const Tensor& src) {
    LOUPE_CHECK(backend_.device().kind == DeviceKind::CPU, InvalidArgument,
                "int8 text weights are supported on the CPU backend only");
    const int64_t rows = src.rows(), cols = src.cols();
    const size_t bytes = int8_weight_bytes(rows, cols);
    Buffer quantized(backend_, DType::U8, {int64_t(bytes)});
    void* dst = quantized.tensor().data;
    // Row ranges on all cores: quantising a 2B decoder on one core doubles the load time.
    const int64_t parts = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1, 64);
    std::vector<std::thread> workers;
    for (int64_t t = 0; t < parts; ++t)
      workers.emplace_back([&, t] {
        const int64_t first = rows * t / parts, count = rows * (t + 1) / parts - first;
        quantize_rows_int8(dst, rows, cols, first, count, [&](int64_t r, int64_t c) {
          const int64_t i = (first + r) * cols + c;
          return src.dtype == DType::BF16 ? bf16_to_f32(src.ptr<uint16_t>()[i]) : src.ptr<float>()[i];
        });
      });
    for (std::thread& w : workers) w.join();
    bool owned = false;
    for (Buffer& b : out_.owned_)
      if (b.tensor().data == src.data) {
        b = Buffer();
        owned = true;
      }
    if (!owned) release_mapped_pages(src.data, src.nbytes());
    out_.owned_.push_back(std::move(quantized));
    out_.bytes_ += bytes;
    out_.bytes_ -= src.nbytes();
    Tensor t = src;
    t.dtype = DType::I8;
    t.data = dst;
    return t;
  }

 private:
  const TensorEntry* find(const std::string& canon, const std::vector<int64_t>& shape) {
    auto it = by_canon_.find(canon);
    if (it == by_canon_.end()) {
      missing_.push_back(hf_name(canon));
      return nullptr;
    }
    used_.insert(canon);
    const TensorEntry* e = it->second;
    if (e->dtype != DType::F32 && e->dtype != DType::BF16 && e->dtype != DType::F16) {
      wrong_shape_.push_back(e->name + " has integer dtype " + std::string(dtype_name(e->dtype)) + " in " + e->file);
      return nullptr;
    }
    // The Conv3d patch weight [V, C, Tp, P, P] is accepted as its flattened [V, C·Tp·P·P] view.
    bool ok = e->numel() == [&] { int64_t n = 1; for (int64_t d : shape) n *= d; return n; }() &&
              (e->shape == shape || (e->shape.size() == 5 && shape.size() == 2 && e->shape[0] == shape[0]));
    if (!ok) {
      std::ostringstream s;
      s << e->name << " is " << e->shape_str() << " in " << e->file << ", expected [";
      for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
      s << "]";
      wrong_shape_.push_back(s.str());
      return nullptr;
    }
    return e;
  }

  static std::string hf_name(const std::string& canon) {
    if (starts_with(canon, "visual.")) return "model." + canon;
    if (starts_with(canon, "text.")) return "model.language_model." + canon.substr(5);
    return canon;
  }

  DType target_dtype(DType stored) const {
    if (stored == DType::BF16 && !options_.upcast_to_f32) return DType::BF16;
    return DType::F32;
  }

  Tensor place(const std::vector<const TensorEntry*>& entries, const std::vector<int64_t>& shape) {
    const DType stored = entries[0]->dtype;
    for (const TensorEntry* e : entries)
      LOUPE_CHECK(e->dtype == stored, ModelLoad, "fused tensors differ in dtype: ", entries[0]->name, " and ", e->name);
    const DType dtype = target_dtype(stored);
    Tensor t;
    t.dtype = dtype;
    t.device = backend_.device();
    t.ndim = int(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) t.shape[i] = shape[i];
    out_.bytes_ += t.nbytes();
    // Zero copy: a single tensor already in the runtime dtype stays in the CPU mapping.
    if (entries.size() == 1 && dtype == stored && backend_.device().kind == DeviceKind::CPU) {
      t.data = const_cast<uint8_t*>(entries[0]->data);
      return t;
    }
    Buffer& buf = out_.owned_.emplace_back();
    buf = Buffer(backend_, dtype, {t.numel()});
    t.data = buf.tensor().data;
    size_t offset = 0;
    std::vector<uint8_t> staging;
    for (const TensorEntry* e : entries) {
      const void* src = e->data;
      size_t bytes = e->nbytes;
      if (dtype != stored) {
        staging.resize(size_t(e->numel()) * sizeof(float));
        float* f = reinterpret_cast<float*>(staging.data());
        const uint16_t* h = reinterpret_cast<const uint16_t*>(e->data);
        for (int64_t i = 0; i < e->numel(); ++i) f[i] = stored == DType::F16 ? f16_to_f32(h[i]) : bf16_to_f32(h[i]);
        src = staging.data();
        bytes = staging.size();
      }
      backend_.copy_from_host(static_cast<uint8_t*>(t.data) + offset, src, bytes);
      offset += bytes;
      release_mapped_pages(e->data, e->nbytes);
    }
    return t;
  }

  Backend& backend_;
  WeightOptions options_;
  Weights& out_;
  std::map<std::string, const TensorEntry*> by_canon_;
  std::set<std::string> used_;
  std::vector<std::string> missing_, wrong_shape_;
};

Weights::Weights(Backend& backend, const ModelConfig& config, const Checkpoint& ck, const WeightOptions& options) {
  Loader l(backend, ck, options, *this);
  const VisionConfig& v = config.vision;
  const TextConfig& t = config.text;
  const int64_t V = v.hidden_size, Iv = v.intermediate_size, O = v.out_hidden_size, W4 = V * v.merge_window();

  patch_embed.weight = l.take("visual.patch_embed.proj.weight", {V, v.patch_dim()});
  patch_embed.bias = l.take("visual.patch_embed.proj.bias", {V});
  pos_embed = l.take("visual.pos_embed.weight", {v.num_position_embeddings, V});
  auto linear = [&](const std::string& p, int64_t out, int64_t in) {
    return LinearWeights{l.take(p + ".weight", {out, in}), l.take(p + ".bias", {out})};
  };
  auto norm = [&](const std::string& p, int64_t d) { return NormWeights{l.take(p + ".weight", {d}), l.take(p + ".bias", {d})}; };
  for (int64_t b = 0; b < v.depth; ++b) {
    const std::string p = "visual.blocks." + std::to_string(b);
    vision_blocks.push_back({norm(p + ".norm1", V), norm(p + ".norm2", V), linear(p + ".attn.qkv", 3 * V, V),
                             linear(p + ".attn.proj", V, V), linear(p + ".mlp.linear_fc1", Iv, V),
                             linear(p + ".mlp.linear_fc2", V, Iv)});
  }
  merger = {norm("visual.merger.norm", V), linear("visual.merger.linear_fc1", W4, W4),
            linear("visual.merger.linear_fc2", O, W4)};
  for (size_t k = 0; k < v.deepstack_visual_indexes.size(); ++k) {
    const std::string p = "visual.deepstack_merger_list." + std::to_string(k);
    deepstack_mergers.push_back({norm(p + ".norm", W4), linear(p + ".linear_fc1", W4, W4), linear(p + ".linear_fc2", O, W4)});
  }

  const int64_t D = t.hidden_size, F = t.intermediate_size, hd = t.head_dim;
  const int64_t q_rows = t.num_attention_heads * hd, kv_rows = t.num_key_value_heads * hd;
  embed_tokens = l.take("text.embed_tokens.weight", {t.vocab_size, D});
  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    const std::string p = "text.layers." + std::to_string(i);
    TextLayerWeights w;
    w.input_norm = l.take(p + ".input_layernorm.weight", {D});
    w.post_attention_norm = l.take(p + ".post_attention_layernorm.weight", {D});
    w.q_norm = l.take(p + ".self_attn.q_norm.weight", {hd});
    w.k_norm = l.take(p + ".self_attn.k_norm.weight", {hd});
    // GQA: q, k and v have different row counts; offsets are cumulative.
    w.qkv = l.take_stacked({{p + ".self_attn.q_proj.weight", {q_rows, D}},
                            {p + ".self_attn.k_proj.weight", {kv_rows, D}},
                            {p + ".self_attn.v_proj.weight", {kv_rows, D}}});
    w.o_proj = l.take(p + ".self_attn.o_proj.weight", {D, q_rows});
    w.gate_up = l.take_stacked({{p + ".mlp.gate_proj.weight", {F, D}}, {p + ".mlp.up_proj.weight", {F, D}}});
    w.down = l.take(p + ".mlp.down_proj.weight", {D, F});
    if (options.int8_text_linears)
      for (Tensor* linear_weight : {&w.qkv, &w.o_proj, &w.gate_up, &w.down}) *linear_weight = l.quantize_int8(*linear_weight);
    layers.push_back(w);
  }
  final_norm = l.take("text.norm.weight", {D});
  if (config.tie_word_embeddings) {
    l.skip("lm_head.weight");  // tied: HF uses the embedding matrix even if a copy is stored
    lm_head = embed_tokens;
  } else if (l.has("lm_head.weight")) {
    lm_head = l.take("lm_head.weight", {t.vocab_size, D});
  }  // else an embedding checkpoint that ships no head (Qwen3-VL-Embedding-8B): it cannot generate
  l.finish();
}

Weights::~Weights() = default;

}  // namespace loupe::model
