// loupe-options-catalog OUT: writes the description of Captioner::open's options as the
// catalog the Java binding reads (dev/loupe/options.tsv): one option per line,
// name<TAB>type<TAB>default<TAB>choices joined by '|'<TAB>doc.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "loupe/options.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT\n", argv[0]);
    return 2;
  }
  std::ofstream out(argv[1]);
  for (const auto& option : loupe::captioner_option_descriptions()) {
    std::string choices;
    for (size_t i = 0; i < option.choices.size(); ++i) choices += (i ? "|" : "") + option.choices[i];
    for (const std::string* field : {&option.default_value, static_cast<const std::string*>(&choices), &option.doc})
      if (field->find_first_of("\t\n") != std::string::npos) {
        std::cerr << "option " << option.name << ": a tab or newline cannot go into the catalog\n";
        return 1;
      }
    out << option.name << '\t' << option.type << '\t' << option.default_value << '\t' << choices << '\t' << option.doc
        << '\n';
  }
  return out.good() ? 0 : 1;
}
