#pragma once

/// @file
/// @brief The per-edge and per-lane math of the fused attention kernels, and how their work is cut
/// into pieces. Shared by kernels/gat_attention*.cuh (nvcc) and the CPU emulation of those kernels
/// (tests/unit/test_cuda_math_emulation.cpp, g++), so the functions the GPU runs are the ones the
/// CPU tests check against `gatrec::attention_layer`.
///
/// Work decomposition (docs/cuda.md):
/// - A CSR segment (a destination's in-edges, or a source's out-edge slots in the transposed view)
///   is cut into chunks of at most `chunk_edges` edges; a node with no edges still has one empty
///   chunk (it must write its output). A node cut into several chunks is "split": each chunk writes
///   a partial state to a slot, and a merge pass folds the slots in order.
/// - A warp takes (chunk, head) items: head h = warp % heads stays fixed for the warp's whole
///   grid-stride loop, so per-parameter gradients accumulate in its registers.
/// - Inside a warp, groups of G lanes each take one edge; lane r of a group holds K vectors of Vec
///   consecutive columns of the head (vector k starts at column (r + k G) Vec). Per-edge scalars
///   (logits, <g, z>) are sums of per-lane partials over the group.
///
/// No CUDA types; every function on the per-edge path is GATREC_HOST_DEVICE.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gatrec/core/config.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/nn/activation.hpp"

namespace gatrec {

/// The largest edge-feature width the fused kernels take (per-edge terms and their gradients are
/// held in registers, sized at compile time). The paper's model has 1 (the rating).
inline constexpr int max_fused_edge_dim = 2;

// ------------------------------------------------------------------------------------------------
// Work decomposition (host code)

/// A CSR segment array cut into chunks of bounded length.
struct segment_chunks {
  std::vector<index_t> node;      ///< (chunks) the node owning each chunk
  std::vector<offset_t> begin;    ///< (chunks) first edge (or out-edge slot) of the chunk
  std::vector<offset_t> end;      ///< (chunks) one past its last
  std::vector<std::int64_t> slot; ///< (chunks) partial-state slot, -1 when the chunk is its node's whole segment
  std::vector<index_t> split_nodes;          ///< (splits) nodes cut into several chunks, in node order
  std::vector<std::int64_t> split_slot_begin; ///< (splits + 1) slots of split k: [split_slot_begin[k], [k+1])
  offset_t chunk_edges = 0;       ///< the bound used

  std::int64_t num_chunks() const { return static_cast<std::int64_t>(node.size()); }
  std::int64_t num_splits() const { return static_cast<std::int64_t>(split_nodes.size()); }
  std::int64_t num_slots() const { return split_slot_begin.empty() ? 0 : split_slot_begin.back(); }
};

/// Chunks of at most `chunk_edges` edges over the segments [offsets[v], offsets[v+1]) of
/// `num_nodes` nodes. A node's chunks are consecutive and in edge order; slots of a split node are
/// consecutive too, so merges fold them in edge order.
/// @throw logic_error when chunk_edges < 1 or the offsets are not non-decreasing
inline segment_chunks make_segment_chunks(const offset_t* offsets, index_t num_nodes, offset_t chunk_edges) {
  GATREC_EXPECTS(chunk_edges >= 1, "chunk_edges must be positive");
  GATREC_EXPECTS(num_nodes >= 0, "negative node count");
  segment_chunks c;
  c.chunk_edges = chunk_edges;
  c.split_slot_begin.push_back(0);
  std::int64_t next_slot = 0;
  for (index_t v = 0; v < num_nodes; ++v) {
    const offset_t first = offsets[v], last = offsets[v + 1];
    GATREC_EXPECTS(last >= first, "CSR offsets decrease at node " + std::to_string(v));
    const offset_t degree = last - first;
    const offset_t pieces = std::max<offset_t>(1, (degree + chunk_edges - 1) / chunk_edges);
    for (offset_t p = 0; p < pieces; ++p) {
      c.node.push_back(v);
      c.begin.push_back(first + p * chunk_edges);
      c.end.push_back(std::min(last, first + (p + 1) * chunk_edges));
      c.slot.push_back(pieces == 1 ? -1 : next_slot++);
    }
    if (pieces > 1) {
      c.split_nodes.push_back(v);
      c.split_slot_begin.push_back(next_slot);
    }
  }
  return c;
}

/// How a persistent grid of warps walks (chunk, head) items. Warp w (global index) is active when
/// w < warps_per_head * heads; it owns head w % heads and the chunks w / heads, + warps_per_head, ...
/// The grid is a pure function of (chunks, heads), so results are bit-identical run to run.
struct warp_schedule {
  std::int64_t blocks = 1;
  int warps_per_block = 8;
  int heads = 1;
  std::int64_t warps_per_head = 1;

