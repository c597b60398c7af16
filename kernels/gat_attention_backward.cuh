#pragma once

/// @file
/// @brief Backward of the fused attention (GAT and GATv2 forms): two passes, no floating-point
/// atomics, bit-identical results run to run.
///
/// Pass 1 walks destinations (chunks of in-edges). Per edge it recomputes the logit, the weight
/// alpha = exp(l - lse) and dalpha = kappa <g_i, z_j>, then dl = alpha (dalpha - S_i) with
/// S_i = sum_f alpha_f dalpha_f, and the LeakyReLU backward; it writes the destination-owned
/// gradients (GAT dd_i, GATv2 dt_i) and (lse_i, S_i) pairs (N x H), and accumulates parameter
/// gradients (GAT dM, GATv2 da and dW_e) in registers of the warp, whose head is fixed.
/// S_i is summed by a first sweep over the chunk's edges (split nodes: a pass 0 over their chunks
/// writes per-chunk sums that pass 1 adds in chunk order). S_i also equals <g_i, o_i>, which needs
/// no sweep; the comment at the sweep in pass 1 says why that shortcut is not used.
/// Pass 2 walks sources through the transposed CSR (chunks of out-edge slots): it recomputes each
/// edge's dl from S_i with the same fragments and sums as pass 1 (so no E x H array of per-edge
/// gradients is written, kept or gathered), then dz_j, and for GAT the source score gradient ds_j
/// and the final dz_j = acc + ds_j a_src + dd_j a_dst.
/// Split nodes write partials to slots; merge kernels add them in slot order. Per-warp parameter
/// partials are added in a fixed order by `reduce_warp_partials_kernel`.
///
/// Memory traffic per edge and head (GATv2): pass 1 reads the source index, the feature and z_j^h
/// twice (8C B); pass 2 reads the edge id and the destination (in slot order), the feature, the
/// destination's (lse, S_i) pair in one load, t_i^h and g_i^h (8C B). Per node and head: t, g
/// (pass 1), z (pass 2) and the outputs dt, (lse, S), dz.

#include <cuda_runtime.h>

#include <cstdint>

#include "gat_attention.cuh"

