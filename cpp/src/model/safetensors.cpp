#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "model/config.h"

namespace loupe::model {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the largest real headers are ~1 MB
constexpr size_t kMaxDims = 8;

bool parse_dtype(const std::string& name, DType& out) {
  if (name == "BF16") out = DType::BF16;
  else if (name == "F16") out = DType::F16;
  else if (name == "F32") out = DType::F32;
  else if (name == "I64") out = DType::I64;  // golden inputs (token ids, grids)
  else if (name == "I32") out = DType::I32;
  else return false;
  return true;
}

// a * b with overflow detection against `limit`.
bool mul_within(uint64_t a, uint64_t b, uint64_t limit, uint64_t& out) {
  if (a != 0 && b > limit / a) return false;
  out = a * b;
  return out <= limit;
}

}  // namespace

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorEntry::shape_str() const {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << "]";
  return s.str();
}

std::vector<TensorEntry> parse_safetensors(const uint8_t* bytes, size_t size, const std::string& file) {
  LOUPE_CHECK(size >= 8, ModelLoad, file, ": truncated safetensors file (", size, " bytes, no header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  LOUPE_CHECK(header_len >= 2 && header_len <= kMaxHeaderBytes, ModelLoad, file, ": implausible header length ",
              header_len);
  LOUPE_CHECK(header_len <= size - 8, ModelLoad, file, ": truncated safetensors file (header of ", header_len,
              " bytes, file has ", size, ")");
  const char* header = reinterpret_cast<const char*>(bytes + 8);
  json j = json::parse(header, header + header_len, nullptr, /*allow_exceptions=*/false);
  LOUPE_CHECK(!j.is_discarded() && j.is_object(), ModelLoad, file, ": header is not a valid JSON object");

  const uint8_t* payload = bytes + 8 + header_len;
  const uint64_t payload_size = size - 8 - header_len;
  std::vector<TensorEntry> entries;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // (begin, end) -> entry index by sort
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;
    const json& v = it.value();
    const std::string where = file + ": tensor '" + name + "'";
    LOUPE_CHECK(v.is_object(), ModelLoad, where, " has no description object");
    LOUPE_CHECK(v.contains("dtype") && v["dtype"].is_string(), ModelLoad, where, " has no dtype");
    TensorEntry e;
    e.name = name;
    e.file = file;
    const std::string dtype = v["dtype"].get<std::string>();
    LOUPE_CHECK(parse_dtype(dtype, e.dtype), ModelLoad, where, " has unsupported dtype ", dtype,
                " (expected BF16, F16, F32, I32 or I64)");
    LOUPE_CHECK(v.contains("shape") && v["shape"].is_array() && v["shape"].size() <= kMaxDims, ModelLoad, where,
                " has no valid shape");
    uint64_t numel = 1;
    for (const json& d : v["shape"]) {
      LOUPE_CHECK(d.is_number_unsigned(), ModelLoad, where, " has a negative or non-integer dimension");
      const uint64_t dim = d.get<uint64_t>();
      LOUPE_CHECK(mul_within(numel, dim, payload_size, numel) || dim == 0, ModelLoad, where, " shape ", v["shape"].dump(),
                  " is larger than the file");
      if (dim == 0) numel = 0;
      e.shape.push_back(int64_t(dim));
    }
    const json& off = v.contains("data_offsets") ? v["data_offsets"] : json();
    LOUPE_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                ModelLoad, where, " has no valid data_offsets");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    LOUPE_CHECK(begin <= end && end <= payload_size, ModelLoad, where, " data_offsets [", begin, ", ", end,
                "] exceed the data section of ", payload_size, " bytes (truncated file?)");
    uint64_t expected = 0;
    LOUPE_CHECK(mul_within(numel, dtype_size(e.dtype), payload_size, expected) && expected == end - begin, ModelLoad,
                where, " holds ", end - begin, " bytes but shape ", e.shape_str(), " of ", dtype, " needs ",
                numel * dtype_size(e.dtype));
    e.data = payload + begin;
    e.nbytes = size_t(end - begin);
    ranges.emplace_back(begin, end);
    entries.push_back(std::move(e));
  }
  // No two tensors may share bytes.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = ranges[order[i - 1]];
    const auto& cur = ranges[order[i]];
    LOUPE_CHECK(cur.first >= prev.second || cur.first == cur.second || prev.first == prev.second, ModelLoad, file,
                ": tensors '", entries[order[i - 1]].name, "' and '", entries[order[i]].name, "' overlap");
  }
  return entries;
}

