// The safetensors reader on hostile input: every malformed header is a one-line
// Error(ModelLoad) naming the file (and tensor), never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/error.h"
#include "model/safetensors.h"
#include "st_writer.h"

namespace loupe::model::test {
namespace {

std::vector<uint8_t> floats(size_t n) { return std::vector<uint8_t>(n * 4, 0x3f); }

std::vector<uint8_t> with_header(const std::string& json, size_t payload) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(uint64_t(json.size()) >> (8 * i));
  out.insert(out.end(), json.begin(), json.end());
  out.resize(out.size() + payload, 0);
  return out;
}

// Expects an Error(ModelLoad) whose single-line message contains `needle`.
void expect_rejected(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    parse_safetensors(bytes.data(), bytes.size(), "evil.safetensors");
    FAIL() << "accepted a bad file; expected: " << needle;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::ModelLoad);
    EXPECT_NE(msg.find("evil.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Safetensors, ParsesValidFile) {
  auto bytes = encode_safetensors({{"a", "F32", {2, 3}, floats(6)}, {"b", "BF16", {4}, std::vector<uint8_t>(8, 1)}});
  auto entries = parse_safetensors(bytes.data(), bytes.size(), "ok.safetensors");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "a");
  EXPECT_EQ(entries[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(entries[1].dtype, DType::BF16);
  EXPECT_EQ(entries[1].nbytes, 8u);
}

TEST(Safetensors, RejectsTooShort) { expect_rejected({1, 2, 3}, "truncated"); }

TEST(Safetensors, RejectsHugeHeaderLength) {
  std::vector<uint8_t> b(16, 0xff);
  expect_rejected(b, "header length");
}

TEST(Safetensors, RejectsHeaderPastEndOfFile) {
  auto b = with_header("{}", 0);
  b[0] = 200;
  expect_rejected(b, "truncated");
}

TEST(Safetensors, RejectsInvalidJson) { expect_rejected(with_header("{\"a\": [1, 2", 0), "JSON"); }

TEST(Safetensors, RejectsOffsetsOutsideData) {
  expect_rejected(with_header(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8), "'w'");
}

TEST(Safetensors, RejectsSizeNotMatchingShape) {
  expect_rejected(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16), "needs 12");
}

TEST(Safetensors, RejectsOverlap) {
  expect_rejected(with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                              R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                              24),
                  "overlap");
}

TEST(Safetensors, RejectsNegativeDimension) {
  expect_rejected(with_header(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "dimension");
}

TEST(Safetensors, RejectsOverflowingShape) {
  expect_rejected(
      with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4), "'w'");
}

TEST(Safetensors, RejectsUnsupportedDtype) {
  expect_rejected(with_header(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4), "F8_E4M3");
}

TEST(Safetensors, RejectsMissingFields) {
  expect_rejected(with_header(R"({"w":{"shape":[4],"data_offsets":[0,16]}})", 16), "dtype");
  expect_rejected(with_header(R"({"w":{"dtype":"F32","data_offsets":[0,16]}})", 16), "shape");
  expect_rejected(with_header(R"({"w":{"dtype":"F32","shape":[4]}})", 16), "data_offsets");
  expect_rejected(with_header(R"({"w":7})", 16), "'w'");
}

TEST(Safetensors, RandomCorruptionNeverCrashes) {
  // Mutation fuzzing in miniature: flip bytes of a valid file; each result is either
  // accepted with all entries inside the buffer, or rejected with a ModelLoad error.
  const auto valid = encode_safetensors({{"a", "F32", {2, 3}, floats(6)}, {"bb", "BF16", {5}, std::vector<uint8_t>(10)}});
  std::mt19937 rng(7);
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = valid;
    const int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = uint8_t(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    try {
      for (const TensorEntry& e : parse_safetensors(b.data(), b.size(), "fuzz")) {
        ASSERT_GE(e.data, b.data());
        ASSERT_LE(e.data + e.nbytes, b.data() + b.size());
      }
    } catch (const Error& e) {
      ASSERT_EQ(e.kind(), ErrorKind::ModelLoad);
    }
  }
}

TEST(Safetensors, CheckpointReportsMissingPath) {
  EXPECT_THROW(Checkpoint::open("/nonexistent/model"), Error);
}

}  // namespace
}  // namespace loupe::model::test