namespace gatrec::cuda {

/// Inputs, outputs and workspace of the fused backward (both passes). Shapes as in the forward.
struct attention_backward_args {
  int heads = 1;
  int width = 0;
  bool concat = true;
  float grad_scale = 1.0f;           ///< 1 (concat) or 1/H (mean): g_i^h = grad_scale dy_i
  int edge_dim = 0;
  float slope = 0.2f;
  dropout_view dropout;
  // Forward values.
  const float* z = nullptr;          ///< (N, HC)
  const float* z_dst = nullptr;      ///< (N, HC) GATv2
  const float* score_src = nullptr;  ///< (N, H) GAT
  const float* score_dst = nullptr;  ///< (N, H) GAT
  const float* att = nullptr;        ///< (H, C) GATv2 a; GAT a_src
  const float* att_dst = nullptr;    ///< (H, C) GAT a_dst
  const float* edge_weight = nullptr;///< GATv2 W_e (D, HC); GAT M (D, H)
  const float* lse = nullptr;        ///< (N, H)
  const float* dy = nullptr;         ///< (N, concat ? HC : C) output gradient
  // Outputs.
  float2* softmax_stats = nullptr;   ///< (N, H) {lse_i, S_i = sum_e alpha_e dalpha_e} (pass 1, read by pass 2)
  float* dz = nullptr;               ///< (N, HC) dL/dz (pass 2)
  float* dz_dst = nullptr;           ///< (N, HC) GATv2 dL/dt (pass 1)
  float* d_score_src = nullptr;      ///< (N, H) GAT dL/ds (pass 2)
  float* d_score_dst = nullptr;      ///< (N, H) GAT dL/dd (pass 1)
  float* warp_partial = nullptr;     ///< (active warps, partial_width) pass-1 parameter partials
  // Workspace for split nodes (sized for the larger of the two chunk lists).
  float* part_vec = nullptr;         ///< (slots, H, C)
  float* part_scalar = nullptr;      ///< (slots, H)
  float* part_softmax_sum = nullptr; ///< (in-edge slots, H) pass-0 sums S of split destinations' chunks
  /// In-edges a lane group of pass 1 (and pass 0) loads before using them, in edge order: 1 or 2,
  /// or 0 for the form's default (default_destination_edges_per_step). Bit-identical either way.
  int destination_edges_per_step = 0;
  /// Out-edge slots a lane group of pass 2 loads before adding them into its sums, in slot order:
  /// 1 or 2, or 0 for the form's default (default_source_edges_per_step). Bit-identical either way.
  int source_edges_per_step = 0;
};

/// Pass 1's default in-edges a step for a lane layout, on sm_90 register counts (docs/cuda.md): two,
/// except GATv2 with 8 values a lane. GATv2 holds 2 blocks of 256 an SM either way (96 registers
/// with one edge, 110-112 with two), but its 8-value layouts already take 127-128 with one and
/// would spill with two; GAT goes from 4 blocks to 3 (60-64 registers -> 70-72), still 1.5x the
/// rows in flight.
template <attention_form Form, class L>
inline constexpr int default_destination_edges_per_step = Form == attention_form::gatv2 && L::values > 4 ? 1 : 2;

/// Pass 2's default slots a step: two where the second slot costs no occupancy on sm_90 (GAT: 72-77
/// registers -> 77-80 for layouts of at most 4 values a lane, 3 blocks of 256 an SM either way),
/// one where it would (GATv2: 80 -> 96, 3 blocks -> 2). docs/cuda.md has the counts.
template <attention_form Form>
inline constexpr int default_source_edges_per_step = Form == attention_form::gat ? 2 : 1;

/// Values per warp in the pass-1 parameter partials: GATv2 (1 + D) C (da, then dW_e per feature);
/// GAT D (dM).
inline int backward_partial_width(attention_form form, int width, int edge_dim) {
  return form == attention_form::gatv2 ? (1 + edge_dim) * width : edge_dim;
}

namespace kernels {

/// g_i^h on this lane's columns: the slice of dy (concat) or dy / H (mean, as dy * (1/H): no
/// division on the per-edge path).
template <class L>
__device__ __forceinline__ void load_output_grad(const attention_backward_args& a, index_t i, int h, int rank,
                                                 float (&g)[L::values]) {
  const int C = a.width, H = a.heads;
  if (a.concat) {
    load_fragment<L>(a.dy + static_cast<std::int64_t>(i) * H * C + static_cast<std::int64_t>(h) * C, C, rank, g);
  } else {
    load_fragment<L>(a.dy + static_cast<std::int64_t>(i) * C, C, rank, g);
#pragma unroll
    for (int n = 0; n < L::values; ++n) g[n] = g[n] * a.grad_scale;
  }
}

/// S_i of a split node, for its chunk c: the pass-0 sums of all its chunks (consecutive in the
/// chunk list), added in chunk order so that every chunk of the node gets the same value.
__device__ __forceinline__ float split_softmax_sum(const chunk_view& ch, std::int64_t c, int heads, int h,
                                                   const float* __restrict__ part_softmax_sum) {
  const index_t node = ch.node[c];
  std::int64_t first = c;
  while (first > 0 && ch.node[first - 1] == node) --first;
  float sum = 0.f;
  for (std::int64_t k = first; k < ch.num_chunks && ch.node[k] == node; ++k)
    sum += part_softmax_sum[ch.slot[k] * heads + h];
  return sum;
}

/// Blocks an SM the backward kernels ask room for: GAT as the forward (unrolled_min_blocks); GATv2
/// keeps 2 (its passes need 80-96 registers with one edge a step, and capped at 80 for 3 blocks
/// they spill with two).
template <attention_form Form, class L, int Unroll>
inline constexpr int backward_min_blocks = Form == attention_form::gat ? unrolled_min_blocks<L, Unroll> : 2;

/// Pass 1 over destinations, `Unroll` in-edges a step per lane group; with `split_sums_only`, pass
/// 0: only the chunks of split nodes, each writing its share of S_i to part_softmax_sum.
template <attention_form Form, class L, int Unroll>
__global__ void __launch_bounds__(attention_block_threads, backward_min_blocks<Form, L, Unroll>)
    attention_backward_dst_kernel(attention_backward_args a, graph_view g, chunk_view ch, std::int64_t warps_per_head,
                                  bool split_sums_only) {
  constexpr int N = L::values, P = L::groups;
  const std::int64_t warp = static_cast<std::int64_t>(blockIdx.x) * attention_block_warps + (threadIdx.x >> 5);
  const int H = a.heads, C = a.width, D = a.edge_dim;
  if (warp >= warps_per_head * H) return;
  const int h = static_cast<int>(warp % H);
  const int lane = threadIdx.x & 31, rank = lane % L::group, q = lane / L::group;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float slope = a.slope;

  float att[N];
  float we[max_fused_edge_dim][N];
  float m[max_fused_edge_dim];
  // Parameter gradients of head h, accumulated over all the warp's edges.
  float da[N];
  float dwe[max_fused_edge_dim][N];
  float dm[max_fused_edge_dim];
  zero_fragment(da);
#pragma unroll
  for (int k = 0; k < max_fused_edge_dim; ++k) {
    zero_fragment(dwe[k]);
    dm[k] = 0.f;
  }
  if constexpr (Form == attention_form::gatv2) load_fragment<L>(a.att + static_cast<std::int64_t>(h) * C, C, rank, att);
  load_head_edge_weights<Form, L>(a.edge_weight, H, C, D, h, rank, we, m);

  for (std::int64_t c = warp / H; c < ch.num_chunks; c += warps_per_head) {
    const index_t i = ch.node[c];
    const offset_t e_begin = ch.begin[c], e_end = ch.end[c];
    const std::int64_t slot = ch.slot[c];
    if (split_sums_only && slot < 0) continue;
    float gi[N], t[N];
    load_output_grad<L>(a, i, h, rank, gi);
    float d_i = 0.f;
    if constexpr (Form == attention_form::gatv2)
      load_fragment<L>(a.z_dst + i * HC + static_cast<std::int64_t>(h) * C, C, rank, t);
    else
      d_i = a.score_dst[static_cast<std::int64_t>(i) * H + h];
    const float lse = a.lse[static_cast<std::int64_t>(i) * H + h];

    // Edge e (source j) of this destination, in two halves so that a step can load the rows of
    // all its edges before it computes any of them. load_edge: the row z_j (GAT: and s_j).
    // edge_terms: its logit, kappa <g_i, z_j> (dalpha) and alpha; the group's lanes share the sums.
    // GAT also returns the pre-activation score u; GATv2 the edge term its gradient needs. Every
    // lane calls edge_terms (shuffles inside).
    auto load_edge = [&](bool active, index_t j, float (&zf)[N], float& s_j) {
      s_j = 0.f;
      if (active) {
        load_fragment<L>(a.z + j * HC + static_cast<std::int64_t>(h) * C, C, rank, zf);
        if constexpr (Form == attention_form::gat) s_j = a.score_src[static_cast<std::int64_t>(j) * H + h];
      } else {
        zero_fragment(zf);
      }
    };
    auto edge_terms = [&](offset_t e, bool active, const float (&zf)[N], float s_j, float (&pe)[N], float& u,
                          float& alpha, float& dalpha) {
      float logit = 0.f, gz = 0.f;
      u = 0.f;
      if (active) {
        const float* r = g.edge_features + e * g.feature_stride;
        gz = partial_dot(gi, zf);
        if constexpr (Form == attention_form::gatv2) {
          gatv2_edge_term(r, D, we, pe);
          logit = gatv2_partial_logit(zf, t, pe, att, slope);
        } else {
          u = gat_edge_score(s_j, d_i, r, D, m);
          logit = leaky_relu(u, slope);
        }
      } else {
        zero_fragment(pe);
      }
      if constexpr (Form == attention_form::gatv2) logit = group_sum<L::group>(logit);
      gz = group_sum<L::group>(gz);
      alpha = softmax_weight(logit, lse);
      const float kappa = active ? dropout_keep_scale<float>(a.dropout.active, a.dropout.p, a.dropout.scale,
                                                             a.dropout.seed, a.dropout.step, e, H, h)
                                 : 0.f;
      dalpha = kappa * gz;
    };
    // A group takes edges e, e + P, e + 2P, ... in turn, `Unroll` a step, in that order.
    constexpr int stride = Unroll * P;

    // S_i = sum_e alpha_e dalpha_e, summed from the very alphas and dalphas the edge loop uses. It
    // equals <g_i, o_i>, which costs no sweep; but with that shortcut the sum of i's dl is the
    // rounding error of <g_i, o_i> instead of ~0, and the destination's gradients (GATv2 dt_i, GAT
    // dd_i), small because shifting all of i's logits changes nothing, came out 10-40x less
    // accurate than the CPU's float path (measured on the CPU emulation, tests/emulation).
    // A split node's chunk in pass 1 takes the node's S_i from pass 0 instead of sweeping.
    float weighted = 0.f;
    if (slot >= 0 && !split_sums_only) {
      weighted = split_softmax_sum(ch, c, H, h, a.part_softmax_sum);
    } else {
      for (offset_t base = e_begin; base < e_end; base += stride) {
        float zf[Unroll][N], s_j[Unroll];
#pragma unroll
        for (int u = 0; u < Unroll; ++u) {
          const offset_t e = base + q + u * P;
          load_edge(e < e_end, e < e_end ? g.in_sources[e] : 0, zf[u], s_j[u]);
        }
#pragma unroll
        for (int u = 0; u < Unroll; ++u) {
          const offset_t e = base + q + u * P;
          float pe[N], score, alpha, dalpha;
          edge_terms(e, e < e_end, zf[u], s_j[u], pe, score, alpha, dalpha);
          if (e < e_end) weighted += alpha * dalpha;
        }
      }
      weighted = sum_over_groups<L::group>(weighted);
      if (split_sums_only) {
        if (lane == 0) a.part_softmax_sum[slot * H + h] = weighted;
        continue;
      }
    }
    // Pass 2 recomputes each edge's dl from S_i (one value per destination and head) rather than
    // reading an (E, H) array that pass 1 would write: the first chunk of each node stores it,
    // beside lse_i, so that pass 2 gets both in one 8-byte load.
    if (lane == 0 && (c == 0 || ch.node[c - 1] != i))
      store_vector(a.softmax_stats + static_cast<std::int64_t>(i) * H + h, make_float2(lse, weighted));

    float dt[N];
    zero_fragment(dt);
    float dd = 0.f;
    index_t j_next[Unroll];  // the sources run one step ahead
#pragma unroll
    for (int u = 0; u < Unroll; ++u) j_next[u] = e_begin + q + u * P < e_end ? g.in_sources[e_begin + q + u * P] : 0;
    for (offset_t base = e_begin; base < e_end; base += stride) {
      float zf[Unroll][N], s_j[Unroll];
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const offset_t e = base + q + u * P;
        const index_t j = j_next[u];
        if (e + stride < e_end) j_next[u] = g.in_sources[e + stride];
        load_edge(e < e_end, j, zf[u], s_j[u]);
      }
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const offset_t e = base + q + u * P;
        const bool active = e < e_end;
        float pe[N], score, alpha, dalpha;
        edge_terms(e, active, zf[u], s_j[u], pe, score, alpha, dalpha);
        if (active) {
          const float* r = g.edge_features + e * g.feature_stride;
          const float dlv = softmax_logit_grad(alpha, dalpha, weighted);
          if constexpr (Form == attention_form::gatv2) {
            gatv2_destination_grad(zf[u], t, pe, att, slope, dlv, r, D, dt, da, dwe);
          } else {
            const float delta = gat_score_grad(dlv, score, slope);
            dd += delta;
            gat_edge_weight_grad(delta, r, D, dm);
          }
        }
      }
    }
    if constexpr (Form == attention_form::gatv2) {
      sum_over_groups<L::group>(dt);
      if (lane < L::group) {
        float* out = slot < 0 ? a.dz_dst + i * HC + static_cast<std::int64_t>(h) * C : a.part_vec + (slot * H + h) * C;
        store_fragment<L>(out, C, rank, dt);
      }
    } else {
      dd = sum_over_groups<L::group>(dd);
      if (lane == 0) {
        if (slot < 0)
          a.d_score_dst[static_cast<std::int64_t>(i) * H + h] = dd;
        else
          a.part_scalar[slot * H + h] = dd;
      }
    }
  }

