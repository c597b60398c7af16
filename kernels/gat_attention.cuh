#pragma once

/// @file
/// @brief Fused multi-head attention forward (GAT and GATv2 forms) and its launcher.
///
/// One pass over each destination's in-edges computes the logits, an online softmax (running max
/// and sum) and the weighted sum of the messages z_j, for every head; only a log-sum-exp per
/// (node, head) is kept for backward (and, for the mean of heads or training, the per-head
/// aggregate o). Nodes whose in-degree exceeds the chunk bound are cut into chunks handled by
/// different warps, each writing a partial (max, sum, acc) state, and `attention_merge_kernel`
/// folds those states in edge order. docs/cuda.md has the mapping and the traffic.
///
/// Memory traffic per edge and head (GATv2, the minimum): the source index (4 B), the edge feature
/// (4 B per feature) and the message row z_j^h (4C B); per node and head: t_i^h (4C B), the output
/// (4C B) and the log-sum-exp (4 B). GAT reads the scalar score s_j^h (4 B) instead of nothing
/// more: its per-edge logit is three scalars.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/nn/activation.hpp"
#include "gatrec/nn/attention.hpp"
#include "gatrec/nn/fused_attention.hpp"
#include "gatrec/nn/online_softmax.hpp"
#include "warp_fragments.cuh"

