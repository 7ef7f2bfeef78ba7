#pragma once
// The options of Captioner::open, described once. Each has a stable snake_case name, a type,
// a default (the member initializer in engine.h, image.h or captioner.h) and one line of
// documentation. The Java API (through the catalog this description generates), the CLI
// and the Elasticsearch node settings all reach the runtime through these names, so a new
// option is a member, one line in src/api/captioner_options.cpp, and its use.
#include <string>
#include <string_view>
#include <vector>

#include "loupe/captioner.h"

namespace loupe {

struct OptionDescription {
  std::string name;
  std::string type;                  // "bool", "int32", "int64" (>= 0 where the member is unsigned), "double", "string"
  std::string default_value;         // in the text form set_captioner_option parses
  std::vector<std::string> choices;  // the accepted values of a string option; empty = any
  std::string doc;
};

// Every option, in a stable order.
const std::vector<OptionDescription>& captioner_option_descriptions();

// Sets one option from its text form ("true", "64", "0.3", "cuda:1"). Error(InvalidArgument)
// names the option for an unknown name or a value its type does not accept.
void set_captioner_option(CaptionerOptions& options, std::string_view name, std::string_view value);

// The defaults with "name=value" lines applied in order (the form the Java binding passes).
CaptionerOptions captioner_options_from_lines(std::string_view lines);

}  // namespace loupe