  if (split_sums_only) return;
  // This warp's parameter partials (every group holds a share: add them first).
  if constexpr (Form == attention_form::gatv2) {
    sum_over_groups<L::group>(da);
#pragma unroll
    for (int k = 0; k < max_fused_edge_dim; ++k) sum_over_groups<L::group>(dwe[k]);
    if (lane < L::group) {
      float* row = a.warp_partial + warp * (1 + D) * C;
      store_fragment<L>(row, C, rank, da);
#pragma unroll
      for (int k = 0; k < max_fused_edge_dim; ++k)
        if (k < D) store_fragment<L>(row + (1 + k) * C, C, rank, dwe[k]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < max_fused_edge_dim; ++k) dm[k] = sum_over_groups<L::group>(dm[k]);
#pragma unroll
    for (int k = 0; k < max_fused_edge_dim; ++k)
      if (lane == 0 && k < D) a.warp_partial[warp * D + k] = dm[k];
  }
}

/// Pass 2 over sources (transposed CSR), `Unroll` out-edge slots a step per lane group.
template <attention_form Form, class L, int Unroll>
__global__ void __launch_bounds__(attention_block_threads, backward_min_blocks<Form, L, Unroll>)
    attention_backward_src_kernel(attention_backward_args a, graph_view g, chunk_view ch, std::int64_t warps_per_head) {
  constexpr int N = L::values, P = L::groups;
  const std::int64_t warp = static_cast<std::int64_t>(blockIdx.x) * attention_block_warps + (threadIdx.x >> 5);
  const int H = a.heads, C = a.width, D = a.edge_dim;
  if (warp >= warps_per_head * H) return;
  const int h = static_cast<int>(warp % H);
  const int lane = threadIdx.x & 31, rank = lane % L::group, q = lane / L::group;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float slope = a.slope;

  float att[N];  // GATv2: a; GAT: a_src
  float att_dst[N];
  float we[max_fused_edge_dim][N];
  float m[max_fused_edge_dim];
  load_fragment<L>(a.att + static_cast<std::int64_t>(h) * C, C, rank, att);
  if constexpr (Form == attention_form::gat)
    load_fragment<L>(a.att_dst + static_cast<std::int64_t>(h) * C, C, rank, att_dst);
  load_head_edge_weights<Form, L>(a.edge_weight, H, C, D, h, rank, we, m);

  for (std::int64_t c = warp / H; c < ch.num_chunks; c += warps_per_head) {
    const index_t j = ch.node[c];
    const offset_t k_begin = ch.begin[c], k_end = ch.end[c];
    const std::int64_t slot = ch.slot[c];
    float zj[N];
    load_fragment<L>(a.z + j * HC + static_cast<std::int64_t>(h) * C, C, rank, zj);
    const float s_j = Form == attention_form::gat ? a.score_src[static_cast<std::int64_t>(j) * H + h] : 0.f;
    float acc[N];
    zero_fragment(acc);
    float ds = 0.f;
    // A group takes slots k, k + P, k + 2P, ... in turn; each step loads what its next `Unroll`
    // slots read (g_i, t_i, the stats; GAT d_i) before it adds them, in that order, into acc and
    // ds, so results do not depend on Unroll. The edge ids and destinations run one step ahead and
    // are read in slot order.
    constexpr int stride = Unroll * P;
    offset_t e_next[Unroll];
    index_t i_next[Unroll];
#pragma unroll
    for (int u = 0; u < Unroll; ++u) {
      const offset_t k = k_begin + q + u * P;
      e_next[u] = k < k_end ? g.out_edge_ids[k] : 0;
      i_next[u] = k < k_end ? g.out_destinations[k] : 0;
    }
    for (offset_t base = k_begin; base < k_end; base += stride) {
      offset_t e[Unroll];
      float gi[Unroll][N], t[Unroll][N];
      float2 stats[Unroll];
      float d_i[Unroll];  // GAT: the destinations' scores
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const offset_t k = base + q + u * P;
        const bool active = k < k_end;  // uniform within a group; every lane reaches the shuffles
        e[u] = active ? e_next[u] : 0;
        const index_t i = i_next[u];
        if (k + stride < k_end) {
          e_next[u] = g.out_edge_ids[k + stride];
          i_next[u] = g.out_destinations[k + stride];
        }
        stats[u] = make_float2(0.f, 0.f);
        d_i[u] = 0.f;
        if (active) {
          load_output_grad<L>(a, i, h, rank, gi[u]);
          stats[u] = load_vector(a.softmax_stats + static_cast<std::int64_t>(i) * H + h);
          if constexpr (Form == attention_form::gatv2)
            load_fragment<L>(a.z_dst + i * HC + static_cast<std::int64_t>(h) * C, C, rank, t[u]);
          else
            d_i[u] = a.score_dst[static_cast<std::int64_t>(i) * H + h];
        } else {
          zero_fragment(gi[u]);
          zero_fragment(t[u]);
        }
      }
#pragma unroll
      for (int u = 0; u < Unroll; ++u) {
        const bool active = base + q + u * P < k_end;
        float pe[N];
        float logit = 0.f, u_score = 0.f, gz = 0.f;
        zero_fragment(pe);
        if (active) {
          const float* r = g.edge_features + e[u] * g.feature_stride;
          gz = partial_dot(gi[u], zj);
          if constexpr (Form == attention_form::gatv2) {
            gatv2_edge_term(r, D, we, pe);
            logit = gatv2_partial_logit(zj, t[u], pe, att, slope);
          } else {
            u_score = gat_edge_score(s_j, d_i[u], r, D, m);
            logit = leaky_relu(u_score, slope);
          }
        }
        if constexpr (Form == attention_form::gatv2) logit = group_sum<L::group>(logit);
        gz = group_sum<L::group>(gz);
        if (active) {
          // dl as pass 1 computed it: the same fragments, sums and S_i.
          const float kappa = dropout_keep_scale<float>(a.dropout.active, a.dropout.p, a.dropout.scale,
                                                        a.dropout.seed, a.dropout.step, e[u], H, h);
          const float alpha = softmax_weight(logit, stats[u].x);
          const float dlv = softmax_logit_grad(alpha, kappa * gz, stats[u].y);
          const float w = kappa * alpha;
          if constexpr (Form == attention_form::gatv2) {
            gatv2_source_grad(zj, t[u], pe, att, slope, w, gi[u], dlv, acc);
          } else {
            softmax_accumulate(acc, 1.f, w, gi[u]);
            ds += gat_score_grad(dlv, u_score, slope);
          }
        }
      }
    }
    sum_over_groups<L::group>(acc);
    if constexpr (Form == attention_form::gat) ds = sum_over_groups<L::group>(ds);
    if (slot < 0) {
      if constexpr (Form == attention_form::gat) {
        const float dd = a.d_score_dst[static_cast<std::int64_t>(j) * H + h];
#pragma unroll
        for (int n = 0; n < N; ++n) acc[n] += ds * att[n] + dd * att_dst[n];
        if (lane == 0) a.d_score_src[static_cast<std::int64_t>(j) * H + h] = ds;
      }
      if (lane < L::group) store_fragment<L>(a.dz + j * HC + static_cast<std::int64_t>(h) * C, C, rank, acc);
    } else {
      if (lane < L::group) store_fragment<L>(a.part_vec + (slot * H + h) * C, C, rank, acc);
      if (Form == attention_form::gat && lane == 0) a.part_scalar[slot * H + h] = ds;
    }
  }
}

