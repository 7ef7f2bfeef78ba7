#pragma once
// Vision tower, one function per spec stage (§6): patch embedding, learned position
// embedding interpolation, 2-D RoPE (rope_tables.h), blocks with per-frame attention,
// the main merger and the deepstack mergers.
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "model/config.h"
#include "model/forward_batch.h"
#include "model/weights.h"

namespace loupe::model {

// Deliberately wrong variants exist so tests can prove each spec §11 pitfall is caught.
struct VisionVariant {
  bool align_corners = true;      // pos-embed interpolation corners (§6.3)
  bool merge_window_order = true; // pos-embed rows permuted like the patches (§3.6)
  bool merger_exact_gelu = true;  // mergers use erf GELU, not tanh (§6.8)
};

// Bilinearly interpolated learned position embedding [grid.patches(), V] (host fp32), rows in
// merge-window order and repeated over t. `table` is pos_embed.weight as fp32 [G·G, V].
std::vector<float> interpolate_pos_embed(const std::vector<float>& table, const GridTHW& grid,
                                         const VisionConfig& config, const VisionVariant& variant = {});

// One ViT block in place on h [n, V]; cos/sin [n, dv/2]; attention within cu_seqlens segments.
void vision_block(Backend& backend, const VisionBlockWeights& w, const VisionConfig& config, Tensor h, Tensor cos,
                  Tensor sin, const std::vector<int32_t>& cu_seqlens);

// Patch merger: h [n, V] -> out [n/4, O]. postshuffle_norm=false: LayerNorm over V first
// (main merger); true: concatenate 2x2 windows first, LayerNorm over 4V (deepstack).
void patch_merger(Backend& backend, const MergerWeights& w, const VisionConfig& config, Tensor h, Tensor out,
                  bool postshuffle_norm, bool exact_gelu = true);

// The whole tower for one image or video: pixel_values [t·h·w, C·Tp·P·P] host fp32.
VisionFeatures vision_tower(Backend& backend, const Weights& weights, const VisionConfig& config,
                            const std::vector<float>& pos_table, const float* pixel_values, const GridTHW& grid,
                            const VisionVariant& variant = {});

}  // namespace loupe::model
