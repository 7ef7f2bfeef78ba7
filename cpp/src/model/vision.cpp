#include "model/vision.h"

#include <cmath>

#include "core/error.h"
#include "model/device_util.h"
#include "model/rope_tables.h"

namespace loupe::model {
namespace {

// Per-axis source coordinate on the G-point table and its two taps.
struct Tap {
  int64_t lo, hi;
  float w_lo, w_hi;
};

std::vector<Tap> axis_taps(int64_t n, int64_t G, bool align_corners) {
  std::vector<Tap> taps(n);
  for (int64_t i = 0; i < n; ++i) {
    float src;
    if (align_corners) {
      // End points land exactly on the table corners (HF: linspace(0, G-1, n)).
      src = n == 1 ? 0.f : float(i * (G - 1)) / float(n - 1);
    } else {
      src = std::max(0.f, (float(i) + 0.5f) * float(G) / float(n) - 0.5f);
    }
    const int64_t lo = std::min<int64_t>(int64_t(std::floor(src)), G - 1);
    const int64_t hi = std::min<int64_t>(lo + 1, G - 1);
    const float frac = src - float(lo);
    taps[i] = {lo, hi, 1.f - frac, frac};
  }
  return taps;
}

}  // namespace

std::vector<float> interpolate_pos_embed(const std::vector<float>& table, const GridTHW& grid,
                                         const VisionConfig& config, const VisionVariant& variant) {
  const int64_t V = config.hidden_size;
  int64_t G = 0;
  while ((G + 1) * (G + 1) <= config.num_position_embeddings) ++G;
  LOUPE_CHECK(int64_t(table.size()) == G * G * V, Internal, "pos_embed table has ", table.size(), " values");
  const auto ys = axis_taps(grid.h, G, variant.align_corners);
  const auto xs = axis_taps(grid.w, G, variant.align_corners);

  std::vector<std::pair<int32_t, int32_t>> coords;
  if (variant.merge_window_order) {
    coords = merge_window_coords(grid, config.spatial_merge_size);
  } else {
    for (int64_t t = 0; t < grid.t; ++t)
      for (int64_t r = 0; r < grid.h; ++r)
        for (int64_t c = 0; c < grid.w; ++c) coords.emplace_back(int32_t(r), int32_t(c));
  }
  std::vector<float> out(coords.size() * V);
  for (int64_t i = 0; i < int64_t(coords.size()); ++i) {
    const Tap& y = ys[coords[i].first];
    const Tap& x = xs[coords[i].second];
    const float* e00 = &table[(y.lo * G + x.lo) * V];
    const float* e01 = &table[(y.lo * G + x.hi) * V];
    const float* e10 = &table[(y.hi * G + x.lo) * V];
    const float* e11 = &table[(y.hi * G + x.hi) * V];
    const float w00 = y.w_lo * x.w_lo, w01 = y.w_lo * x.w_hi, w10 = y.w_hi * x.w_lo, w11 = y.w_hi * x.w_hi;
    float* o = &out[i * V];
    for (int64_t d = 0; d < V; ++d) o[d] = w00 * e00[d] + w01 * e01[d] + w10 * e10[d] + w11 * e11[d];
  }
  return out;
}

void vision_block(Backend& be, const VisionBlockWeights& w, const VisionConfig& c, Tensor h, Tensor cos, Tensor sin,
                  const std::vector<int32_t>& cu_seqlens) {
  const int64_t n = h.dim(0), V = c.hidden_size, H = c.num_heads, dv = c.head_dim();
  const DType act = be.activation_dtype();
  Buffer a(be, act, {n, V}), qkv(be, act, {n, 3 * V});
  be.layer_norm(a, h, w.norm1.weight, w.norm1.bias, 1e-6f);
  be.linear(qkv, a, w.qkv.weight, w.qkv.bias_or_null());
  // qkv rows are [q heads | k heads | v heads]; split into contiguous [n, H, dv] tensors.
  Buffer q(be, act, {n, H, dv}), k(be, act, {n, H, dv}), v(be, act, {n, H, dv});
  std::vector<int32_t> idx[3];
  for (int part = 0; part < 3; ++part) {
    idx[part].resize(n * H);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t hh = 0; hh < H; ++hh) idx[part][t * H + hh] = int32_t(t * 3 * H + part * H + hh);
  }
  Tensor heads = qkv.tensor().view({n * 3 * H, dv});
  Buffer iq = upload_i32(be, idx[0]), ik = upload_i32(be, idx[1]), iv = upload_i32(be, idx[2]);
  be.gather_rows(q.tensor().view({n * H, dv}), heads, iq);
  be.gather_rows(k.tensor().view({n * H, dv}), heads, ik);
  be.gather_rows(v.tensor().view({n * H, dv}), heads, iv);
  be.rope(q, cos, sin);
  be.rope(k, cos, sin);
  Buffer o(be, act, {n, H, dv});
  be.attention_segments(o, q, k, v, cu_seqlens, 1.0f / std::sqrt(float(dv)));
  be.linear(a, o.tensor().view({n, V}), w.proj.weight, w.proj.bias_or_null());
  be.add(h, h, a);
  be.layer_norm(a, h, w.norm2.weight, w.norm2.bias, 1e-6f);
  Buffer m(be, act, {n, c.intermediate_size});
  be.linear(m, a, w.fc1.weight, w.fc1.bias_or_null());
  be.gelu_tanh(m, m);
  be.linear(a, m, w.fc2.weight, w.fc2.bias_or_null());
  be.add(h, h, a);
}