/// Adds the partials of split nodes in slot order. Pass 1 (`source_side` false): GATv2 dt into
/// dz_dst, GAT dd into d_score_dst. Pass 2: dz (GAT: plus ds a_src + dd a_dst, and ds).
template <attention_form Form>
__global__ void __launch_bounds__(attention_block_threads, 2)
    attention_backward_merge_kernel(attention_backward_args a, chunk_view ch, bool source_side) {
  const int H = a.heads, C = a.width;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const int lane = threadIdx.x & 31;
  const bool scalar = Form == attention_form::gat;
  for (std::int64_t item = static_cast<std::int64_t>(blockIdx.x) * attention_block_warps + (threadIdx.x >> 5);
       item < ch.num_splits * H; item += static_cast<std::int64_t>(gridDim.x) * attention_block_warps) {
    const std::int64_t k = item / H;
    const int h = static_cast<int>(item % H);
    const index_t v = ch.split_nodes[k];
    const std::int64_t s_begin = ch.split_slot_begin[k], s_end = ch.split_slot_begin[k + 1];
    float total_scalar = 0.f;
    if (scalar)
      for (std::int64_t s = s_begin; s < s_end; ++s) total_scalar += a.part_scalar[s * H + h];
    if (!source_side) {
      if constexpr (Form == attention_form::gatv2) {
        for (int col = lane; col < C; col += 32) {
          float sum = 0.f;
          for (std::int64_t s = s_begin; s < s_end; ++s) sum += a.part_vec[(s * H + h) * C + col];
          a.dz_dst[v * HC + static_cast<std::int64_t>(h) * C + col] = sum;
        }
      } else if (lane == 0) {
        a.d_score_dst[static_cast<std::int64_t>(v) * H + h] = total_scalar;
      }
      continue;
    }
    const float dd = scalar ? a.d_score_dst[static_cast<std::int64_t>(v) * H + h] : 0.f;
    for (int col = lane; col < C; col += 32) {
      float sum = 0.f;
      for (std::int64_t s = s_begin; s < s_end; ++s) sum += a.part_vec[(s * H + h) * C + col];
      if (scalar) sum += total_scalar * a.att[h * C + col] + dd * a.att_dst[h * C + col];
      a.dz[v * HC + static_cast<std::int64_t>(h) * C + col] = sum;
    }
    if (scalar && lane == 0) a.d_score_src[static_cast<std::int64_t>(v) * H + h] = total_scalar;
  }
}