namespace gatrec::cuda {

/// Device pointers of a CSR graph (destination order) and its transpose; see cuda::device_graph.
struct graph_view {
  index_t num_nodes = 0;
  offset_t num_edges = 0;
  int feature_stride = 0;                  ///< the graph's edge_dim (row stride of edge_features)
  const offset_t* in_offsets = nullptr;    ///< (N + 1)
  const index_t* in_sources = nullptr;     ///< (E)
  const float* edge_features = nullptr;    ///< (E, feature_stride)
  const offset_t* out_offsets = nullptr;   ///< (N + 1)
  const std::uint32_t* out_edge_ids = nullptr;  ///< (E) in-edge id of each out-edge slot
  const index_t* out_destinations = nullptr;    ///< (E) destination of each out-edge slot
};

/// Device pointers of a gatrec::segment_chunks.
struct chunk_view {
  std::int64_t num_chunks = 0;
  std::int64_t num_splits = 0;
  std::int64_t num_slots = 0;
  const index_t* node = nullptr;
  const offset_t* begin = nullptr;
  const offset_t* end = nullptr;
  const std::int64_t* slot = nullptr;
  const index_t* split_nodes = nullptr;
  const std::int64_t* split_slot_begin = nullptr;
};

/// Attention dropout of a forward/backward pair (see gatrec::dropout_keep_scale).
struct dropout_view {
  bool active = false;     ///< training with p > 0
  double p = 0.0;
  float scale = 1.0f;      ///< gatrec::dropout_scale(p)
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
};

/// The dropout of a layer with probability p in a given run mode.
inline dropout_view make_dropout_view(double p, const run_mode& mode) {
  dropout_view d;
  d.active = mode.training && p > 0.0;
  d.p = p;
  d.scale = static_cast<float>(dropout_scale(p));
  d.seed = mode.seed;
  d.step = mode.step;
  return d;
}

/// The fused forward's default `edges_per_step` (see attention_forward_args).
inline constexpr int default_forward_edges_per_step = 2;

/// Inputs, outputs and workspace of the fused forward. Shapes: N nodes, E edges, H heads, C head
/// width, D = edge_dim. Row-major throughout.
struct attention_forward_args {
  int heads = 1;
  int width = 0;          ///< C
  bool concat = true;
  int edge_dim = 0;       ///< D used by the score (0: ignore edge features), at most max_fused_edge_dim
  float slope = 0.2f;     ///< LeakyReLU slope inside the score
  dropout_view dropout;
  const float* z = nullptr;          ///< (N, HC) messages
  const float* z_dst = nullptr;      ///< (N, HC) GATv2: x W_dst + b_dst
  const float* score_src = nullptr;  ///< (N, H) GAT: <a_src, z_j>
  const float* score_dst = nullptr;  ///< (N, H) GAT: <a_dst, z_i>
  const float* att = nullptr;        ///< (H, C) GATv2: a
  const float* edge_weight = nullptr;///< GATv2: W_e (D, HC); GAT: M (D, H)
  const float* bias = nullptr;       ///< (concat ? HC : C) or null
  float* y = nullptr;                ///< (N, concat ? HC : C) output (null: skip; the mean needs o)
  float* o = nullptr;                ///< (N, HC) per-head aggregate before bias, or null
  float* lse = nullptr;              ///< (N, H) log-sum-exp, required
  float* alpha = nullptr;            ///< (E, H) attention weights, or null
  float* part_state = nullptr;       ///< (slots, H, 2) workspace for split nodes
  float* part_acc = nullptr;         ///< (slots, H, C) workspace for split nodes
  /// In-edges a lane group loads before folding them into its softmax, in edge order: 1 or 2.
  /// Two keep twice the rows z_j in flight (the forward waits on those gathers) for N more
  /// registers a lane; the results are bit-identical either way.
  int edges_per_step = default_forward_edges_per_step;
};

namespace kernels {

/// Blocks of 8 warps; the fused kernels declare __launch_bounds__(256, 2) (at most 128 registers:
/// GATv2's pass 1 needs 96-128, and a lower cap makes ptxas spill) or (256, 3) where they fit in 80
/// (unrolled_min_blocks).
inline constexpr int attention_block_threads = 256;
inline constexpr int attention_block_warps = attention_block_threads / 32;

/// Blocks an SM a fused kernel that loads `Unroll` edges a step asks room for. Left at 2, ptxas gave
/// the GATv2 forward 84 registers with two edges a step where one takes 75, which costs a block an
/// SM (24 warps -> 16: more than 80 registers fit only 2 blocks of 256); asked for 3 it fits in
/// 72-77 without spilling for layouts of at most 4 values a lane. Wider layouts keep 2: they hold 2
/// blocks either way.
template <class L, int Unroll>
inline constexpr int unrolled_min_blocks = Unroll == 2 && L::values <= 4 ? 3 : 2;

/// Writes a finished (node, head): o and y (concat: with the bias) from the group-0 lanes, the
/// log-sum-exp from lane 0, and turns the logits stored in alpha into weights.
template <class L>
__device__ __forceinline__ void finish_node_head(const attention_forward_args& a, index_t i, int h,
                                                 offset_t e_begin, offset_t e_end,
                                                 const softmax_state<float>& state, const float (&acc)[L::values]) {
  const int lane = threadIdx.x & 31;
  const int rank = lane % L::group;
  const int C = a.width, H = a.heads;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float norm = softmax_normaliser(state);
  const float lse = softmax_log_sum_exp(state);
  if (lane < L::group) {
    float out[L::values];
#pragma unroll
    for (int n = 0; n < L::values; ++n) out[n] = acc[n] * norm;
    if (a.o != nullptr) store_fragment<L>(a.o + i * HC + static_cast<std::int64_t>(h) * C, C, rank, out);
    if (a.concat && a.y != nullptr) {
      if (a.bias != nullptr) {
        float b[L::values];
        load_fragment<L>(a.bias + static_cast<std::int64_t>(h) * C, C, rank, b);
#pragma unroll
        for (int n = 0; n < L::values; ++n) out[n] += b[n];
      }
      store_fragment<L>(a.y + i * HC + static_cast<std::int64_t>(h) * C, C, rank, out);
    }
  }
  if (lane == 0) a.lse[static_cast<std::int64_t>(i) * H + h] = lse;
  if (a.alpha != nullptr) {
    __syncwarp();  // the logits were written by other lanes of this warp
    for (offset_t e = e_begin + lane; e < e_end; e += 32) a.alpha[e * H + h] = softmax_weight(a.alpha[e * H + h], lse);
  }
}

/// Head h's edge-feature weights, constant for a warp: GATv2 the rows W_e[k] (this lane's columns
/// of the head), GAT the folded scalars M[k][h]; features beyond edge_dim read as 0.
template <attention_form Form, class L>
__device__ __forceinline__ void load_head_edge_weights(const float* edge_weight, int heads, int width, int edge_dim,
                                                       int h, int rank, float (&we)[max_fused_edge_dim][L::values],
                                                       float (&m)[max_fused_edge_dim]) {
  if constexpr (Form == attention_form::gatv2) {
    const std::int64_t row = static_cast<std::int64_t>(heads) * width;
#pragma unroll
    for (int k = 0; k < max_fused_edge_dim; ++k) {
      if (k < edge_dim)
        load_fragment<L>(edge_weight + k * row + static_cast<std::int64_t>(h) * width, width, rank, we[k]);
      else
        zero_fragment(we[k]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < max_fused_edge_dim; ++k) m[k] = k < edge_dim ? edge_weight[k * heads + h] : 0.f;
  }
}

/// The fused forward: each active warp walks (chunk, head) items; its groups take one in-edge each,
/// `Unroll` edges a step.
template <attention_form Form, class L, int Unroll>
__global__ void __launch_bounds__(attention_block_threads, unrolled_min_blocks<L, Unroll>)
    attention_forward_kernel(attention_forward_args a, graph_view g, chunk_view ch, std::int64_t warps_per_head) {
  constexpr int N = L::values, P = L::groups;
  const std::int64_t warp = static_cast<std::int64_t>(blockIdx.x) * attention_block_warps + (threadIdx.x >> 5);
  const int H = a.heads, C = a.width, D = a.edge_dim;
  if (warp >= warps_per_head * H) return;  // whole warps leave together
  const int h = static_cast<int>(warp % H);
  const int lane = threadIdx.x & 31, rank = lane % L::group, q = lane / L::group;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float slope = a.slope;

  // Per-warp constants of head h.
  float att[N];
  float we[max_fused_edge_dim][N];
  float m[max_fused_edge_dim];
  if constexpr (Form == attention_form::gatv2) load_fragment<L>(a.att + static_cast<std::int64_t>(h) * C, C, rank, att);
  load_head_edge_weights<Form, L>(a.edge_weight, H, C, D, h, rank, we, m);

  for (std::int64_t c = warp / H; c < ch.num_chunks; c += warps_per_head) {
    const index_t i = ch.node[c];
    const offset_t e_begin = ch.begin[c], e_end = ch.end[c];
    const std::int64_t slot = ch.slot[c];
    float t[N];
    float d_i = 0.f;
    if constexpr (Form == attention_form::gatv2)
      load_fragment<L>(a.z_dst + i * HC + static_cast<std::int64_t>(h) * C, C, rank, t);
    else
      d_i = a.score_dst[static_cast<std::int64_t>(i) * H + h];

    softmax_state<float> state = softmax_empty<float>();
    float acc[N];
    zero_fragment(acc);
    // A group takes edges e, e + P, e + 2P, ... in turn; each step loads the rows of its next
    // `Unroll` edges before it folds them, in that order, into its softmax, so results do not
    // depend on Unroll. The source indices run one step ahead, so a step waits on one dependent
    // load (the rows z_j), not two.
    constexpr int stride = Unroll * P;
    index_t j_next[Unroll];
#pragma unroll
    for (int u = 0; u < Unroll; ++u) j_next[u] = e_begin + q + u * P < e_end ? g.in_sources[e_begin + q + u * P] : 0;
    for (offset_t base = e_begin; base < e_end; base += stride) {
      float zf[Unroll][N];
      float s_j[Unroll];  // GAT: the sources' scores
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const offset_t e = base + q + u * P;
        const index_t j = j_next[u];
        if (e + stride < e_end) j_next[u] = g.in_sources[e + stride];
        s_j[u] = 0.f;
        if (e < e_end)  // uniform within a group; every lane reaches the shuffles below
          load_fragment<L>(a.z + j * HC + static_cast<std::int64_t>(h) * C, C, rank, zf[u]);
        else
          zero_fragment(zf[u]);
        if constexpr (Form == attention_form::gat)
          if (e < e_end) s_j[u] = a.score_src[static_cast<std::int64_t>(j) * H + h];
      }
      float logit[Unroll];
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const offset_t e = base + q + u * P;
        logit[u] = 0.f;
        if (e < e_end) {
          const float* r = g.edge_features + e * g.feature_stride;
          if constexpr (Form == attention_form::gatv2) {
            float pe[N];
            gatv2_edge_term(r, D, we, pe);
            logit[u] = gatv2_partial_logit(zf[u], t, pe, att, slope);
          } else {
            logit[u] = leaky_relu(gat_edge_score(s_j[u], d_i, r, D, m), slope);
          }
        }
        if constexpr (Form == attention_form::gatv2) logit[u] = group_sum<L::group>(logit[u]);
      }
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const offset_t e = base + q + u * P;
        if (e < e_end) {
          const float kappa = dropout_keep_scale<float>(a.dropout.active, a.dropout.p, a.dropout.scale, a.dropout.seed,
                                                        a.dropout.step, e, H, h);
          const softmax_step<float> s = softmax_push(state, logit[u]);
          softmax_accumulate(acc, s.rescale, kappa * s.weight, zf[u]);
          if (a.alpha != nullptr && rank == 0) a.alpha[e * H + h] = logit[u];
        }
      }
    }
    merge_over_groups<L::group>(state, acc);

