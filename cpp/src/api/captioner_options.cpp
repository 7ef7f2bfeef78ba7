// The one table of Captioner::open's options: name, member and doc. Defaults are read from
// the members' initializers, never written here.
#include "loupe/options.h"

#include <charconv>
#include <functional>
#include <limits>
#include <type_traits>

#include "core/error.h"

namespace loupe {
namespace {

template <class T>
const char* type_name() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_floating_point_v<T>) return "double";
  else if constexpr (sizeof(T) <= 4 && std::is_signed_v<T>) return "int32";
  else return "int64";
}

template <class T>
std::string format(const T& value) {
  if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
  else if constexpr (std::is_same_v<T, std::string>) return value;
  else {
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value);  // shortest exact form
    return std::string(text, result.ptr);
  }
}

template <class T>
T parse(std::string_view name, std::string_view text, const std::vector<std::string>& choices) {
  auto refuse = [&](const char* wanted) {
    LOUPE_FAIL(InvalidArgument, "option ", name, " must be ", wanted, ", got '", text, "'");
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (text == "true") return true;
    if (text == "false") return false;
    refuse("true or false");
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (text.find('\n') != std::string_view::npos) refuse("a single line");
    if (choices.empty()) return std::string(text);
    for (const auto& choice : choices)
      if (text == choice) return choice;
    std::string listed;
    for (size_t i = 0; i < choices.size(); ++i)
      listed += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("'" + choices[i] + "'");
    refuse(listed.c_str());
  } else {
    T value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
      refuse(std::is_floating_point_v<T> ? "a number"
             : std::is_unsigned_v<T>    ? "a non-negative integer"
                                        : "an integer in range");
    return value;
  }
  return T{};
}

struct Entry {
  OptionDescription description;
  std::function<void(CaptionerOptions&, std::string_view)> set;
};

// An option stored at options.*part.*field (part: the engine or image-limit options).
template <class T, class Part>
Entry option(const char* name, Part CaptionerOptions::*part, T Part::*field, const char* doc,
             std::vector<std::string> choices = {}) {
  const CaptionerOptions defaults;
  Entry entry{{name, type_name<T>(), format(defaults.*part.*field), choices, doc}, {}};
  entry.set = [name, part, field, choices](CaptionerOptions& o, std::string_view text) {
    (o.*part).*field = parse<T>(name, text, choices);
  };
  return entry;
}

// An option that is a member of CaptionerOptions itself.
template <class T>
Entry option(const char* name, T CaptionerOptions::*field, const char* doc) {
  const CaptionerOptions defaults;
  Entry entry{{name, type_name<T>(), format(defaults.*field), {}, doc}, {}};
  entry.set = [name, field](CaptionerOptions& o, std::string_view text) { o.*field = parse<T>(name, text, {}); };
  return entry;
}

const std::vector<Entry>& entries() {
  using C = CaptionerOptions;
  static const std::vector<Entry> table = {
      option("device", &C::engine, &EngineOptions::device, "cpu, cuda or cuda:N"),
      option("threads", &C::engine, &EngineOptions::threads, "CPU threads, 0 = all cores"),
      option("kv_cache_bytes", &C::engine, &EngineOptions::kv_cache_bytes,
             "KV-cache pool budget in bytes, 0 = kv_cache_fraction of free memory"),
      option("kv_cache_fraction", &C::engine, &EngineOptions::kv_cache_fraction,
             "share of free memory for the KV-cache pool when kv_cache_bytes is 0"),
      option("max_running", &C::engine, &EngineOptions::max_running, "requests generating at once (one batch)"),
      option("max_batch_tokens", &C::engine, &EngineOptions::max_batch_tokens, "new tokens per prefill step"),
      option("chunk_size", &C::engine, &EngineOptions::chunk_size, "longest prefill chunk of one request"),
      option("queue_limit", &C::engine, &EngineOptions::queue_limit,
             "requests beyond a full batch (max_running) that may wait; more are refused (overloaded)"),
      option("prepare_threads", &C::engine, &EngineOptions::prepare_threads,
             "threads that decode and preprocess the images of requests about to run"),
      option("vision_cache_bytes", &C::engine, &EngineOptions::vision_cache_bytes,
             "vision-feature cache budget in bytes, 0 = off"),
      option("prefix_cache", &C::engine, &EngineOptions::prefix_cache, "share the KV of common prompt prefixes"),
      option("max_prompt_tokens", &C::engine, &EngineOptions::max_prompt_tokens, "longest prompt, visual tokens included"),
      option("max_visual_tokens", &C::engine, &EngineOptions::max_visual_tokens, "merged visual tokens per request"),
      option("int8_text_weights", &C::engine, &EngineOptions::int8_text_weights,
             "CPU: text decoder linears as int8 (weight-only, one scale per output row)"),
      option("decode_graphs", &C::engine, &EngineOptions::decode_graphs,
             "GPU: replay text-only decode steps as CUDA graphs"),
      option("cuda_attention", &C::engine, &EngineOptions::cuda_attention,
             "GPU: fast attention kernels, or generic (the reference kernel, for diagnosis)", {"fast", "generic"}),
      option("cpu_bf16_activations", &C::engine, &EngineOptions::cpu_bf16_activations,
             "CPU: bf16-weight linears take rounded (PyTorch bf16) or exact (fp32-upcast) activations",
             {"rounded", "exact"}),
      option("max_encoded_bytes", &C::image_limits, &ImageLimits::max_encoded_bytes, "largest encoded image in bytes"),
      option("max_decoded_pixels", &C::image_limits, &ImageLimits::max_decoded_pixels,
             "largest image (width x height, from its header, before decoding)"),
      option("max_side", &C::image_limits, &ImageLimits::max_side, "largest image width or height"),
      option("max_images_per_request", &C::image_limits, &ImageLimits::max_images_per_request, "images per request"),
      option("min_pixels", &C::min_pixels, "resize budget floor in pixels, 0 = the checkpoint's"),
      option("max_pixels", &C::max_pixels, "resize budget in pixels, 0 = the checkpoint's"),
  };
  return table;
}

}  // namespace

const std::vector<OptionDescription>& captioner_option_descriptions() {
  static const std::vector<OptionDescription> descriptions = [] {
    std::vector<OptionDescription> out;
    for (const auto& entry : entries()) out.push_back(entry.description);
    return out;
  }();
  return descriptions;
}

void set_captioner_option(CaptionerOptions& options, std::string_view name, std::string_view value) {
  for (const auto& entry : entries())
    if (entry.description.name == name) return entry.set(options, value);
  LOUPE_FAIL(InvalidArgument, "unknown option '", name, "'");
}

CaptionerOptions captioner_options_from_lines(std::string_view lines) {
  CaptionerOptions options;
  while (!lines.empty()) {
    const size_t end = std::min(lines.find('\n'), lines.size());
    const std::string_view line = lines.substr(0, end);
    lines.remove_prefix(std::min(end + 1, lines.size()));
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    LOUPE_CHECK(eq != std::string_view::npos, InvalidArgument, "option line '", line, "' is not name=value");
    set_captioner_option(options, line.substr(0, eq), line.substr(eq + 1));
  }
  return options;
}

}  // namespace loupe