/// out[h, m] = sum of partial[w, m] over the head's active warps w = h + j H, j < warps_per_head, in
/// a fixed order (gatrec::partial_reduce_rows): row r of the block sums the warps j = r, r + R,
/// r + 2R, ... in turn, then the R row sums are added in a fixed pairwise tree. Block (x, h) covers
/// columns [32x, 32x + 32) of head h; lanes run over columns, so every load is coalesced. (One
/// thread per column walking all of its head's warps, as before, put up to 8,192 loads and adds in
/// series on a few threads: an estimated half millisecond per layer at L2 latency, even for ML-100K.)
__global__ void __launch_bounds__(partial_reduce_columns * partial_reduce_rows)
    reduce_warp_partials_kernel(const float* __restrict__ partial, std::int64_t warps_per_head, int heads, int width,
                                float* __restrict__ out) {
  __shared__ float row_sums[partial_reduce_rows][partial_reduce_columns + 1];
  const int c = threadIdx.x, r = threadIdx.y, h = blockIdx.y;
  const int m = blockIdx.x * partial_reduce_columns + c;
  float sum = 0.f;
  if (m < width)
    for (std::int64_t j = r; j < warps_per_head; j += partial_reduce_rows)
      sum += partial[(h + j * heads) * width + m];
  row_sums[r][c] = sum;
  __syncthreads();
#pragma unroll
  for (int stride = partial_reduce_rows / 2; stride > 0; stride /= 2) {
    if (r < stride) row_sums[r][c] += row_sums[r + stride][c];
    __syncthreads();
  }
  if (r == 0 && m < width) out[h * width + m] = row_sums[0][c];
}

