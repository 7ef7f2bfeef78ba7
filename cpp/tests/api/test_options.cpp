// The one description of Captioner::open's options: defaults come from the structs, text
// values parse by type, and bad names or values are refused naming the option.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "loupe/options.h"

namespace loupe {
namespace {

const OptionDescription& described(const std::string& name) {
  for (const auto& option : captioner_option_descriptions())
    if (option.name == name) return option;
  throw std::runtime_error("no option " + name);
}

std::string refusal(const std::string& name, const std::string& value) {
  CaptionerOptions options;
  try {
    set_captioner_option(options, name, value);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    return e.what();
  }
  return "accepted";
}

TEST(Options, DefaultsAreTheStructInitializers) {
  const CaptionerOptions defaults;
  EXPECT_EQ(described("max_running").default_value, std::to_string(defaults.engine.max_running));
  EXPECT_EQ(described("queue_limit").default_value, std::to_string(defaults.engine.queue_limit));
  EXPECT_EQ(described("max_encoded_bytes").default_value, std::to_string(defaults.image_limits.max_encoded_bytes));
  EXPECT_EQ(described("prefix_cache").default_value, defaults.engine.prefix_cache ? "true" : "false");
  EXPECT_EQ(described("kv_cache_fraction").default_value, "0.3");
  EXPECT_EQ(described("device").default_value, defaults.engine.device);
  EXPECT_EQ(described("max_running").type, "int32");
  EXPECT_EQ(described("vision_cache_bytes").type, "int64");
}

TEST(Options, EveryDefaultParsesBackToTheDefaults) {
  std::string lines;
  std::set<std::string> names;
  for (const auto& option : captioner_option_descriptions()) {
    EXPECT_TRUE(names.insert(option.name).second) << "duplicate " << option.name;
    EXPECT_FALSE(option.doc.empty()) << option.name;
    lines += option.name + "=" + option.default_value + "\n";
  }
  const CaptionerOptions parsed = captioner_options_from_lines(lines), defaults;
  EXPECT_EQ(parsed.engine.max_running, defaults.engine.max_running);
  EXPECT_EQ(parsed.engine.kv_cache_fraction, defaults.engine.kv_cache_fraction);
  EXPECT_EQ(parsed.engine.vision_cache_bytes, defaults.engine.vision_cache_bytes);
  EXPECT_EQ(parsed.image_limits.max_side, defaults.image_limits.max_side);
  EXPECT_EQ(parsed.engine.cpu_bf16_activations, defaults.engine.cpu_bf16_activations);
}

TEST(Options, LinesSetTheirMembers) {
  const CaptionerOptions o = captioner_options_from_lines(
      "device=cuda:1\nthreads=3\n\nkv_cache_bytes=1048576\nkv_cache_fraction=0.5\nprefix_cache=false\n"
      "cpu_bf16_activations=exact\nmax_side=640\nmax_pixels=200704\n");
  EXPECT_EQ(o.engine.device, "cuda:1");
  EXPECT_EQ(o.engine.threads, 3);
  EXPECT_EQ(o.engine.kv_cache_bytes, 1048576u);
  EXPECT_EQ(o.engine.kv_cache_fraction, 0.5);
  EXPECT_FALSE(o.engine.prefix_cache);
  EXPECT_EQ(o.engine.cpu_bf16_activations, "exact");
  EXPECT_EQ(o.image_limits.max_side, 640);
  EXPECT_EQ(o.max_pixels, 200704);
}

TEST(Options, BadNamesAndValuesAreRefusedNamingTheOption) {
  EXPECT_EQ(refusal("max_runing", "4"), "unknown option 'max_runing'");
  EXPECT_EQ(refusal("prefix_cache", "yes"), "option prefix_cache must be true or false, got 'yes'");
  EXPECT_EQ(refusal("threads", "2.5"), "option threads must be an integer in range, got '2.5'");
  EXPECT_EQ(refusal("threads", "99999999999"), "option threads must be an integer in range, got '99999999999'");
  EXPECT_EQ(refusal("kv_cache_bytes", "-1"), "option kv_cache_bytes must be a non-negative integer, got '-1'");
  EXPECT_EQ(refusal("kv_cache_fraction", ""), "option kv_cache_fraction must be a number, got ''");
  EXPECT_EQ(refusal("cpu_bf16_activations", "fp32"),
            "option cpu_bf16_activations must be 'rounded' or 'exact', got 'fp32'");
  EXPECT_THROW(captioner_options_from_lines("threads"), Error);
}

}  // namespace
}  // namespace loupe
