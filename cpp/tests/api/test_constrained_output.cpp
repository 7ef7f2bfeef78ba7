// Structured output through the public API on a tiny random checkpoint (its own choices are
// noise, so only the constraint can make the output valid): greedy and sampled outputs parse
// and satisfy their JSON schema, regex or Lark grammar; unconstrained requests batched with
// constrained ones keep their tokens exactly; an invalid constraint is refused at submit.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loupe/captioner.h"
#include "loupe/loupe.h"

using namespace loupe;
using json = nlohmann::ordered_json;  // schemas keep their property order

namespace {

std::string testdata() { return LOUPE_TESTDATA; }

std::unique_ptr<Captioner> open_tiny() {
  CaptionerOptions o;
  o.engine.device = "cpu";
  o.engine.threads = 2;
  o.engine.kv_cache_bytes = 64u << 20;
  return Captioner::open(testdata() + "/golden/models/tiny-tied", o);
}

Captioner& tiny() {
  static std::unique_ptr<Captioner> captioner = open_tiny();
  return *captioner;
}

CaptionRequest request(const std::string& prompt, std::optional<OutputConstraint> constraint, float temperature = 0,
                       uint64_t seed = 0, int32_t max_new_tokens = 300) {
  CaptionRequest r;
  r.prompt = prompt;
  SamplingParams s = tiny().default_sampling();
  s.temperature = temperature;
  s.top_k = 0;
  s.top_p = 1;
  s.seed = seed;
  s.max_new_tokens = max_new_tokens;
  r.sampling = s;
  r.constraint = std::move(constraint);
  return r;
}

OutputConstraint schema(const json& s) { return {OutputConstraint::Kind::JsonSchema, s.dump()}; }

// JSON Schema lengths count code points, not bytes.
size_t code_points(const std::string& utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

bool short_string(const json& v, size_t max_length) {
  return v.is_string() && !v.get<std::string>().empty() && code_points(v.get<std::string>()) <= max_length;
}

struct SchemaCase {
  const char* name;
  json schema;
  std::function<void(const json&)> check;  // asserts the parsed output satisfies the schema
};

std::vector<SchemaCase> schema_cases() {
  std::vector<SchemaCase> cases;
  cases.push_back(
      {"nested objects, enum, bounded integer, numeric enum, boolean",
       json::parse(R"({"type": "object", "properties": {
          "label": {"type": "string", "minLength": 1, "maxLength": 12},
          "kind": {"enum": ["photo", "drawing", "diagram"]},
          "count": {"type": "integer", "minimum": 0, "maximum": 20},
          "score": {"enum": [0, 0.25, 0.5, 0.75, 1]},
          "flagged": {"type": "boolean"},
          "box": {"type": "object", "properties": {
             "x": {"type": "integer", "minimum": -5, "maximum": 5},
             "y": {"type": "integer", "minimum": -5, "maximum": 5}},
           "required": ["x", "y"], "additionalProperties": false}},
        "required": ["label", "kind", "count", "score", "flagged", "box"], "additionalProperties": false})"),
       [](const json& v) {
         ASSERT_TRUE(v.is_object());
         EXPECT_EQ(v.size(), 6u);
         EXPECT_TRUE(short_string(v.at("label"), 12)) << v.at("label");
         const std::string kind = v.at("kind").get<std::string>();
         EXPECT_TRUE(kind == "photo" || kind == "drawing" || kind == "diagram") << kind;
         ASSERT_TRUE(v.at("count").is_number_integer());
         EXPECT_GE(v.at("count").get<int64_t>(), 0);
         EXPECT_LE(v.at("count").get<int64_t>(), 20);
         ASSERT_TRUE(v.at("score").is_number());
         const double score = v.at("score").get<double>();
         EXPECT_TRUE(score == 0 || score == 0.25 || score == 0.5 || score == 0.75 || score == 1) << score;
         EXPECT_TRUE(v.at("flagged").is_boolean());
         const json& box = v.at("box");
         ASSERT_TRUE(box.is_object());
         EXPECT_EQ(box.size(), 2u);
         for (const char* axis : {"x", "y"}) {
           ASSERT_TRUE(box.at(axis).is_number_integer());
           EXPECT_GE(box.at(axis).get<int64_t>(), -5);
           EXPECT_LE(box.at(axis).get<int64_t>(), 5);
         }
       }});
  cases.push_back(
      {"arrays with bounds, of enums and of objects",
       json::parse(R"({"type": "object", "properties": {
          "colors": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "minItems": 1, "maxItems": 3},
          "points": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "object",
             "properties": {"v": {"type": "integer", "minimum": 0, "maximum": 99}},
             "required": ["v"], "additionalProperties": false}}},
        "required": ["colors", "points"], "additionalProperties": false})"),
       [](const json& v) {
         ASSERT_TRUE(v.is_object());
         const json& colors = v.at("colors");
         ASSERT_TRUE(colors.is_array());
         EXPECT_GE(colors.size(), 1u);
         EXPECT_LE(colors.size(), 3u);
         for (const json& c : colors) {
           const std::string name = c.get<std::string>();
           EXPECT_TRUE(name == "red" || name == "green" || name == "blue") << name;
         }
         const json& points = v.at("points");
         ASSERT_TRUE(points.is_array());
         ASSERT_EQ(points.size(), 2u);
         for (const json& p : points) {
           ASSERT_TRUE(p.at("v").is_number_integer());
           EXPECT_GE(p.at("v").get<int64_t>(), 0);
           EXPECT_LE(p.at("v").get<int64_t>(), 99);
         }
       }});
  // Free-form "number" is left out on purpose: a random model never ends its decimals (a real
  // one does), so it would only test max_new_tokens.
  cases.push_back({"top-level array of bounded integers",
                   json::parse(R"({"type": "array", "items": {"type": "integer", "minimum": -50, "maximum": 50},
                                  "minItems": 3, "maxItems": 3})"),
                   [](const json& v) {
                     ASSERT_TRUE(v.is_array());
                     ASSERT_EQ(v.size(), 3u);
                     for (const json& x : v) {
                       ASSERT_TRUE(x.is_number_integer());
                       EXPECT_GE(x.get<int64_t>(), -50);
                       EXPECT_LE(x.get<int64_t>(), 50);
                     }
                   }});
  return cases;
}

