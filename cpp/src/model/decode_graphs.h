#pragma once
// DecodeGraphs: text-only decode steps replayed as recorded step graphs (Backend::capture),
// so a GPU step costs one graph launch instead of ~15 kernel launches per layer.
//
// A graph freezes pointers and shapes, so each one is recorded for a key
//   (padded batch size, KV-length bucket)
// with its inputs at fixed device addresses: token ids, KV slots to write, attention
// lengths, the slot table [batch, bucket] and the M-RoPE cos/sin rows. A step writes its
// inputs there (one host copy) and replays. Batches are padded up to a few common sizes
// (1, 2, 4, 8, then multiples of 8 up to 64, of 32 up to max_batch); padded rows decode
// token 0 into the KV cache's padding slot and are never returned. Attention is given the
// bucket as max_kv_len and reads each sequence's real length from kv_len.
//
// Steps a graph cannot serve (visual tokens, extend steps, batches over max_batch) and
// backends without graphs (CPU) run eagerly; a capture that fails turns graphs off for
// the model with the reason kept in stats() (and printed once to stderr).
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"
#include "model/forward_batch.h"
#include "model/rope_tables.h"

namespace loupe::model {

class Weights;
class KVCache;

struct DecodeGraphOptions {
  bool enabled = true;
  int max_batch = 256;     // larger decode batches run eagerly
  int kv_bucket = 256;     // KV lengths are rounded up to a multiple of this per graph
  int max_graphs = 32;     // least recently used graphs beyond this are dropped
  // Test hook: run the padded plan eagerly instead of capturing it (same inputs, same
  // kernels), the reference a replay must equal bit for bit.
  bool run_padded_eagerly = false;
};

struct DecodeGraphStats {
  int64_t captures = 0, replays = 0, evictions = 0;
  bool available = true;     // false once the backend had no graphs or a capture failed
  std::string unavailable_reason;
};

class DecodeGraphs {
 public:
  DecodeGraphs(Backend& backend, const Weights& weights, const TextConfig& config, const DecodeGraphOptions& options);
  ~DecodeGraphs();

  // Padded batch size a graph serves `batch` sequences with; 0 when over max_batch.
  int padded_batch(int batch) const;

  // Logits [batch_size, vocab] (activation dtype, valid until the next call) of a validated
  // text-only decode step, or an empty Tensor when the step is to run eagerly.
  Tensor run(std::span<const int32_t> input_ids, const RopeTable& rope, const ForwardBatch& batch);

  const DecodeGraphStats& stats() const { return stats_; }

 private:
  struct Key {
    int batch, bucket;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry;

  Entry& entry_for(Key key, uint64_t cache_id);
  void write_inputs(Entry& e, std::span<const int32_t> ids, const RopeTable& rope, const ForwardBatch& batch,
                    int32_t padding_slot);
  void compute(Entry& e, KVCache& cache);
  void drop_graphs();
  void turn_off(const std::string& reason);

  Backend& backend_;
  const Weights& weights_;
  const TextConfig& config_;
  DecodeGraphOptions options_;
  DecodeGraphStats stats_;
  uint64_t cache_id_ = 0;  // graphs point into this KV cache's buffers
  std::list<Key> recency_;  // most recent first
  std::map<Key, std::unique_ptr<Entry>> entries_;
};

}  // namespace loupe::model