/// GATv2: att.grad[h, c] += reduced[h, c]; W_e.grad[k, hC + c] += reduced[h, (1 + k) C + c].
__global__ void add_gatv2_parameter_grads_kernel(const float* __restrict__ reduced, int heads, int width, int edge_dim,
                                                 float* __restrict__ att_grad, float* __restrict__ weight_edge_grad) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  const int per_head = (1 + edge_dim) * width;
  if (k >= heads * per_head) return;
  const int h = k / per_head, m = k % per_head;
  const int part = m / width, c = m % width;
  if (part == 0)
    att_grad[h * width + c] += reduced[k];
  else
    weight_edge_grad[static_cast<std::int64_t>(part - 1) * heads * width + h * width + c] += reduced[k];
}

/// GAT: from dM (reduced as (H, D)): W_e.grad[k, hC + c] += dM[k, h] a_edge[h, c] and
/// a_edge.grad[h, c] += sum_k dM[k, h] W_e[k, hC + c]. One thread per (h, c).
__global__ void add_gat_edge_parameter_grads_kernel(const float* __restrict__ dm, const float* __restrict__ weight_edge,
                                                    const float* __restrict__ att_edge, int heads, int width,
                                                    int edge_dim, float* __restrict__ weight_edge_grad,
                                                    float* __restrict__ att_edge_grad) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= heads * width) return;
  const int h = k / width;
  const std::int64_t HC = static_cast<std::int64_t>(heads) * width;
  float sum = 0.f;
  for (int d = 0; d < edge_dim; ++d) {
    const float g = dm[h * edge_dim + d];
    weight_edge_grad[d * HC + k] += g * att_edge[k];
    sum += g * weight_edge[d * HC + k];
  }
  att_edge_grad[k] += sum;
}

}  // namespace kernels

