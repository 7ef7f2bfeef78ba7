#pragma once
// Public C++ API of libloupe. Small and stable: the Java binding maps it one to one.
#include <string>

namespace loupe {

// Library version, e.g. "0.1.0".
std::string version();

}  // namespace loupe
