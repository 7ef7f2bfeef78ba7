#include "model/forward_batch.h"

namespace loupe::model {

size_t VisionFeatures::bytes() const {
  size_t total = main.tensor().nbytes();
  for (const Buffer& level : deepstack) total += level.tensor().nbytes();
  return total;
}

}  // namespace loupe::model