TEST(ConstrainedOutput, GreedyAndSampledOutputsSatisfyTheirSchema) {
  const std::vector<std::string> prompts = {"Describe the picture.", "What is this?"};
  for (const SchemaCase& c : schema_cases()) {
    for (size_t p = 0; p < prompts.size(); ++p) {
      for (float temperature : {0.0f, 1.0f}) {
        const CaptionResult r = tiny().caption(request(prompts[p], schema(c.schema), temperature, 7 + p));
        SCOPED_TRACE(std::string(c.name) + " / prompt " + std::to_string(p) + " / T=" + std::to_string(temperature) +
                     ": " + r.text);
        ASSERT_TRUE(r.ok()) << r.error;
        EXPECT_EQ(r.finish_reason, FinishReason::StopToken);
        const json parsed = json::parse(r.text, nullptr, false);
        ASSERT_FALSE(parsed.is_discarded()) << "not JSON";
        c.check(parsed);
      }
    }
  }
}

TEST(ConstrainedOutput, DefaultLayoutIsCompactWithSpacedSeparators) {
  const json s = json::parse(R"({"type": "object", "properties": {"a": {"type": "array", "maxItems": 3,
      "items": {"type": "integer", "minimum": 0, "maximum": 9}}}, "required": ["a"], "additionalProperties": false})");
  const CaptionResult r = tiny().caption(request("List numbers.", schema(s)));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(std::regex_match(r.text, std::regex(R"(\{"a": \[(\d(, \d){0,2})?\]\})"))) << r.text;
}

