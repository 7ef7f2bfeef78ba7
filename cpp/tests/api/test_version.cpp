#include <regex>

#include <gtest/gtest.h>

#include "loupe/loupe.h"

TEST(Version, IsSemanticVersion) {
  EXPECT_TRUE(std::regex_match(loupe::version(), std::regex(R"(\d+\.\d+\.\d+)"))) << loupe::version();
}