  std::int64_t active_warps() const { return warps_per_head * heads; }
};

/// The backward's per-warp parameter partials are summed by blocks of partial_reduce_columns x
/// partial_reduce_rows threads: columns across lanes, each row summing every R-th warp of its head
/// (R = partial_reduce_rows), then the row sums added in a fixed pairwise tree. Fixed, so the
/// gradients are bit-identical run to run.
inline constexpr int partial_reduce_columns = 32;
inline constexpr int partial_reduce_rows = 32;

/// Blocks of `warps_per_block` warps, enough for one item each up to `max_blocks` (then each warp
/// loops), and at least one warp per head.
inline warp_schedule make_warp_schedule(std::int64_t chunks, int heads, int warps_per_block = 8,
                                        std::int64_t max_blocks = 1024) {
  GATREC_EXPECTS(heads > 0 && warps_per_block > 0 && max_blocks > 0, "schedule sizes must be positive");
  warp_schedule s;
  s.heads = heads;
  s.warps_per_block = warps_per_block;
  const std::int64_t items = std::max<std::int64_t>(1, chunks) * heads;
  s.blocks = std::min<std::int64_t>((items + warps_per_block - 1) / warps_per_block, max_blocks);
  s.blocks = std::max<std::int64_t>(s.blocks, (heads + warps_per_block - 1) / warps_per_block);
  s.warps_per_head = s.blocks * warps_per_block / heads;
  return s;
}

// ------------------------------------------------------------------------------------------------
// Lane fragments

/// Column of element v of vector k held by lane r of a group of `group` lanes (`vec` columns per
/// vector). Columns at or past the head width are padding: loaded as 0, never stored.
GATREC_HOST_DEVICE int fragment_column(int lane_in_group, int k, int v, int group, int vec) {
  return (lane_in_group + k * group) * vec + v;
}

/// A lane layout the kernels are compiled for: `vec` columns per load (4: float4, 1: scalar),
/// `per_lane` vectors per lane, `group` lanes per edge (a power of two, at most 32).
struct lane_layout_choice {
  int vec = 1;
  int per_lane = 1;
  int group = 32;
  friend bool operator==(const lane_layout_choice& a, const lane_layout_choice& b) {
    return a.vec == b.vec && a.per_lane == b.per_lane && a.group == b.group;
  }
};

/// The widest head the fused kernels take.
inline constexpr int max_fused_head_dim = 256;

/// The lane layout for head width C. Rows 16-byte aligned (`vector_aligned`) and C a multiple of
/// 4: float4 loads, G lanes per edge with G the smallest power of two from 2 to 32 that covers C/4
/// float4s (C = 8, 16, 32, 64, 128 fill their lanes exactly; C = 12 or 48 leave lanes that only load
/// padding), two float4 per lane of a whole warp above C = 128. Otherwise a scalar layout with a
/// whole warp per edge and ceil(C/32) columns per lane rounded up to 1, 4 or 8. The kernels are
/// instantiated for exactly these layouts; the CPU emulation uses the same choice.
/// @throw logic_error when C is not in [1, max_fused_head_dim]
inline lane_layout_choice choose_lane_layout(int width, bool vector_aligned) {
  GATREC_EXPECTS(width >= 1 && width <= max_fused_head_dim,
                 "head width " + std::to_string(width) + " outside [1, " + std::to_string(max_fused_head_dim) +
                     "] for the fused attention kernels");
  if (vector_aligned && width % 4 == 0) {
    if (width > 128) return {4, 2, 32};
    int group = 2;
    while (4 * group < width) group *= 2;
    return {4, 1, group};
  }
  if (width <= 32) return {1, 1, 32};
  if (width <= 128) return {1, 4, 32};
  return {1, 8, 32};
}

/// Sum over one lane's N values of x_n * y_n (a partial of a dot product over the head).
template <class Scalar, int N>
GATREC_HOST_DEVICE Scalar partial_dot(const Scalar (&x)[N], const Scalar (&y)[N]) {
  Scalar s = 0;
  for (int n = 0; n < N; ++n) s += x[n] * y[n];
  return s;
}

// ------------------------------------------------------------------------------------------------
// Attention dropout

/// The factor kept edges are scaled by, 1/(1-p), computed once on the host as
/// attention_layer::keep_scale does (the device then never divides in double).
inline double dropout_scale(double p) { return 1.0 / (1.0 - p); }

/// kappa_e^h: 0 or `scale` = dropout_scale(p) in training with p > 0, else 1. The same
/// counter-based draw as attention_layer::keep_scale (uniform01(seed, step, e * heads + h)), so
/// masks agree everywhere.
template <class Scalar>
GATREC_HOST_DEVICE Scalar dropout_keep_scale(bool active, double p, Scalar scale, std::uint64_t seed,
                                             std::uint64_t step, offset_t e, int heads, int h) {
  if (!active) return Scalar(1);
  const double u = uniform01(seed, step, static_cast<std::uint64_t>(e) * static_cast<std::uint64_t>(heads) +
                                             static_cast<std::uint64_t>(h));
  return u < p ? Scalar(0) : scale;
}

// ------------------------------------------------------------------------------------------------
// GAT: scalar scores per edge (docs/math.md 2.1)

/// u_e^h = s_j^h + d_i^h + sum_k r_{e,k} M[k, h], with the head's column of M in `m`.
template <class Scalar>
GATREC_HOST_DEVICE Scalar gat_edge_score(Scalar s_j, Scalar d_i, const float* r, int edge_dim,
                                         const Scalar (&m)[max_fused_edge_dim]) {
  Scalar u = s_j + d_i;
  for (int k = 0; k < max_fused_edge_dim; ++k)
    if (k < edge_dim) u += static_cast<Scalar>(r[k]) * m[k];
  return u;
}

/// delta_e = dl_e * LReLU'(u_e): the gradient of the pre-activation score.
template <class Scalar>
GATREC_HOST_DEVICE Scalar gat_score_grad(Scalar dl, Scalar u, Scalar slope) {
  return dl * leaky_relu_grad(u, slope);
}

/// dM[k] += r_{e,k} delta_e for one edge.
template <class Scalar>
GATREC_HOST_DEVICE void gat_edge_weight_grad(Scalar delta, const float* r, int edge_dim,
                                             Scalar (&dm)[max_fused_edge_dim]) {
  for (int k = 0; k < max_fused_edge_dim; ++k)
    if (k < edge_dim) dm[k] += static_cast<Scalar>(r[k]) * delta;
}

// ------------------------------------------------------------------------------------------------
// GATv2: vector scores per edge, one lane's N columns (docs/math.md 2.2)

/// pe = sum_k r_{e,k} W_e[k, columns]: the edge term of v_e on this lane's columns (0 without
/// edge features).
template <class Scalar, int N>
GATREC_HOST_DEVICE void gatv2_edge_term(const float* r, int edge_dim, const Scalar (&we)[max_fused_edge_dim][N],
                                        Scalar (&pe)[N]) {
  for (int n = 0; n < N; ++n) pe[n] = Scalar(0);
  for (int k = 0; k < max_fused_edge_dim; ++k) {
    if (k >= edge_dim) break;
    const Scalar rk = static_cast<Scalar>(r[k]);
    for (int n = 0; n < N; ++n) pe[n] += rk * we[k][n];
  }
}

/// This lane's part of the logit: sum_n a_n LReLU(z_n + t_n + pe_n). Padding columns have a = 0.
template <class Scalar, int N>
GATREC_HOST_DEVICE Scalar gatv2_partial_logit(const Scalar (&z)[N], const Scalar (&t)[N], const Scalar (&pe)[N],
                                              const Scalar (&a)[N], Scalar slope) {
  Scalar l = 0;
  for (int n = 0; n < N; ++n) l += a[n] * leaky_relu(z[n] + t[n] + pe[n], slope);
  return l;
}

/// Destination-side backward of one edge on this lane's columns, given dl = dL/dl_e^h:
/// gamma = dl a LReLU'(v);  dt += gamma;  da += dl LReLU(v);  dwe[k] += r_k gamma.
template <class Scalar, int N>
GATREC_HOST_DEVICE void gatv2_destination_grad(const Scalar (&z)[N], const Scalar (&t)[N], const Scalar (&pe)[N],
                                               const Scalar (&a)[N], Scalar slope, Scalar dl, const float* r,
                                               int edge_dim, Scalar (&dt)[N], Scalar (&da)[N],
                                               Scalar (&dwe)[max_fused_edge_dim][N]) {
  Scalar rk[max_fused_edge_dim];
  for (int k = 0; k < max_fused_edge_dim; ++k) rk[k] = k < edge_dim ? static_cast<Scalar>(r[k]) : Scalar(0);
  for (int n = 0; n < N; ++n) {
    const Scalar v = z[n] + t[n] + pe[n];
    const Scalar gamma = dl * a[n] * leaky_relu_grad(v, slope);
    dt[n] += gamma;
    da[n] += dl * leaky_relu(v, slope);
    for (int k = 0; k < max_fused_edge_dim; ++k)
      if (k < edge_dim) dwe[k][n] += rk[k] * gamma;
  }
}

/// Source-side backward of one out-edge on this lane's columns: dz += w g + dl a LReLU'(v), with
/// w the dropped-out attention weight and g the destination's output gradient.
template <class Scalar, int N>
GATREC_HOST_DEVICE void gatv2_source_grad(const Scalar (&z)[N], const Scalar (&t)[N], const Scalar (&pe)[N],
                                          const Scalar (&a)[N], Scalar slope, Scalar w, const Scalar (&g)[N],
                                          Scalar dl, Scalar (&dz)[N]) {
  for (int n = 0; n < N; ++n) {
    const Scalar v = z[n] + t[n] + pe[n];
    dz[n] += w * g[n] + dl * a[n] * leaky_relu_grad(v, slope);
  }
}

}  // namespace gatrec