    if (slot < 0) {
      finish_node_head<L>(a, i, h, e_begin, e_end, state, acc);
    } else {
      if (lane < L::group) store_fragment<L>(a.part_acc + (slot * H + h) * C, C, rank, acc);
      if (lane == 0) {
        a.part_state[(slot * H + h) * 2] = state.max;
        a.part_state[(slot * H + h) * 2 + 1] = state.sum;
      }
    }
  }
}

/// Folds the partial states of each split node, in slot (edge) order, and finishes it. One warp
/// per (split node, head) item, grid-stride; lanes over columns, 32 at a time.
__global__ void __launch_bounds__(attention_block_threads, 2)
    attention_merge_kernel(attention_forward_args a, graph_view g, chunk_view ch) {
  const int H = a.heads, C = a.width;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const int lane = threadIdx.x & 31;
  for (std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * attention_block_warps + (threadIdx.x >> 5);
       item < ch.num_splits * H; item += static_cast<std::int64_t>(gridDim.x) * attention_block_warps) {
    const std::int64_t k = item / H;
    const int h = static_cast<int>(item % H);
    const index_t i = ch.split_nodes[k];
    const std::int64_t s_begin = ch.split_slot_begin[k], s_end = ch.split_slot_begin[k + 1];
    softmax_state<float> state = softmax_empty<float>();
    for (int c0 = 0; c0 < C; c0 += 32) {
      const int col = c0 + lane;
      state = softmax_empty<float>();
      float acc[1] = {0.f};
      for (std::int64_t s = s_begin; s < s_end; ++s) {
        const softmax_state<float> part{a.part_state[(s * H + h) * 2], a.part_state[(s * H + h) * 2 + 1]};
        const softmax_merge_factors<float> f = softmax_merge(state, part);
        const float x[1] = {col < C ? a.part_acc[(s * H + h) * C + col] : 0.f};
        float merged[1];
        softmax_combine(acc, f.first, x, f.second, merged);
        acc[0] = merged[0];
      }
      if (col < C) {
        const float out = acc[0] * softmax_normaliser(state);
        if (a.o != nullptr) a.o[i * HC + static_cast<std::int64_t>(h) * C + col] = out;
        if (a.concat && a.y != nullptr)
          a.y[i * HC + static_cast<std::int64_t>(h) * C + col] =
              a.bias != nullptr ? out + a.bias[static_cast<std::int64_t>(h) * C + col] : out;
      }
    }
    const float lse = softmax_log_sum_exp(state);
    if (lane == 0) a.lse[static_cast<std::int64_t>(i) * H + h] = lse;
    if (a.alpha != nullptr)
      for (offset_t e = g.in_offsets[i] + lane; e < g.in_offsets[i + 1]; e += 32)
        a.alpha[e * H + h] = softmax_weight(a.alpha[e * H + h], lse);
  }
}

