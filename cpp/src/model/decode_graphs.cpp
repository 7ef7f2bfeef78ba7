#include "model/decode_graphs.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "model/kv_cache.h"
#include "model/text.h"
#include "model/weights.h"

namespace loupe::model {

// One recorded step: its inputs and logits at fixed addresses, and the graph itself.
struct DecodeGraphs::Entry {
  Key key;
  // The step's inputs as one block of 4-byte words, written with one host copy:
  //   I32 ids | out_cache_loc | q_start | q_len | kv_len [B each] | slot table [B, bucket]
  //   F32 cos | sin [B, half each]
  Buffer inputs;
  std::vector<int32_t> host_inputs;
  Buffer logits;  // [B, vocab], activation dtype
  Tensor ids;
  DecoderStep step;
  std::unique_ptr<StepGraph> graph;
  std::list<Key>::iterator recency;
};

namespace {
int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }
}  // namespace

DecodeGraphs::DecodeGraphs(Backend& backend, const Weights& weights, const TextConfig& config,
                           const DecodeGraphOptions& options)
    : backend_(backend), weights_(weights), config_(config), options_(options) {
  LOUPE_CHECK(options.max_batch >= 1 && options.kv_bucket >= 1 && options.max_graphs >= 1, InvalidArgument,
              "decode graphs: max_batch, kv_bucket and max_graphs must be >= 1, got ", options.max_batch, ", ",
              options.kv_bucket, ", ", options.max_graphs);
}

DecodeGraphs::~DecodeGraphs() = default;

int DecodeGraphs::padded_batch(int batch) const {
  if (batch <= 0 || batch > options_.max_batch) return 0;
  int64_t padded = 1;
  if (batch <= 8) {
    while (padded < batch) padded *= 2;
  } else {
    padded = round_up(batch, batch <= 64 ? 8 : 32);
  }
  return int(std::min<int64_t>(padded, options_.max_batch));
}

void DecodeGraphs::drop_graphs() {
  entries_.clear();
  recency_.clear();
}

void DecodeGraphs::turn_off(const std::string& reason) {
  stats_.available = false;
  stats_.unavailable_reason = reason;
  drop_graphs();
}

DecodeGraphs::Entry& DecodeGraphs::entry_for(Key key, uint64_t cache_id) {
  if (cache_id != cache_id_) {  // a new KV cache: every graph points into the old one
    drop_graphs();
    cache_id_ = cache_id;
  }
  if (auto it = entries_.find(key); it != entries_.end()) {
    recency_.splice(recency_.begin(), recency_, it->second->recency);
    return *it->second;
  }
  const int64_t B = key.batch, S = key.bucket, half = config_.head_dim / 2;
  auto e = std::make_unique<Entry>();
  e->key = key;
  const int64_t words = B * (5 + S) + 2 * B * half;
  e->inputs = Buffer(backend_, DType::I32, {words});
  e->host_inputs.resize(size_t(words));
  e->logits = Buffer(backend_, backend_.activation_dtype(), {B, config_.vocab_size});
  const Device device = e->inputs.tensor().device;
  int32_t* ints = e->inputs.tensor().ptr<int32_t>();
  float* tables = reinterpret_cast<float*>(ints + B * (5 + S));  // device memory, read as F32 by the kernels
  e->ids = Tensor(ints, DType::I32, {B}, device);
  DecoderStep& step = e->step;
  step.out_cache_loc = Tensor(ints + B, DType::I32, {B}, device);
  step.attention.q_start = Tensor(ints + 2 * B, DType::I32, {B}, device);
  step.attention.q_len = Tensor(ints + 3 * B, DType::I32, {B}, device);
  step.attention.kv_len = Tensor(ints + 4 * B, DType::I32, {B}, device);
  step.attention.kv_slots = Tensor(ints + 5 * B, DType::I32, {B, S}, device);
  step.attention.batch = int(B);
  step.attention.max_q_len = 1;
  step.attention.max_kv_len = int(S);  // the kernels read each sequence's length from kv_len
  step.attention.scale = 1.0f / std::sqrt(float(config_.head_dim));
  step.cos = Tensor(tables, DType::F32, {B, half}, device);
  step.sin = Tensor(tables + B * half, DType::F32, {B, half}, device);

  recency_.push_front(key);
  e->recency = recency_.begin();
  Entry& result = *e;
  entries_.emplace(key, std::move(e));
  while (int(entries_.size()) > options_.max_graphs) {
    entries_.erase(recency_.back());
    recency_.pop_back();
    ++stats_.evictions;
  }
  return result;
}

