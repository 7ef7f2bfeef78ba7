#include "loupe/loupe.h"

namespace loupe {

std::string version() { return LOUPE_VERSION; }

}  // namespace loupe