/// y_i = (1/H) sum_h o_i^h + b (the mean of heads). One thread per output element.
__global__ void head_mean_kernel(const float* __restrict__ o, const float* __restrict__ bias, float* __restrict__ y,
                                 index_t n, int heads, int width) {
  const std::int64_t total = static_cast<std::int64_t>(n) * width;
  for (std::int64_t k = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = k / width;
    const int c = static_cast<int>(k % width);
    float s = 0.f;
    for (int h = 0; h < heads; ++h) s += o[(i * heads + h) * width + c];
    float v = s / static_cast<float>(heads);
    if (bias != nullptr) v += bias[c];
    y[k] = v;
  }
}

/// GAT node scores: s_j^h = <a_src^h, z_j^h>, d_j^h = <a_dst^h, z_j^h>. One warp per node.
__global__ void __launch_bounds__(attention_block_threads, 2)
    gat_node_scores_kernel(const float* __restrict__ z, const float* __restrict__ att_src,
                           const float* __restrict__ att_dst, float* __restrict__ score_src,
                           float* __restrict__ score_dst, index_t n, int heads, int width) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * attention_block_warps;
  const int lane = threadIdx.x & 31;
  const std::int64_t HC = static_cast<std::int64_t>(heads) * width;
  for (std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * attention_block_warps + (threadIdx.x >> 5); j < n;
       j += stride) {
    for (int h = 0; h < heads; ++h) {
      float s = 0.f, d = 0.f;
      for (int c = lane; c < width; c += 32) {
        const float v = z[j * HC + static_cast<std::int64_t>(h) * width + c];
        s += att_src[h * width + c] * v;
        d += att_dst[h * width + c] * v;
      }
      s = warp_sum(s);
      d = warp_sum(d);
      if (lane == 0) {
        score_src[j * heads + h] = s;
        score_dst[j * heads + h] = d;
      }
    }
  }
}

