#pragma once
// A random-weight Qwen3-VL checkpoint with the released 2B/8B shapes, written without
// PyTorch (GPU machines may lack it): config.json, generation_config.json and bf16
// safetensors shards with an index, as tools/golden/make_random_checkpoint.py writes
// them. No tokenizer: the benchmarks feed token ids. Values: N(0, 0.02) for matrices and
// biases, 1 + N(0, 0.02) for norm scales, drawn once into a block that each tensor reads
// from its own offset (fast for many GB, distinct between tensors).
#include <filesystem>
#include <string>

namespace loupe::bench {

// size: "2b" or "8b". Returns the bytes of weights written.
size_t write_random_checkpoint(const std::filesystem::path& dir, const std::string& size, unsigned seed = 0);

}  // namespace loupe::bench