/// Pass-1 parameter partials the backward needs room for (floats).
inline std::int64_t backward_partial_size(attention_form form, const chunk_view& in_chunks, int heads, int width,
                                          int edge_dim) {
  return attention_schedule(in_chunks, heads).active_warps() * backward_partial_width(form, width, edge_dim);
}

/// Both backward passes and the split-node merges. Parameter partials are left in
/// a.warp_partial; `reduce_attention_partials` turns them into gradients.
/// @throw logic_error on bad shapes or missing buffers; cuda_error when a launch fails
template <attention_form Form>
void attention_backward(const attention_backward_args& a, const graph_view& g, const chunk_view& in_chunks,
                        const chunk_view& out_chunks, cudaStream_t stream = nullptr) {
  check_attention_shapes(g, in_chunks, a.heads, a.width, a.edge_dim);
  GATREC_EXPECTS(out_chunks.num_chunks >= g.num_nodes, "the out-edge chunk list does not cover the graph");
  GATREC_EXPECTS(a.z && a.lse && a.dy && a.softmax_stats && a.dz && a.att, "missing backward buffers");
  GATREC_EXPECTS(in_chunks.num_slots == 0 || a.part_softmax_sum != nullptr,
                 "split destinations need the softmax-sum workspace");
  GATREC_EXPECTS(a.edge_dim == 0 || a.edge_weight != nullptr, "edge features need edge weights");
  GATREC_EXPECTS(std::max(in_chunks.num_slots, out_chunks.num_slots) == 0 ||
                     (a.part_vec != nullptr && (Form == attention_form::gatv2 || a.part_scalar != nullptr)),
                 "split nodes need the partial workspace");
  if constexpr (Form == attention_form::gatv2)
    GATREC_EXPECTS(a.z_dst && a.dz_dst, "GATv2 backward needs z_dst and dz_dst");
  else
    GATREC_EXPECTS(a.score_src && a.score_dst && a.att_dst && a.d_score_src && a.d_score_dst,
                   "GAT backward needs the node scores and their gradients");
  GATREC_EXPECTS(backward_partial_width(Form, a.width, a.edge_dim) == 0 || a.warp_partial != nullptr,
                 "missing the parameter-partial buffer");
  for (const int step : {a.destination_edges_per_step, a.source_edges_per_step})
    GATREC_EXPECTS(step >= 0 && step <= 2,
                   "edges a step must be 0 (the default), 1 or 2, got " + std::to_string(step));
  if (g.num_nodes == 0) return;
  const bool aligned = detail::aligned16({a.z, a.z_dst, a.att, a.att_dst, a.edge_weight, a.dy, a.dz, a.dz_dst,
                                          a.part_vec, a.warp_partial});
  const warp_schedule s1 = attention_schedule(in_chunks, a.heads);
  const warp_schedule s2 = attention_schedule(out_chunks, a.heads);
  detail::dispatch_lane_layout(a.width, aligned, [&](auto layout) {
    using L = decltype(layout);
    const int destination_step = a.destination_edges_per_step == 0 ? default_destination_edges_per_step<Form, L>
                                                                   : a.destination_edges_per_step;
    const launch_shape shape{static_cast<unsigned>(s1.blocks), kernels::attention_block_threads, 0, stream};
    for (const bool split_sums_only : {true, false}) {
      if (split_sums_only && in_chunks.num_splits == 0) continue;
      if (destination_step == 2)
        launch_kernel(kernels::attention_backward_dst_kernel<Form, L, 2>, shape, a, g, in_chunks, s1.warps_per_head,
                      split_sums_only);
      else
        launch_kernel(kernels::attention_backward_dst_kernel<Form, L, 1>, shape, a, g, in_chunks, s1.warps_per_head,
                      split_sums_only);
      GATREC_CUDA_CHECK_LAST();
    }
  });
  if (in_chunks.num_splits > 0) {
    launch_kernel(kernels::attention_backward_merge_kernel<Form>,
                  {detail::warp_grid_size(in_chunks.num_splits * a.heads), kernels::attention_block_threads, 0, stream},
                  a, in_chunks, false);
    GATREC_CUDA_CHECK_LAST();
  }
  const int source_step = a.source_edges_per_step == 0 ? default_source_edges_per_step<Form> : a.source_edges_per_step;
  detail::dispatch_lane_layout(a.width, aligned, [&](auto layout) {
    using L = decltype(layout);
    const launch_shape shape{static_cast<unsigned>(s2.blocks), kernels::attention_block_threads, 0, stream};
    if (source_step == 2)
      launch_kernel(kernels::attention_backward_src_kernel<Form, L, 2>, shape, a, g, out_chunks, s2.warps_per_head);
    else
      launch_kernel(kernels::attention_backward_src_kernel<Form, L, 1>, shape, a, g, out_chunks, s2.warps_per_head);
    GATREC_CUDA_CHECK_LAST();
  });
  if (out_chunks.num_splits > 0) {
    launch_kernel(
        kernels::attention_backward_merge_kernel<Form>,
        {detail::warp_grid_size(out_chunks.num_splits * a.heads), kernels::attention_block_threads, 0, stream}, a,
        out_chunks, true);
    GATREC_CUDA_CHECK_LAST();
  }
}