void patch_merger(Backend& be, const MergerWeights& w, const VisionConfig& c, Tensor h, Tensor out,
                  bool postshuffle_norm, bool exact_gelu) {
  const int64_t n = h.dim(0), V = c.hidden_size, win = c.merge_window(), W4 = V * win;
  LOUPE_CHECK(n % win == 0, Internal, "patch merger: ", n, " patches is not a multiple of ", win);
  const DType act = be.activation_dtype();
  Buffer normed(be, act, {n, V});
  // Rows are in merge-window order, so each window is 4 consecutive rows: a pure reshape.
  if (postshuffle_norm) {
    be.layer_norm(normed.tensor().view({n / win, W4}), h.view({n / win, W4}), w.norm.weight, w.norm.bias, 1e-6f);
  } else {
    be.layer_norm(normed, h, w.norm.weight, w.norm.bias, 1e-6f);
  }
  Buffer mid(be, act, {n / win, W4});
  be.linear(mid, normed.tensor().view({n / win, W4}), w.fc1.weight, w.fc1.bias_or_null());
  if (exact_gelu) be.gelu_erf(mid, mid);
  else be.gelu_tanh(mid, mid);
  be.linear(out, mid, w.fc2.weight, w.fc2.bias_or_null());
}

VisionFeatures vision_tower(Backend& be, const Weights& w, const VisionConfig& c, const std::vector<float>& pos_table,
                            const float* pixel_values, const GridTHW& grid, const VisionVariant& variant) {
  const int64_t M = c.spatial_merge_size;
  LOUPE_CHECK(grid.t > 0 && grid.h > 0 && grid.w > 0 && grid.h % M == 0 && grid.w % M == 0, InvalidArgument,
              "image grid (", grid.t, ", ", grid.h, ", ", grid.w, ") must be positive and divisible by the merge size ",
              M);
  LOUPE_CHECK(pixel_values != nullptr, InvalidArgument, "visual item has neither pixel values nor features");
  const int64_t n = grid.patches(), V = c.hidden_size, O = c.out_hidden_size;
  const DType act = be.activation_dtype();

  Buffer pixels = upload_activation(be, pixel_values, {n, c.patch_dim()});
  Buffer h(be, act, {n, V});
  be.linear(h, pixels, w.patch_embed.weight, w.patch_embed.bias_or_null());
  std::vector<float> pos = interpolate_pos_embed(pos_table, grid, c, variant);
  Buffer pos_dev = upload_activation(be, pos.data(), {n, V});
  be.add(h, h, pos_dev);

  RopeTable rope = vision_rope_table(grid, c);
  Buffer cos = upload_f32(be, rope.cos, {n, rope.half}), sin = upload_f32(be, rope.sin, {n, rope.half});
  std::vector<int32_t> cu_seqlens{0};  // one attention segment per frame group
  for (int64_t t = 0; t < grid.t; ++t) cu_seqlens.push_back(int32_t((t + 1) * grid.h * grid.w));

  VisionFeatures out;
  const int64_t tokens = n / c.merge_window();
  size_t level = 0;
  for (int64_t b = 0; b < c.depth; ++b) {
    vision_block(be, w.vision_blocks[b], c, h, cos, sin, cu_seqlens);
    if (level < c.deepstack_visual_indexes.size() && c.deepstack_visual_indexes[level] == b) {
      Buffer ds(be, act, {tokens, O});
      patch_merger(be, w.deepstack_mergers[level], c, h, ds, /*postshuffle_norm=*/true, variant.merger_exact_gelu);
      out.deepstack.push_back(std::move(ds));
      ++level;
    }
  }
  out.main = Buffer(be, act, {tokens, O});
  patch_merger(be, w.merger, c, h, out.main, /*postshuffle_norm=*/false, variant.merger_exact_gelu);
  return out;
}

}  // namespace loupe::model
