#pragma once
// Memory-mapped safetensors checkpoints: one file, or shards listed by
// model.safetensors.index.json. Every header is validated before any tensor is handed
// out (length, JSON, dtype, shape, offsets in range, size == numel * dtype size, no
// overlap), so a truncated or hostile file is an Error(ModelLoad) naming file and tensor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace loupe::model {

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping of `file`
  size_t nbytes = 0;
  std::string file;               // file name, for error messages
  int64_t numel() const;
  std::string shape_str() const;  // "[1024, 3, 2, 16, 16]"
};

// Parses and validates a complete safetensors image held in memory (`file` names it in
// errors). Entries point into `bytes`, which must outlive them. Fuzz entry point.
std::vector<TensorEntry> parse_safetensors(const uint8_t* bytes, size_t size, const std::string& file);

// Drops the resident pages fully inside [data, data + bytes) of a read-only file mapping
// (they are re-read from the file if touched again). Used after a tensor was copied out
// (fused or converted), so the checkpoint is not resident twice.
void release_mapped_pages(const void* data, size_t bytes);

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// All tensors of a checkpoint directory (or of one .safetensors file), by name.
class Checkpoint {
 public:
  static Checkpoint open(const std::filesystem::path& path);

  const std::map<std::string, TensorEntry>& tensors() const { return tensors_; }
  const TensorEntry* find(const std::string& name) const;
  size_t total_bytes() const;

 private:
  void add_file(const std::filesystem::path& path, const std::map<std::string, std::string>* expected);
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::map<std::string, TensorEntry> tensors_;
};

}  // namespace loupe::model