/// M[k, h] = sum_c W_e[k, hC + c] a_edge[h, c] (the GAT edge weights folded with a_edge).
__global__ void gat_fold_edge_weights_kernel(const float* __restrict__ weight_edge, const float* __restrict__ att_edge,
                                             float* __restrict__ m, int edge_dim, int heads, int width) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= edge_dim * heads) return;
  const int d = k / heads, h = k % heads;
  float s = 0.f;
  for (int c = 0; c < width; ++c)
    s += weight_edge[static_cast<std::int64_t>(d) * heads * width + h * width + c] * att_edge[h * width + c];
  m[k] = s;
}

}  // namespace kernels

namespace detail {

/// Whether every pointer is 16-byte aligned (float4 loads need it; rows are then aligned too when
/// the widths are multiples of 4).
inline bool aligned16(std::initializer_list<const void*> ptrs) {
  for (const void* p : ptrs)
    if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) return false;
  return true;
}

/// Calls f(kernels::lane_layout<...>{}) for the layout gatrec::choose_lane_layout picks.
template <class F>
void dispatch_lane_layout(int width, bool aligned, F&& f) {
  const lane_layout_choice c = choose_lane_layout(width, aligned);
  using kernels::lane_layout;
  if (c == lane_layout_choice{4, 1, 2}) return f(lane_layout<4, 1, 2>{});
  if (c == lane_layout_choice{4, 1, 4}) return f(lane_layout<4, 1, 4>{});
  if (c == lane_layout_choice{4, 1, 8}) return f(lane_layout<4, 1, 8>{});
  if (c == lane_layout_choice{4, 1, 16}) return f(lane_layout<4, 1, 16>{});
  if (c == lane_layout_choice{4, 1, 32}) return f(lane_layout<4, 1, 32>{});
  if (c == lane_layout_choice{4, 2, 32}) return f(lane_layout<4, 2, 32>{});
  if (c == lane_layout_choice{1, 1, 32}) return f(lane_layout<1, 1, 32>{});
  if (c == lane_layout_choice{1, 4, 32}) return f(lane_layout<1, 4, 32>{});
  if (c == lane_layout_choice{1, 8, 32}) return f(lane_layout<1, 8, 32>{});
  GATREC_EXPECTS(false, "no kernel compiled for this lane layout");
}

/// Blocks for a warp-per-item grid-stride kernel over `items` items (at most 65535 blocks).
inline unsigned warp_grid_size(std::int64_t items) {
  const std::int64_t blocks = (items + kernels::attention_block_warps - 1) / kernels::attention_block_warps;
  return static_cast<unsigned>(std::min<std::int64_t>(std::max<std::int64_t>(blocks, 1), 65535));
}

/// Blocks for a thread-per-element grid-stride kernel.
inline unsigned element_grid_size(std::int64_t elements, int threads = 256) {
  const std::int64_t blocks = (elements + threads - 1) / threads;
  return static_cast<unsigned>(std::min<std::int64_t>(std::max<std::int64_t>(blocks, 1), 65535));
}

}  // namespace detail

/// The schedule the fused attention kernels use for a chunk list and head count.
inline warp_schedule attention_schedule(const chunk_view& ch, int heads) {
  return make_warp_schedule(ch.num_chunks, heads, kernels::attention_block_warps);
}

/// Checks what every fused launcher needs from its shapes.
inline void check_attention_shapes(const graph_view& g, const chunk_view& ch, int heads, int width, int edge_dim) {
  GATREC_EXPECTS(heads > 0, "heads must be positive");
  GATREC_EXPECTS(width >= 1 && width <= max_fused_head_dim, "head width " + std::to_string(width) +
                                                                " outside [1, " + std::to_string(max_fused_head_dim) + "]");
  GATREC_EXPECTS(edge_dim >= 0 && edge_dim <= max_fused_edge_dim,
                 "edge_dim " + std::to_string(edge_dim) + " exceeds the fused kernels' " +
                     std::to_string(max_fused_edge_dim));
  GATREC_EXPECTS(edge_dim == 0 || g.feature_stride >= edge_dim, "the graph has fewer edge features than edge_dim");
  GATREC_EXPECTS(ch.num_chunks >= g.num_nodes, "the chunk list does not cover the graph");
}