/// Reduces the pass-1 partials (in a fixed order) into `reduced` (H, partial width).
inline void reduce_attention_partials(attention_form form, const float* warp_partial, const chunk_view& in_chunks,
                                      int heads, int width, int edge_dim, float* reduced, cudaStream_t stream = nullptr) {
  const int per_head = backward_partial_width(form, width, edge_dim);
  if (per_head == 0) return;
  GATREC_EXPECTS(warp_partial != nullptr && reduced != nullptr, "null partial buffers");
  const warp_schedule s = attention_schedule(in_chunks, heads);
  const dim3 grid((per_head + partial_reduce_columns - 1) / partial_reduce_columns, static_cast<unsigned>(heads));
  launch_kernel(kernels::reduce_warp_partials_kernel,
                {grid, dim3(partial_reduce_columns, partial_reduce_rows), 0, stream}, warp_partial, s.warps_per_head,
                heads, per_head, reduced);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda

namespace gatrec::cuda {

/// GATv2: att.grad += the a part of `reduced` (H, (1 + D) C); W_e.grad += its W_e part.
inline void add_gatv2_parameter_grads(const float* reduced, int heads, int width, int edge_dim, float* att_grad,
                                      float* weight_edge_grad, cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(heads > 0 && width > 0 && edge_dim >= 0, "bad shapes");
  GATREC_EXPECTS(reduced && att_grad && (edge_dim == 0 || weight_edge_grad), "null device pointer");
  const int total = heads * (1 + edge_dim) * width;
  launch_kernel(kernels::add_gatv2_parameter_grads_kernel, {(total + 255) / 256, 256, 0, stream}, reduced, heads, width,
                edge_dim, att_grad, weight_edge_grad);
  GATREC_CUDA_CHECK_LAST();
}

/// GAT: W_e.grad and a_edge.grad from dM reduced as (H, D).
inline void add_gat_edge_parameter_grads(const float* dm, const float* weight_edge, const float* att_edge, int heads,
                                         int width, int edge_dim, float* weight_edge_grad, float* att_edge_grad,
                                         cudaStream_t stream = nullptr) {
  GATREC_EXPECTS(heads > 0 && width > 0 && edge_dim >= 0, "bad shapes");
  if (edge_dim == 0) return;
  GATREC_EXPECTS(dm && weight_edge && att_edge && weight_edge_grad && att_edge_grad, "null device pointer");
  const int total = heads * width;
  launch_kernel(kernels::add_gat_edge_parameter_grads_kernel, {(total + 255) / 256, 256, 0, stream}, dm, weight_edge,
                att_edge, heads, width, edge_dim, weight_edge_grad, att_edge_grad);
  GATREC_CUDA_CHECK_LAST();
}

}  // namespace gatrec::cuda