TEST(ConstrainedOutput, RegexAndLarkGrammarsHold) {
  for (int seed = 0; seed < 3; ++seed) {
    const CaptionResult rx = tiny().caption(
        request("Code?", OutputConstraint{OutputConstraint::Kind::Regex, "[A-Z]{2}-[0-9]{3}"}, 1.0f, uint64_t(seed)));
    ASSERT_TRUE(rx.ok()) << rx.error;
    // (llguidance's \d is Unicode's, as in Rust's regex; [0-9] is ASCII in both.)
    EXPECT_TRUE(std::regex_match(rx.text, std::regex("[A-Z]{2}-[0-9]{3}"))) << rx.text;
    const CaptionResult lark = tiny().caption(request(
        "Answer.", OutputConstraint{OutputConstraint::Kind::Lark, "start: answer \".\"\nanswer: \"yes\" | \"no\" | \"maybe\""},
        1.0f, uint64_t(seed)));
    ASSERT_TRUE(lark.ok()) << lark.error;
    EXPECT_TRUE(lark.text == "yes." || lark.text == "no." || lark.text == "maybe.") << lark.text;
  }
}

TEST(ConstrainedOutput, UnconstrainedRequestsInTheSameBatchAreUnchanged) {
  const std::vector<std::string> prompts = {"Describe the picture.", "Tell me a story about a red square.",
                                            "What colour is the sky?"};
  std::vector<std::vector<int32_t>> alone;
  for (const auto& p : prompts) alone.push_back(tiny().caption(request(p, std::nullopt, 0, 0, 40)).token_ids);

  // Every request in flight at once: the engine batches them into the same steps.
  std::vector<CaptionResult> results(prompts.size() * 2);
  std::mutex mutex;
  std::condition_variable done;
  size_t completed = 0;
  auto on_complete = [&](size_t slot) {
    return [&, slot](const CaptionResult& r) {
      std::lock_guard<std::mutex> lock(mutex);
      results[slot] = r;
      ++completed;
      done.notify_all();
    };
  };
  const SchemaCase nested = schema_cases()[0];
  for (size_t i = 0; i < prompts.size(); ++i) {
    tiny().submit(request(prompts[i], std::nullopt, 0, 0, 40), {nullptr, on_complete(2 * i)});
    tiny().submit(request(prompts[(i + 1) % prompts.size()], schema(nested.schema), i == 1 ? 1.0f : 0.0f, 3),
                  {nullptr, on_complete(2 * i + 1)});
  }
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return completed == results.size(); });
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(results[2 * i].ok()) << results[2 * i].error;
    EXPECT_EQ(results[2 * i].token_ids, alone[i]) << "unconstrained prompt " << i << " changed next to constrained ones";
    const CaptionResult& bound = results[2 * i + 1];
    ASSERT_TRUE(bound.ok()) << bound.error;
    const json parsed = json::parse(bound.text, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << bound.text;
    nested.check(parsed);
  }
}

TEST(ConstrainedOutput, InvalidConstraintsAreRefusedAtSubmit) {
  const std::vector<OutputConstraint> invalid = {
      {OutputConstraint::Kind::JsonSchema, "{\"type\": "},                       // not JSON
      {OutputConstraint::Kind::JsonSchema, R"({"type": "colour"})"},             // no such type
      {OutputConstraint::Kind::JsonSchema, R"({"type": "string", "minLength": 5, "maxLength": 2})"},  // empty
      {OutputConstraint::Kind::JsonSchema, "[1, 2]"},                            // not a schema
      {OutputConstraint::Kind::Regex, "(unclosed"},
      {OutputConstraint::Kind::Lark, "start: missing_rule"},
      {OutputConstraint::Kind::JsonSchema, ""},
      {static_cast<OutputConstraint::Kind>(7), "x"},
  };
  for (const OutputConstraint& c : invalid) {
    SCOPED_TRACE(c.source);
    try {
      tiny().submit(request("Hi.", c));
      ADD_FAILURE() << "accepted";
    } catch (const std::exception& e) {
      EXPECT_STREQ(error_kind_of(e), "invalid_argument") << e.what();
    }
    EXPECT_THROW(tiny().check_constraint(c), std::exception);
  }
  EXPECT_NO_THROW(tiny().check_constraint(schema(schema_cases()[0].schema)));
  EXPECT_TRUE(tiny().caption(request("Hi.", std::nullopt, 0, 0, 5)).ok());  // still serving
}

}  // namespace