void DecodeGraphs::write_inputs(Entry& e, std::span<const int32_t> input_ids, const RopeTable& rope,
                                const ForwardBatch& batch, int32_t padding_slot) {
  const int64_t B = e.key.batch, S = e.key.bucket, n = batch.batch_size, half = rope.half;
  LOUPE_CHECK(half == config_.head_dim / 2 && int64_t(rope.cos.size()) == n * half &&
                  rope.sin.size() == rope.cos.size(),
              Internal, "decode graphs: rope tables of ", rope.cos.size(), " values for ", n, " tokens of head size ",
              config_.head_dim);
  int32_t* ids = e.host_inputs.data();
  int32_t *loc = ids + B, *q_start = ids + 2 * B, *q_len = ids + 3 * B, *kv_len = ids + 4 * B, *slots = ids + 5 * B;
  for (int64_t b = 0; b < B; ++b) {
    // Padded rows decode token 0 at one cached token, both in the padding slot.
    const bool real = b < n;
    const int32_t len = real ? batch.seq_lens[b] : 1;
    ids[b] = real ? input_ids[b] : 0;
    loc[b] = real ? batch.out_cache_loc[b] : padding_slot;
    q_start[b] = int32_t(b);
    q_len[b] = 1;
    kv_len[b] = len;
    int32_t* row = slots + b * S;
    if (real) std::copy(batch.kv_slots[b], batch.kv_slots[b] + len, row);
    std::fill(row + (real ? len : 0), row + S, padding_slot);
  }
  // cos and sin as F32 bit patterns; padded rows rotate by nothing.
  int32_t* cos = slots + B * S;
  int32_t* sin = cos + B * half;
  std::memcpy(cos, rope.cos.data(), rope.cos.size() * sizeof(float));
  std::memcpy(sin, rope.sin.data(), rope.sin.size() * sizeof(float));
  std::fill(cos + n * half, cos + B * half, std::bit_cast<int32_t>(1.0f));
  std::fill(sin + n * half, sin + B * half, std::bit_cast<int32_t>(0.0f));
  backend_.copy_from_host(e.inputs.tensor().data, e.host_inputs.data(), e.host_inputs.size() * sizeof(int32_t));
}

// The step itself: embeddings, every decoder layer, final norm and lm_head. Decode has one
// new token per sequence, so the hidden rows are already each sequence's last token.
void DecodeGraphs::compute(Entry& e, KVCache& cache) {
  Buffer x(backend_, backend_.activation_dtype(), {int64_t(e.key.batch), config_.hidden_size});
  backend_.embedding(x, weights_.embed_tokens, e.ids);
  run_decoder(backend_, weights_, config_, cache, x, e.step);
  final_logits(backend_, weights_, config_, x, e.logits);
}

Tensor DecodeGraphs::run(std::span<const int32_t> input_ids, const RopeTable& rope, const ForwardBatch& batch) {
  const bool text_only =
      std::all_of(batch.visual_item.begin(), batch.visual_item.end(), [](int32_t item) { return item < 0; });
  if (!options_.enabled || !stats_.available || batch.mode != ForwardMode::Decode || !text_only) return {};
  const int n = batch.batch_size, B = padded_batch(n);
  if (B == 0 || int64_t(input_ids.size()) != n) return {};
  const int32_t max_len = *std::max_element(batch.seq_lens.begin(), batch.seq_lens.end());
  const Key key{B, int(round_up(max_len, options_.kv_bucket))};
  KVCache& cache = *batch.kv_cache;

  Entry& e = entry_for(key, cache.id());
  write_inputs(e, input_ids, rope, batch, cache.padding_slot());
  if (options_.run_padded_eagerly) {
    compute(e, cache);
    return e.logits.tensor().slice_rows(0, n);
  }
  if (!e.graph) {
    std::unique_ptr<StepGraph> graph;
    try {
      graph = backend_.capture([&] { compute(e, cache); });
    } catch (const std::exception& err) {
      turn_off(std::string("capturing a decode step failed: ") + err.what());
      std::fprintf(stderr, "loupe: decode steps run without graphs from now on (%s)\n",
                   stats_.unavailable_reason.c_str());
      return {};
    }
    if (!graph) {
      turn_off("the " + backend_.name() + " backend records no step graphs");
      return {};
    }
    e.graph = std::move(graph);
    ++stats_.captures;
  }
  e.graph->replay();
  ++stats_.replays;
  return e.logits.tensor().slice_rows(0, n);
}

}  // namespace loupe::model