void release_mapped_pages(const void* data, size_t bytes) {
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (uintptr_t(data) + page - 1) / page * page;
  const uintptr_t end = (uintptr_t(data) + bytes) / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::MappedFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LOUPE_CHECK(fd >= 0, ModelLoad, "cannot open ", path.string(), ": ", std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    LOUPE_FAIL(ModelLoad, path.string(), " is not a regular file");
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      LOUPE_FAIL(ModelLoad, "cannot map ", path.string(), ": ", std::strerror(errno));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

Checkpoint Checkpoint::open(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  Checkpoint ck;
  if (fs::is_regular_file(path)) {
    ck.add_file(path, nullptr);
    return ck;
  }
  LOUPE_CHECK(fs::is_directory(path), ModelLoad, path.string(), " is neither a model directory nor a .safetensors file");
  const fs::path index = path / "model.safetensors.index.json";
  if (fs::exists(index)) {
    json j = json::parse(read_text_file(index), nullptr, false);
    LOUPE_CHECK(!j.is_discarded() && j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
                ModelLoad, index.string(), ": expected a JSON object with a weight_map");
    std::map<std::string, std::map<std::string, std::string>> by_shard;  // shard -> {tensor -> shard}
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      LOUPE_CHECK(it.value().is_string(), ModelLoad, index.string(), ": weight_map['", it.key(), "'] is not a file name");
      const std::string shard = it.value().get<std::string>();
      LOUPE_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..", ModelLoad,
                  index.string(), ": shard name '", shard, "' must be a plain file name");
      by_shard[shard][it.key()] = shard;
    }
    LOUPE_CHECK(!by_shard.empty(), ModelLoad, index.string(), ": weight_map is empty");
    for (const auto& [shard, names] : by_shard) ck.add_file(path / shard, &names);
    return ck;
  }
  const fs::path single = path / "model.safetensors";
  LOUPE_CHECK(fs::exists(single), ModelLoad, path.string(),
              ": no model.safetensors or model.safetensors.index.json found");
  ck.add_file(single, nullptr);
  return ck;
}

void Checkpoint::add_file(const std::filesystem::path& path, const std::map<std::string, std::string>* expected) {
  auto file = std::make_shared<MappedFile>(path);
  const std::string name = path.filename().string();
  std::vector<TensorEntry> entries = parse_safetensors(file->data(), file->size(), name);
  std::set<std::string> present;
  for (TensorEntry& e : entries) {
    present.insert(e.name);
    // With an index, a tensor belongs to the shard the index names; copies elsewhere are ignored.
    if (expected && !expected->count(e.name)) continue;
    LOUPE_CHECK(!tensors_.count(e.name), ModelLoad, name, ": tensor '", e.name, "' also appears in ",
                tensors_[e.name].file);
    tensors_[e.name] = std::move(e);
  }
  if (expected)
    for (const auto& [tensor, shard] : *expected)
      LOUPE_CHECK(present.count(tensor), ModelLoad, name, ": tensor '", tensor,
                  "' listed in model.safetensors.index.json is not in the shard");
  files_.push_back(std::move(file));
}

const TensorEntry* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

size_t Checkpoint::total_bytes() const {
  size_t total = 0;
  for (const auto& [name, e] : tensors_) total += e.nbytes;
  return total;
}

}  // namespace loupe::model
