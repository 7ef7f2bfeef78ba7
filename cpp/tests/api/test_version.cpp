#include <regex>
#include <stdexcept>

#include <gtest/gtest.h>

#include "loupe/loupe.h"

TEST(Version, IsSemanticVersion) {
  EXPECT_TRUE(std::regex_match(loupe::version(), std::regex(R"(\d+\.\d+\.\d+)"))) << loupe::version();
}

TEST(ErrorKindOf, NamesLoupeErrorsAndOthers) {
  try {
    loupe::inspect_model("/nonexistent/loupe-model");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_STREQ(loupe::error_kind_of(e), "model_load");
  }
  EXPECT_STREQ(loupe::error_kind_of(std::runtime_error("plain")), "internal");
}