/// The fused attention forward: lse (and y, o, alpha when given) for every node and head.
/// @throw logic_error on bad shapes or missing buffers; cuda_error when a launch fails
template <attention_form Form>
void attention_forward(const attention_forward_args& a, const graph_view& g, const chunk_view& in_chunks,
                       cudaStream_t stream = nullptr) {
  check_attention_shapes(g, in_chunks, a.heads, a.width, a.edge_dim);
  GATREC_EXPECTS(a.lse != nullptr && a.z != nullptr, "z and lse are required");
  GATREC_EXPECTS(a.concat || a.y == nullptr || a.o != nullptr, "the mean of heads needs the o buffer");
  GATREC_EXPECTS(in_chunks.num_slots == 0 || (a.part_state != nullptr && a.part_acc != nullptr),
                 "split nodes need the partial-state workspace");
  if constexpr (Form == attention_form::gatv2)
    GATREC_EXPECTS(a.z_dst != nullptr && a.att != nullptr, "GATv2 needs z_dst and att");
  else
    GATREC_EXPECTS(a.score_src != nullptr && a.score_dst != nullptr, "GAT needs the node scores");
  GATREC_EXPECTS(a.edge_dim == 0 || a.edge_weight != nullptr, "edge features need edge weights");
  GATREC_EXPECTS(a.edges_per_step == 1 || a.edges_per_step == 2,
                 "edges_per_step must be 1 or 2, got " + std::to_string(a.edges_per_step));
  if (g.num_nodes == 0) return;
  const bool aligned = detail::aligned16({a.z, a.z_dst, a.att, a.edge_weight, a.bias, a.y, a.o, a.part_acc});
  const warp_schedule s = attention_schedule(in_chunks, a.heads);
  detail::dispatch_lane_layout(a.width, aligned, [&](auto layout) {
    using L = decltype(layout);
    const launch_shape shape{static_cast<unsigned>(s.blocks), kernels::attention_block_threads, 0, stream};
    if (a.edges_per_step == 2)
      launch_kernel(kernels::attention_forward_kernel<Form, L, 2>, shape, a, g, in_chunks, s.warps_per_head);
    else
      launch_kernel(kernels::attention_forward_kernel<Form, L, 1>, shape, a, g, in_chunks, s.warps_per_head);
    GATREC_CUDA_CHECK_LAST();
  });
  if (in_chunks.num_splits > 0) {
    launch_kernel(kernels::attention_merge_kernel,
                  {detail::warp_grid_size(in_chunks.num_splits * a.heads), kernels::attention_block_threads, 0, stream},
                  a, g, in_chunks);
    GATREC_CUDA_CHECK_LAST();
  }
  if (!a.concat && a.y != nullptr) {
    const std::int64_t n = static_cast<std::int64_t>(g.num_nodes) * a.width;
    launch_kernel(kernels::head_mean_kernel, {detail::element_grid_size(n), 256, 0, stream}, a.o, a.bias, a.y,
                  g.num_nodes, a.heads, a.width);
    GATREC_CUDA_CHECK_LAST();
  }
}

/// GAT node scores s = <a_src, z>, d = <a_dst, z> per node and head.
inline void gat_node_scores(const float* z, const float* att_src, const float* att_dst, float* score_src,
                            float* score_dst, index_t n, int heads, int width, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(heads > 0 && width > 0 && n >= 0, "bad shapes");
  if (n == 0) return;
  launch_kernel(kernels::gat_node_scores_kernel,
                {detail::warp_grid_size(n), kernels::attention_block_threads, 0, stream}, z, att_src, att_dst,
                score_src, score_dst, n, heads, width);
  GATREC_CUDA_CHECK_LAST();
}

/// M = W_e folded with a_edge, (edge_dim, H).
inline void gat_fold_edge_weights(const float* weight_edge, const float* att_edge, float* m, int edge_dim, int heads,
                                  int width, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(edge_dim >= 0 && heads > 0 && width > 0, "bad shapes");
  if (edge_dim == 0) return;
  const int total = edge_dim * heads;
  launch_kernel(kernels::gat_fold_edge_weights_kernel, {(total + 127) / 128, 128, 0, stream}, weight_edge, att_edge, m,
                edge_dim, heads, width);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
