#pragma once
// Paths and readers for the committed fixtures the tokenizer tests compare against.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace loupe::test {

inline std::filesystem::path testdata() {
  const char* env = std::getenv("LOUPE_TESTDATA");
  return env != nullptr ? std::filesystem::path(env) : std::filesystem::path(LOUPE_TESTDATA);
}

inline std::filesystem::path tiny_model() { return testdata() / "golden/models/tiny-tied"; }

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline nlohmann::ordered_json read_json(const std::filesystem::path& path) {
  return nlohmann::ordered_json::parse(read_text(path));
}

}  // namespace loupe::test
