// CPU emulation of the fused CUDA attention kernels (kernels/gat_attention*.cuh): the per-edge and
// per-lane math they call (include/gatrec/nn/online_softmax.hpp, fused_attention.hpp) is driven
// here lane by lane, warp by warp, in the order the GPU runs it: the same chunk list and warp
// schedule, groups of lanes per edge, the same butterflies (with their canonical operand order),
// hubs split across warps and merged slot by slot, parameter partials per warp reduced in the kernel's
// order. The results are compared element by element with gatrec::attention_layer, forward and every
// gradient, both forms, on graphs with a node without in-edges, a hub of in-degree 100,000,
// duplicate edges and head widths not divisible by 4. Plain g++: no CUDA needed.
#include <gatrec/core/products.hpp>
#include <gatrec/nn/attention.hpp>
#include <gatrec/nn/fused_attention.hpp>
#include <gatrec/nn/online_softmax.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "cuda/attention_cases.hpp"
#include "support/random_graphs.hpp"

namespace test_cuda_math_emulation {
namespace {

using gatrec::attention_form;
using gatrec::csr_graph;
using gatrec::index_t;
using gatrec::matrix;
using gatrec::max_fused_edge_dim;
using gatrec::offset_t;
using gatrec::segment_chunks;
using gatrec::softmax_state;
using gatrec::warp_schedule;

// ------------------------------------------------------------------------------------------------
// Online softmax on its own

TEST(OnlineSoftmax, PushMatchesTwoPassSoftmax) {
  gatrec::rng gen(3);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 1 + static_cast<int>(gen.below(200));
    std::vector<double> l(n), z(n);
    for (int k = 0; k < n; ++k) {
      l[k] = gen.normal() * 5;
      z[k] = gen.normal();
    }
    auto st = gatrec::softmax_empty<double>();
    double acc[1] = {0};
    for (int k = 0; k < n; ++k) {
      const auto s = gatrec::softmax_push(st, l[k]);
      const double zk[1] = {z[k]};
      gatrec::softmax_accumulate(acc, s.rescale, s.weight, zk);
    }
    const double m = *std::max_element(l.begin(), l.end());
    double sum = 0, o = 0;
    for (int k = 0; k < n; ++k) sum += std::exp(l[k] - m);
    for (int k = 0; k < n; ++k) o += std::exp(l[k] - m) / sum * z[k];
    EXPECT_NEAR(st.max, m, 0);
    EXPECT_NEAR(st.sum, sum, 1e-12 * sum);
    EXPECT_NEAR(acc[0] * gatrec::softmax_normaliser(st), o, 1e-12);
    EXPECT_NEAR(gatrec::softmax_log_sum_exp(st), m + std::log(sum), 1e-12);
  }
}

TEST(OnlineSoftmax, MergeOfAnySplitEqualsOnePass) {
  gatrec::rng gen(4);
  const int n = 300;
  std::vector<double> l(n), z(n);
  for (int k = 0; k < n; ++k) {
    l[k] = gen.normal() * 20;
    z[k] = gen.normal();
  }
  auto whole = gatrec::softmax_empty<double>();
  double whole_acc[1] = {0};
  for (int k = 0; k < n; ++k) {
    const auto s = gatrec::softmax_push(whole, l[k]);
    const double zk[1] = {z[k]};
    gatrec::softmax_accumulate(whole_acc, s.rescale, s.weight, zk);
  }
  for (int pieces : {1, 2, 3, 7, 64, 299, 300}) {
    auto st = gatrec::softmax_empty<double>();
    double acc[1] = {0};
    for (int p = 0; p < pieces; ++p) {
      auto part = gatrec::softmax_empty<double>();
      double pacc[1] = {0};
      for (int k = p * n / pieces; k < (p + 1) * n / pieces; ++k) {
        const auto s = gatrec::softmax_push(part, l[k]);
        const double zk[1] = {z[k]};
        gatrec::softmax_accumulate(pacc, s.rescale, s.weight, zk);
      }
      const auto f = gatrec::softmax_merge(st, part);
      double out[1];
      gatrec::softmax_combine(acc, f.first, pacc, f.second, out);
      acc[0] = out[0];
    }
    EXPECT_EQ(st.max, whole.max) << pieces;
    EXPECT_NEAR(st.sum, whole.sum, 1e-12 * whole.sum) << pieces;
    EXPECT_NEAR(acc[0] / st.sum, whole_acc[0] / whole.sum, 1e-12) << pieces;
  }
}

TEST(OnlineSoftmax, EmptyStatesMergeWithoutNaN) {
  auto a = gatrec::softmax_empty<float>();
  const auto b = gatrec::softmax_empty<float>();
  const auto f = gatrec::softmax_merge(a, b);
  EXPECT_EQ(f.first, 0.0f);
  EXPECT_EQ(f.second, 0.0f);
  EXPECT_EQ(a.sum, 0.0f);
  EXPECT_EQ(gatrec::softmax_normaliser(a), 0.0f);
  EXPECT_TRUE(std::isinf(gatrec::softmax_log_sum_exp(a)));
  // Empty merged with non-empty is the non-empty state, exactly.
  auto c = gatrec::softmax_empty<float>();
  gatrec::softmax_push(c, 2.5f);
  auto d = gatrec::softmax_empty<float>();
  const auto g = gatrec::softmax_merge(d, c);
  EXPECT_EQ(d.max, 2.5f);
  EXPECT_EQ(d.sum, 1.0f);
  EXPECT_EQ(g.first, 0.0f);
  EXPECT_EQ(g.second, 1.0f);
}

TEST(OnlineSoftmax, LargeLogitsStayFiniteAndNaNPropagates) {
  auto st = gatrec::softmax_empty<float>();
  for (float l : {1e4f, -1e4f, 3e4f, 2.9e4f}) gatrec::softmax_push(st, l);
  EXPECT_TRUE(std::isfinite(st.sum));
  EXPECT_EQ(st.max, 3e4f);
  EXPECT_GE(st.sum, 1.0f);
  gatrec::softmax_push(st, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(st.sum));
}

TEST(SegmentChunks, CoverEverySegmentInOrder) {
  const std::vector<offset_t> off{0, 0, 3, 3, 20, 21};  // nodes with 0, 3, 0, 17, 1 edges
  const segment_chunks c = gatrec::make_segment_chunks(off.data(), 5, 4);
  ASSERT_EQ(c.num_chunks(), 1 + 1 + 1 + 5 + 1);
  ASSERT_EQ(c.num_splits(), 1);
  EXPECT_EQ(c.split_nodes[0], 3);
  EXPECT_EQ(c.num_slots(), 5);
  offset_t covered = 0;
  for (std::int64_t k = 0; k < c.num_chunks(); ++k) {
    EXPECT_LE(c.end[k] - c.begin[k], 4);
    EXPECT_EQ(c.begin[k], k == 0 ? 0 : c.end[k - 1]);  // contiguous, in order
    covered += c.end[k] - c.begin[k];
    EXPECT_EQ(c.slot[k] >= 0, c.node[k] == 3);
  }
  EXPECT_EQ(covered, 21);
  EXPECT_THROW(gatrec::make_segment_chunks(off.data(), 5, 0), gatrec::logic_error);
}

TEST(WarpSchedule, EveryHeadHasWarpsAndTheGridIsBounded) {
  for (std::int64_t chunks : {0, 1, 5, 1000, 10000000}) {
    for (int heads : {1, 3, 4, 8, 17}) {
      const warp_schedule s = gatrec::make_warp_schedule(chunks, heads, 8, 1024);
      EXPECT_GE(s.warps_per_head, 1);
      EXPECT_LE(s.active_warps(), s.blocks * 8);
      EXPECT_LE(s.blocks, std::max<std::int64_t>(1024, (heads + 7) / 8));
    }
  }
}

// ------------------------------------------------------------------------------------------------
// A warp, lane by lane

template <class S, int Vec, int PerLane, int Group>
struct warp_model {
  static constexpr int N = Vec * PerLane, G = Group, P = 32 / Group, vec = Vec, per_lane = PerLane;
  struct frag {
    S v[N];
  };
  struct frag2 {
    S v[max_fused_edge_dim][N];
  };
  using lanes_f = std::array<frag, 32>;
  using lanes_s = std::array<S, 32>;

  static int rank(int lane) { return lane % G; }
  static int group(int lane) { return lane / G; }

  static frag zero() {
    frag f;
    for (int n = 0; n < N; ++n) f.v[n] = 0;
    return f;
  }
  static frag load(const S* row, int width, int lane) {
    frag f;
    for (int k = 0; k < PerLane; ++k) {
      const int col = gatrec::fragment_column(rank(lane), k, 0, G, Vec);
      for (int v = 0; v < Vec; ++v) f.v[k * Vec + v] = col < width ? row[col + v] : S(0);
    }
    return f;
  }
  static void store(S* row, int width, int lane, const frag& f) {
    for (int k = 0; k < PerLane; ++k) {
      const int col = gatrec::fragment_column(rank(lane), k, 0, G, Vec);
      if (col >= width) continue;
      for (int v = 0; v < Vec; ++v) row[col + v] = f.v[k * Vec + v];
    }
  }
  // __shfl_xor_sync butterflies, (lower, upper) operand order as in kernels/warp_fragments.cuh.
  static void group_sum(lanes_s& x) {
    for (int off = G / 2; off > 0; off >>= 1) {
      const lanes_s y = x;
      for (int l = 0; l < 32; ++l) x[l] = (l & off) ? y[l ^ off] + y[l] : y[l] + y[l ^ off];
    }
  }
  static void sum_over_groups(lanes_s& x) {
    for (int off = G; off < 32; off <<= 1) {
      const lanes_s y = x;
      for (int l = 0; l < 32; ++l) x[l] = (l & off) ? y[l ^ off] + y[l] : y[l] + y[l ^ off];
    }
  }
  static void sum_over_groups(lanes_f& f) {
    for (int off = G; off < 32; off <<= 1) {
      const lanes_f y = f;
      for (int l = 0; l < 32; ++l)
        for (int n = 0; n < N; ++n)
          f[l].v[n] = (l & off) ? y[l ^ off].v[n] + y[l].v[n] : y[l].v[n] + y[l ^ off].v[n];
    }
  }
  static void warp_sum(lanes_s& x) {
    for (int off = 16; off > 0; off >>= 1) {
      const lanes_s y = x;
      for (int l = 0; l < 32; ++l) x[l] = (l & off) ? y[l ^ off] + y[l] : y[l] + y[l ^ off];
    }
  }
  static void merge_over_groups(std::array<softmax_state<S>, 32>& st, lanes_f& acc) {
    for (int off = G; off < 32; off <<= 1) {
      const auto st0 = st;
      const lanes_f acc0 = acc;
      for (int l = 0; l < 32; ++l) {
        const bool upper = l & off;
        softmax_state<S> lower = upper ? st0[l ^ off] : st0[l];
        const softmax_state<S> higher = upper ? st0[l] : st0[l ^ off];
        const auto f = gatrec::softmax_merge(lower, higher);
        if (upper)
          gatrec::softmax_combine(acc0[l ^ off].v, f.first, acc0[l].v, f.second, acc[l].v);
        else
          gatrec::softmax_combine(acc0[l].v, f.first, acc0[l ^ off].v, f.second, acc[l].v);
        st[l] = lower;
      }
    }
  }
};

// The buffers of one layer on the emulated device (host vectors standing in for device memory).
template <class S>
struct emulated_buffers {
  int heads = 1, width = 0, edge_dim = 0;
  bool concat = true;
  S slope = S(0.2);
  bool dropout_active = false;
  double p = 0;
  std::uint64_t seed = 0, step = 0;
  std::vector<S> z, z_dst, score_src, score_dst, att, att_dst, edge_weight, bias;  // inputs
  std::vector<S> y, o, lse, alpha, part_state, part_acc;                            // forward
  std::vector<S> dy, dz, dz_dst, d_score_src, d_score_dst, warp_partial, part_vec, part_scalar;  // backward
  std::vector<S> softmax_sum, part_softmax_sum;  // S_i per destination and head; pass 0's per-chunk sums
};

template <class S>
S keep(const emulated_buffers<S>& b, offset_t e, int h) {
  return gatrec::dropout_keep_scale<S>(b.dropout_active, b.p, static_cast<S>(gatrec::dropout_scale(b.p)), b.seed,
                                       b.step, e, b.heads, h);
}

// kernels::attention_forward_kernel
template <attention_form Form, class W, class S>
void emulate_forward_kernel(emulated_buffers<S>& a, const csr_graph& g, const segment_chunks& ch,
                            const warp_schedule& s) {
  constexpr int N = W::N, P = W::P, G = W::G;
  using frag = typename W::frag;
  const int H = a.heads, C = a.width, D = a.edge_dim;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float* feat = g.edge_features().data();
  const int stride = g.edge_dim();
  for (std::int64_t warp = 0; warp < s.active_warps(); ++warp) {
    const int h = static_cast<int>(warp % H);
    std::array<frag, 32> att;
    std::array<typename W::frag2, 32> we;
    S m[max_fused_edge_dim] = {};
    for (int l = 0; l < 32; ++l) {
      if (Form == attention_form::gatv2) {
        att[l] = W::load(a.att.data() + h * C, C, l);
        for (int k = 0; k < max_fused_edge_dim; ++k) {
          const frag f = k < D ? W::load(a.edge_weight.data() + k * HC + h * C, C, l) : W::zero();
          std::copy(f.v, f.v + N, we[l].v[k]);
        }
      }
    }
    if (Form == attention_form::gat)
      for (int k = 0; k < max_fused_edge_dim; ++k) m[k] = k < D ? a.edge_weight[k * H + h] : S(0);

    for (std::int64_t c = warp / H; c < ch.num_chunks(); c += s.warps_per_head) {
      const index_t i = ch.node[c];
      const offset_t eb = ch.begin[c], ee = ch.end[c];
      const std::int64_t slot = ch.slot[c];
      std::array<frag, 32> t, acc;
      std::array<softmax_state<S>, 32> st;
      const S d_i = Form == attention_form::gat ? a.score_dst[i * H + h] : S(0);
      for (int l = 0; l < 32; ++l) {
        if (Form == attention_form::gatv2) t[l] = W::load(a.z_dst.data() + i * HC + h * C, C, l);
        st[l] = gatrec::softmax_empty<S>();
        acc[l] = W::zero();
      }
      for (offset_t base = eb; base < ee; base += P) {
        std::array<frag, 32> zf;
        std::array<S, 32> logit{};
        for (int l = 0; l < 32; ++l) {
          const offset_t e = base + W::group(l);
          zf[l] = W::zero();
          if (e >= ee) continue;
          const index_t j = g.in_sources()[e];
          zf[l] = W::load(a.z.data() + j * HC + h * C, C, l);
          const float* r = feat + e * stride;
          if (Form == attention_form::gatv2) {
            frag pe;
            gatrec::gatv2_edge_term(r, D, we[l].v, pe.v);
            logit[l] = gatrec::gatv2_partial_logit(zf[l].v, t[l].v, pe.v, att[l].v, a.slope);
          } else {
            logit[l] = gatrec::leaky_relu(gatrec::gat_edge_score(a.score_src[j * H + h], d_i, r, D, m), a.slope);
          }
        }
        if (Form == attention_form::gatv2) W::group_sum(logit);
        for (int l = 0; l < 32; ++l) {
          const offset_t e = base + W::group(l);
          if (e >= ee) continue;
          const auto step = gatrec::softmax_push(st[l], logit[l]);
          gatrec::softmax_accumulate(acc[l].v, step.rescale, keep(a, e, h) * step.weight, zf[l].v);
          if (!a.alpha.empty() && W::rank(l) == 0) a.alpha[e * H + h] = logit[l];
        }
      }
      W::merge_over_groups(st, acc);
      if (slot < 0) {
        const S lse = gatrec::softmax_log_sum_exp(st[0]);
        for (int l = 0; l < G; ++l) {
          const S norm = gatrec::softmax_normaliser(st[l]);
          frag out;
          for (int n = 0; n < N; ++n) out.v[n] = acc[l].v[n] * norm;
          W::store(a.o.data() + i * HC + h * C, C, l, out);
          if (a.concat) {
            const frag b = a.bias.empty() ? W::zero() : W::load(a.bias.data() + h * C, C, l);
            if (!a.bias.empty())
              for (int n = 0; n < N; ++n) out.v[n] += b.v[n];
            W::store(a.y.data() + i * HC + h * C, C, l, out);
          }
        }
        a.lse[i * H + h] = lse;
        if (!a.alpha.empty())
          for (offset_t e = eb; e < ee; ++e) a.alpha[e * H + h] = gatrec::softmax_weight(a.alpha[e * H + h], lse);
      } else {
        for (int l = 0; l < G; ++l) W::store(a.part_acc.data() + (slot * H + h) * C, C, l, acc[l]);
        a.part_state[(slot * H + h) * 2] = st[0].max;
        a.part_state[(slot * H + h) * 2 + 1] = st[0].sum;
      }
    }
  }
}

// kernels::attention_merge_kernel and kernels::head_mean_kernel
template <class S>
void emulate_forward_merge_and_mean(emulated_buffers<S>& a, const csr_graph& g, const segment_chunks& ch) {
  const int H = a.heads, C = a.width;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  for (std::int64_t k = 0; k < ch.num_splits(); ++k) {
    for (int h = 0; h < H; ++h) {
      const index_t i = ch.split_nodes[k];
      softmax_state<S> state = gatrec::softmax_empty<S>();
      for (int col = 0; col < C; ++col) {  // each lane folds its own column with the same state steps
        state = gatrec::softmax_empty<S>();
        S acc[1] = {0};
        for (std::int64_t s = ch.split_slot_begin[k]; s < ch.split_slot_begin[k + 1]; ++s) {
          const softmax_state<S> part{a.part_state[(s * H + h) * 2], a.part_state[(s * H + h) * 2 + 1]};
          const auto f = gatrec::softmax_merge(state, part);
          const S x[1] = {a.part_acc[(s * H + h) * C + col]};
          S merged[1];
          gatrec::softmax_combine(acc, f.first, x, f.second, merged);
          acc[0] = merged[0];
        }
        const S out = acc[0] * gatrec::softmax_normaliser(state);
        a.o[i * HC + h * C + col] = out;
        if (a.concat) a.y[i * HC + h * C + col] = a.bias.empty() ? out : out + a.bias[h * C + col];
      }
      const S lse = gatrec::softmax_log_sum_exp(state);
      a.lse[i * H + h] = lse;
      if (!a.alpha.empty())
        for (offset_t e = g.in_offsets()[i]; e < g.in_offsets()[i + 1]; ++e)
          a.alpha[e * H + h] = gatrec::softmax_weight(a.alpha[e * H + h], lse);
    }
  }
  if (!a.concat) {
    for (index_t i = 0; i < g.num_nodes(); ++i)
      for (int c = 0; c < C; ++c) {
        S s = 0;
        for (int h = 0; h < H; ++h) s += a.o[(static_cast<std::int64_t>(i) * H + h) * C + c];
        S v = s / static_cast<S>(H);
        if (!a.bias.empty()) v += a.bias[c];
        a.y[static_cast<std::int64_t>(i) * C + c] = v;
      }
  }
}

// kernels::attention_backward_dst_kernel
template <attention_form Form, class W, class S>
void emulate_backward_dst_kernel(emulated_buffers<S>& a, const csr_graph& g, const segment_chunks& ch,
                                 const warp_schedule& s, bool split_sums_only) {
  constexpr int N = W::N, P = W::P, G = W::G;
  using frag = typename W::frag;
  const int H = a.heads, C = a.width, D = a.edge_dim;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float* feat = g.edge_features().data();
  const int stride = g.edge_dim();
  auto load_g = [&](index_t i, int h, int l) {
    if (a.concat) return W::load(a.dy.data() + i * HC + h * C, C, l);
    frag f = W::load(a.dy.data() + static_cast<std::int64_t>(i) * C, C, l);
    for (int n = 0; n < N; ++n) f.v[n] = f.v[n] * (S(1) / static_cast<S>(H));
    return f;
  };
  for (std::int64_t warp = 0; warp < s.active_warps(); ++warp) {
    const int h = static_cast<int>(warp % H);
    std::array<frag, 32> att, da;
    std::array<typename W::frag2, 32> we{}, dwe{};
    std::array<std::array<S, max_fused_edge_dim>, 32> dm{};
    S m[max_fused_edge_dim] = {};
    for (int l = 0; l < 32; ++l) {
      da[l] = W::zero();
      if (Form == attention_form::gatv2) {
        att[l] = W::load(a.att.data() + h * C, C, l);
        for (int k = 0; k < max_fused_edge_dim; ++k) {
          const frag f = k < D ? W::load(a.edge_weight.data() + k * HC + h * C, C, l) : W::zero();
          std::copy(f.v, f.v + N, we[l].v[k]);
        }
      }
    }
    if (Form == attention_form::gat)
      for (int k = 0; k < max_fused_edge_dim; ++k) m[k] = k < D ? a.edge_weight[k * H + h] : S(0);

    for (std::int64_t c = warp / H; c < ch.num_chunks(); c += s.warps_per_head) {
      const index_t i = ch.node[c];
      const offset_t eb = ch.begin[c], ee = ch.end[c];
      const std::int64_t slot = ch.slot[c];
      if (split_sums_only && slot < 0) continue;
      std::array<frag, 32> gi, t, dt;
      std::array<S, 32> dd{};
      const S d_i = Form == attention_form::gat ? a.score_dst[i * H + h] : S(0);
      for (int l = 0; l < 32; ++l) {
        gi[l] = load_g(i, h, l);
        if (Form == attention_form::gatv2) t[l] = W::load(a.z_dst.data() + i * HC + h * C, C, l);
        dt[l] = W::zero();
      }
      const S lse = a.lse[i * H + h];
      // The kernel's recompute_edge for the group edges base + group(l) of a chunk ending at `end`.
      struct edge_terms {
        std::array<frag, 32> zf, pe;
        std::array<S, 32> u{}, alpha{}, dalpha{};
      };
      auto recompute = [&](offset_t base, offset_t end) {
        edge_terms et;
        std::array<S, 32> logit{}, gz{};
        for (int l = 0; l < 32; ++l) {
          const offset_t e = base + W::group(l);
          et.zf[l] = W::zero();
          et.pe[l] = W::zero();
          if (e >= end) continue;
          const index_t j = g.in_sources()[e];
          et.zf[l] = W::load(a.z.data() + j * HC + h * C, C, l);
          gz[l] = gatrec::partial_dot(gi[l].v, et.zf[l].v);
          const float* r = feat + e * stride;
          if (Form == attention_form::gatv2) {
            gatrec::gatv2_edge_term(r, D, we[l].v, et.pe[l].v);
            logit[l] = gatrec::gatv2_partial_logit(et.zf[l].v, t[l].v, et.pe[l].v, att[l].v, a.slope);
          } else {
            et.u[l] = gatrec::gat_edge_score(a.score_src[j * H + h], d_i, r, D, m);
            logit[l] = gatrec::leaky_relu(et.u[l], a.slope);
          }
        }
        if (Form == attention_form::gatv2) W::group_sum(logit);
        W::group_sum(gz);
        for (int l = 0; l < 32; ++l) {
          const offset_t e = base + W::group(l);
          et.alpha[l] = gatrec::softmax_weight(logit[l], lse);
          et.dalpha[l] = e < end ? keep(a, e, h) * gz[l] : S(0);
        }
        return et;
      };
      // The sweep for S_i over this chunk's edges (pass 1; pass 0 for a split node's chunk).
      auto sweep = [&] {
        std::array<S, 32> w{};
        for (offset_t base = eb; base < ee; base += P) {
          const edge_terms et = recompute(base, ee);
          for (int l = 0; l < 32; ++l)
            if (base + W::group(l) < ee) w[l] += et.alpha[l] * et.dalpha[l];
        }
        W::sum_over_groups(w);
        return w[0];
      };
      if (split_sums_only) {
        a.part_softmax_sum[slot * H + h] = sweep();
        continue;
      }
      std::int64_t first = c;
      while (first > 0 && ch.node[first - 1] == i) --first;
      S weighted = 0;
      if (slot < 0) {
        weighted = sweep();
      } else {  // split_softmax_sum: the node's pass-0 sums in chunk order
        for (std::int64_t k = first; k < ch.num_chunks() && ch.node[k] == i; ++k)
          weighted += a.part_softmax_sum[ch.slot[k] * H + h];
      }
      if (c == first) a.softmax_sum[i * H + h] = weighted;
      for (offset_t base = eb; base < ee; base += P) {
        edge_terms et = recompute(base, ee);
        for (int l = 0; l < 32; ++l) {
          const offset_t e = base + W::group(l);
          if (e >= ee) continue;
          const S dlv = gatrec::softmax_logit_grad(et.alpha[l], et.dalpha[l], weighted);
          const float* r = feat + e * stride;
          if (Form == attention_form::gatv2) {
            gatrec::gatv2_destination_grad(et.zf[l].v, t[l].v, et.pe[l].v, att[l].v, a.slope, dlv, r, D, dt[l].v,
                                           da[l].v, dwe[l].v);
          } else {
            const S delta = gatrec::gat_score_grad(dlv, et.u[l], a.slope);
            dd[l] += delta;
            S dml[max_fused_edge_dim];
            std::copy(dm[l].begin(), dm[l].end(), dml);
            gatrec::gat_edge_weight_grad(delta, r, D, dml);
            std::copy(dml, dml + max_fused_edge_dim, dm[l].begin());
          }
        }
      }
      if (Form == attention_form::gatv2) {
        W::sum_over_groups(dt);
        S* out = slot < 0 ? a.dz_dst.data() + i * HC + h * C : a.part_vec.data() + (slot * H + h) * C;
        for (int l = 0; l < G; ++l) W::store(out, C, l, dt[l]);
      } else {
        W::sum_over_groups(dd);
        if (slot < 0)
          a.d_score_dst[i * H + h] = dd[0];
        else
          a.part_scalar[slot * H + h] = dd[0];
      }
    }
    if (split_sums_only) continue;
    if (Form == attention_form::gatv2) {
      W::sum_over_groups(da);
      for (int k = 0; k < max_fused_edge_dim; ++k) {
        std::array<frag, 32> col;
        for (int l = 0; l < 32; ++l) std::copy(dwe[l].v[k], dwe[l].v[k] + N, col[l].v);
        W::sum_over_groups(col);
        for (int l = 0; l < 32; ++l) std::copy(col[l].v, col[l].v + N, dwe[l].v[k]);
      }
      S* row = a.warp_partial.data() + warp * (1 + D) * C;
      for (int l = 0; l < G; ++l) {
        W::store(row, C, l, da[l]);
        for (int k = 0; k < D; ++k) {
          frag f;
          std::copy(dwe[l].v[k], dwe[l].v[k] + N, f.v);
          W::store(row + (1 + k) * C, C, l, f);
        }
      }
    } else {
      for (int k = 0; k < max_fused_edge_dim; ++k) {
        std::array<S, 32> col;
        for (int l = 0; l < 32; ++l) col[l] = dm[l][k];
        W::sum_over_groups(col);
        if (k < D) a.warp_partial[warp * D + k] = col[0];
      }
    }
  }
}

// kernels::attention_backward_src_kernel
template <attention_form Form, class W, class S>
void emulate_backward_src_kernel(emulated_buffers<S>& a, const csr_graph& g, const segment_chunks& ch,
                                 const warp_schedule& s) {
  constexpr int N = W::N, P = W::P, G = W::G;
  using frag = typename W::frag;
  const int H = a.heads, C = a.width, D = a.edge_dim;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const float* feat = g.edge_features().data();
  const int stride = g.edge_dim();
  auto load_g = [&](index_t i, int h, int l) {
    if (a.concat) return W::load(a.dy.data() + i * HC + h * C, C, l);
    frag f = W::load(a.dy.data() + static_cast<std::int64_t>(i) * C, C, l);
    for (int n = 0; n < N; ++n) f.v[n] = f.v[n] * (S(1) / static_cast<S>(H));
    return f;
  };
  for (std::int64_t warp = 0; warp < s.active_warps(); ++warp) {
    const int h = static_cast<int>(warp % H);
    std::array<frag, 32> att, att_dst;
    std::array<typename W::frag2, 32> we{};
    S m[max_fused_edge_dim] = {};
    for (int l = 0; l < 32; ++l) {
      att[l] = W::load(a.att.data() + h * C, C, l);
      if (Form == attention_form::gatv2) {
        for (int k = 0; k < max_fused_edge_dim; ++k) {
          const frag f = k < D ? W::load(a.edge_weight.data() + k * HC + h * C, C, l) : W::zero();
          std::copy(f.v, f.v + N, we[l].v[k]);
        }
      } else {
        att_dst[l] = W::load(a.att_dst.data() + h * C, C, l);
      }
    }
    if (Form == attention_form::gat)
      for (int k = 0; k < max_fused_edge_dim; ++k) m[k] = k < D ? a.edge_weight[k * H + h] : S(0);

    for (std::int64_t c = warp / H; c < ch.num_chunks(); c += s.warps_per_head) {
      const index_t j = ch.node[c];
      const offset_t kb = ch.begin[c], ke = ch.end[c];
      const std::int64_t slot = ch.slot[c];
      std::array<frag, 32> zj, acc;
      std::array<S, 32> ds{};
      const S s_j = Form == attention_form::gat ? a.score_src[j * H + h] : S(0);
      for (int l = 0; l < 32; ++l) {
        zj[l] = W::load(a.z.data() + j * HC + h * C, C, l);
        acc[l] = W::zero();
      }
      for (offset_t base = kb; base < ke; base += P) {
        std::array<frag, 32> gi, t, pe;
        std::array<S, 32> logit{}, lse{}, s_i{}, u{}, gz{};
        std::array<offset_t, 32> edge{};
        for (int l = 0; l < 32; ++l) {
          const offset_t k = base + W::group(l);
          gi[l] = W::zero();
          t[l] = W::zero();
          pe[l] = W::zero();
          if (k >= ke) continue;
          const offset_t e = g.out_edge_ids()[k];
          edge[l] = e;
          const index_t i = g.in_destinations()[e];
          const float* r = feat + e * stride;
          gi[l] = load_g(i, h, l);
          lse[l] = a.lse[i * H + h];
          s_i[l] = a.softmax_sum[i * H + h];
          gz[l] = gatrec::partial_dot(gi[l].v, zj[l].v);
          if (Form == attention_form::gatv2) {
            t[l] = W::load(a.z_dst.data() + i * HC + h * C, C, l);
            gatrec::gatv2_edge_term(r, D, we[l].v, pe[l].v);
            logit[l] = gatrec::gatv2_partial_logit(zj[l].v, t[l].v, pe[l].v, att[l].v, a.slope);
          } else {
            u[l] = gatrec::gat_edge_score(s_j, a.score_dst[i * H + h], r, D, m);
            logit[l] = gatrec::leaky_relu(u[l], a.slope);
          }
        }
        if (Form == attention_form::gatv2) W::group_sum(logit);
        W::group_sum(gz);
        for (int l = 0; l < 32; ++l) {
          const offset_t k = base + W::group(l);
          if (k >= ke) continue;
          // dl recomputed as pass 1 computed it (the kernel keeps no per-edge array).
          const S kappa = keep(a, edge[l], h), alpha = gatrec::softmax_weight(logit[l], lse[l]);
          const S dlv = gatrec::softmax_logit_grad(alpha, kappa * gz[l], s_i[l]);
          const S w = kappa * alpha;
          if (Form == attention_form::gatv2) {
            gatrec::gatv2_source_grad(zj[l].v, t[l].v, pe[l].v, att[l].v, a.slope, w, gi[l].v, dlv, acc[l].v);
          } else {
            gatrec::softmax_accumulate(acc[l].v, S(1), w, gi[l].v);
            ds[l] += gatrec::gat_score_grad(dlv, u[l], a.slope);
          }
        }
      }
      W::sum_over_groups(acc);
      if (Form == attention_form::gat) W::sum_over_groups(ds);
      if (slot < 0) {
        if (Form == attention_form::gat) {
          const S dd = a.d_score_dst[j * H + h];
          for (int l = 0; l < 32; ++l)
            for (int n = 0; n < N; ++n) acc[l].v[n] += ds[l] * att[l].v[n] + dd * att_dst[l].v[n];
          a.d_score_src[j * H + h] = ds[0];
        }
        for (int l = 0; l < G; ++l) W::store(a.dz.data() + j * HC + h * C, C, l, acc[l]);
      } else {
        for (int l = 0; l < G; ++l) W::store(a.part_vec.data() + (slot * H + h) * C, C, l, acc[l]);
        if (Form == attention_form::gat) a.part_scalar[slot * H + h] = ds[0];
      }
    }
  }
}

// kernels::attention_backward_merge_kernel
template <attention_form Form, class S>
void emulate_backward_merge(emulated_buffers<S>& a, const segment_chunks& ch, bool source_side) {
  const int H = a.heads, C = a.width;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const bool scalar = Form == attention_form::gat;
  for (std::int64_t k = 0; k < ch.num_splits(); ++k)
    for (int h = 0; h < H; ++h) {
      const index_t v = ch.split_nodes[k];
      const std::int64_t sb = ch.split_slot_begin[k], se = ch.split_slot_begin[k + 1];
      S total = 0;
      if (scalar)
        for (std::int64_t s = sb; s < se; ++s) total += a.part_scalar[s * H + h];
      if (!source_side) {
        if (Form == attention_form::gatv2) {
          for (int col = 0; col < C; ++col) {
            S sum = 0;
            for (std::int64_t s = sb; s < se; ++s) sum += a.part_vec[(s * H + h) * C + col];
            a.dz_dst[v * HC + h * C + col] = sum;
          }
        } else {
          a.d_score_dst[v * H + h] = total;
        }
        continue;
      }
      const S dd = scalar ? a.d_score_dst[v * H + h] : S(0);
      for (int col = 0; col < C; ++col) {
        S sum = 0;
        for (std::int64_t s = sb; s < se; ++s) sum += a.part_vec[(s * H + h) * C + col];
        if (scalar) sum += total * a.att[h * C + col] + dd * a.att_dst[h * C + col];
        a.dz[v * HC + h * C + col] = sum;
      }
      if (scalar) a.d_score_src[v * H + h] = total;
    }
}

// kernels::reduce_warp_partials_kernel: row r sums the head's warps j = r, r + R, ... (w = h + j H),
// then the R row sums meet in a pairwise tree.
template <class S>
std::vector<S> emulate_reduce_partials(const std::vector<S>& partial, const warp_schedule& s, int heads, int width) {
  constexpr int R = gatrec::partial_reduce_rows;
  std::vector<S> out(static_cast<std::size_t>(heads) * width);
  for (int h = 0; h < heads; ++h)
    for (int m = 0; m < width; ++m) {
      S rows[R] = {};
      for (int r = 0; r < R; ++r)
        for (std::int64_t j = r; j < s.warps_per_head; j += R) rows[r] += partial[(h + j * heads) * width + m];
      for (int stride = R / 2; stride > 0; stride /= 2)
        for (int r = 0; r < stride; ++r) rows[r] += rows[r + stride];
      out[h * width + m] = rows[0];
    }
  return out;
}

// kernels::gat_node_scores_kernel (one warp per node, lanes over columns)
template <class W, class S>
void emulate_gat_node_scores(emulated_buffers<S>& a, index_t n) {
  const int H = a.heads, C = a.width;
  for (index_t j = 0; j < n; ++j)
    for (int h = 0; h < H; ++h) {
      typename W::lanes_s s{}, d{};
      for (int l = 0; l < 32; ++l)
        for (int c = l; c < C; c += 32) {
          const S v = a.z[(static_cast<std::int64_t>(j) * H + h) * C + c];
          s[l] += a.att[h * C + c] * v;
          d[l] += a.att_dst[h * C + c] * v;
        }
      W::warp_sum(s);
      W::warp_sum(d);
      a.score_src[j * H + h] = s[0];
      a.score_dst[j * H + h] = d[0];
    }
}

// ------------------------------------------------------------------------------------------------
// The whole layer on the emulated device, against gatrec::attention_layer

template <class S>
std::vector<S> flat(const matrix<S>& m) {
  return std::vector<S>(m.data(), m.data() + m.size());
}

template <class S>
matrix<S> as_matrix(const std::vector<S>& v, Eigen::Index rows, Eigen::Index cols) {
  return Eigen::Map<const matrix<S>>(v.data(), rows, cols);
}

struct compare_result {
  double max_error = 0;  // max |got - ref|
  double scale = 0;      // max |ref|
  std::size_t worst = 0;
  bool finite = true;
};

template <class S>
compare_result compare(const S* got, const S* ref, std::size_t n) {
  compare_result r;
  for (std::size_t k = 0; k < n; ++k) {
    if (!std::isfinite(got[k])) r.finite = false;
    const double e = std::abs(static_cast<double>(got[k]) - static_cast<double>(ref[k]));
    if (e > r.max_error || std::isnan(e)) {
      r.max_error = e;
      r.worst = k;
    }
    r.scale = std::max(r.scale, std::abs(static_cast<double>(ref[k])));
  }
  return r;
}

template <class S>
void expect_close(const std::string& what, const S* got, const S* ref, std::size_t n, double tol,
                  bool zero_reference_ok = false) {
  const compare_result r = compare(got, ref, n);
  std::printf("  %-28s n=%-9zu max|err| %.3e  max|ref| %.3e  (normalised %.2e)\n", what.c_str(), n, r.max_error,
              r.scale, r.max_error / std::max(r.scale, 1e-30));
  EXPECT_TRUE(r.finite) << what;
  if (!zero_reference_ok) {
    EXPECT_GT(r.scale, 0.0) << what << ": the reference is all zeros (a test on zeros proves nothing)";
  }
  EXPECT_LE(r.max_error, tol * std::max(r.scale, 1e-30))
      << what << ": element " << r.worst << " got " << got[r.worst] << " expected " << ref[r.worst];
}

using gatrec::test::attention_case;

template <class S, class Policy, class W>
void run_emulated_layer(const attention_case& cs, double tol) {
  constexpr attention_form Form = Policy::form;
  const csr_graph g = gatrec::test::case_graph(cs);
  auto layer = gatrec::test::case_layer<S, Policy>(cs);
  const int H = cs.heads, C = cs.head_dim, D = cs.edge_dim;
  const std::int64_t HC = static_cast<std::int64_t>(H) * C;
  const index_t n = g.num_nodes();
  const matrix<S> x = gatrec::test::random_matrix<S>(n, cs.in_dim, 11);
  const matrix<S> dy = gatrec::test::random_matrix<S>(n, layer.out_dim(), 12);
  const gatrec::run_mode mode{cs.dropout > 0, 5, 9};

  // Reference.
  typename gatrec::attention_layer<S, Policy>::context ctx;
  matrix<S> y_ref;
  layer.forward(g, x, y_ref, ctx, mode);
  gatrec::parameter_list<S> params;
  layer.collect(params);
  gatrec::zero_grad(params);
  matrix<S> dx_ref = matrix<S>::Zero(n, cs.in_dim);
  layer.backward(ctx, dy, &dx_ref);

  // Emulated device.
  const segment_chunks in_ch = gatrec::make_segment_chunks(g.in_offsets().data(), n, cs.chunk_edges);
  const segment_chunks out_ch = gatrec::make_segment_chunks(g.out_offsets().data(), n, cs.chunk_edges);
  const warp_schedule s1 = gatrec::make_warp_schedule(in_ch.num_chunks(), H, 8);
  const warp_schedule s2 = gatrec::make_warp_schedule(out_ch.num_chunks(), H, 8);
  emulated_buffers<S> a;
  a.heads = H;
  a.width = C;
  a.edge_dim = D;
  a.concat = cs.concat;
  a.slope = static_cast<S>(0.2);
  a.dropout_active = mode.training && cs.dropout > 0;
  a.p = cs.dropout;
  a.seed = mode.seed;
  a.step = mode.step;
  matrix<S> z, z_dst;
  gatrec::product(x, layer.weight().value, z);
  if constexpr (Form == attention_form::gatv2) {
    if (cs.bias) z.rowwise() += layer.bias_src().value.row(0);
    gatrec::product(x, layer.weight_dst().value, z_dst);
    if (cs.bias) z_dst.rowwise() += layer.bias_dst().value.row(0);
    a.z_dst = flat(z_dst);
    a.att = flat(layer.att().value);
    if (D > 0) a.edge_weight = flat(layer.weight_edge().value);
  } else {
    a.att = flat(layer.att().value);
    a.att_dst = flat(layer.att_dst().value);
    a.score_src.assign(static_cast<std::size_t>(n) * H, 0);
    a.score_dst.assign(static_cast<std::size_t>(n) * H, 0);
    if (D > 0) {  // M = W_e folded with a_edge (gat_fold_edge_weights_kernel: sequential over c)
      a.edge_weight.assign(static_cast<std::size_t>(D) * H, 0);
      for (int k = 0; k < D; ++k)
        for (int h = 0; h < H; ++h) {
          S sum = 0;
          for (int c = 0; c < C; ++c) sum += layer.weight_edge().value(k, h * C + c) * layer.att_edge().value(h, c);
          a.edge_weight[k * H + h] = sum;
        }
    }
  }
  a.z = flat(z);
  if constexpr (Form == attention_form::gat) emulate_gat_node_scores<W>(a, n);
  if (cs.bias) a.bias = flat(layer.bias().value);
  const S poison = std::numeric_limits<S>::quiet_NaN();
  a.y.assign(static_cast<std::size_t>(n) * layer.out_dim(), poison);
  a.o.assign(static_cast<std::size_t>(n) * HC, poison);
  a.lse.assign(static_cast<std::size_t>(n) * H, poison);
  a.alpha.assign(static_cast<std::size_t>(g.num_edges()) * H, poison);
  a.part_state.assign(static_cast<std::size_t>(in_ch.num_slots()) * H * 2, poison);
  a.part_acc.assign(static_cast<std::size_t>(in_ch.num_slots()) * H * C, poison);

  emulate_forward_kernel<Form, W>(a, g, in_ch, s1);
  emulate_forward_merge_and_mean(a, g, in_ch);

  std::printf("[%s] %s, layout vec %d x %d, group %d\n", cs.name().c_str(), sizeof(S) == 4 ? "float" : "double",
              W::vec, W::per_lane, W::G);
  expect_close("y", a.y.data(), y_ref.data(), a.y.size(), tol);
  expect_close("alpha", a.alpha.data(), ctx.alpha.data(), a.alpha.size(), tol);

  // Backward.
  a.dy = flat(dy);
  const std::int64_t slots = std::max(in_ch.num_slots(), out_ch.num_slots());
  a.softmax_sum.assign(static_cast<std::size_t>(n) * H, poison);
  a.part_softmax_sum.assign(static_cast<std::size_t>(in_ch.num_slots()) * H, poison);
  a.dz.assign(static_cast<std::size_t>(n) * HC, poison);
  a.part_vec.assign(static_cast<std::size_t>(slots) * H * C, poison);
  a.part_scalar.assign(static_cast<std::size_t>(slots) * H, poison);
  const int pw = Form == attention_form::gatv2 ? (1 + D) * C : D;
  a.warp_partial.assign(static_cast<std::size_t>(s1.active_warps()) * pw, poison);
  if constexpr (Form == attention_form::gatv2) {
    a.dz_dst.assign(static_cast<std::size_t>(n) * HC, poison);
  } else {
    a.d_score_src.assign(static_cast<std::size_t>(n) * H, poison);
    a.d_score_dst.assign(static_cast<std::size_t>(n) * H, poison);
  }
  // Pass 0 (the split destinations' per-chunk sums of S_i) and pass 1, the kernel's two launches.
  if (in_ch.num_splits() > 0) emulate_backward_dst_kernel<Form, W>(a, g, in_ch, s1, true);
  emulate_backward_dst_kernel<Form, W>(a, g, in_ch, s1, false);
  emulate_backward_merge<Form>(a, in_ch, false);
  emulate_backward_src_kernel<Form, W>(a, g, out_ch, s2);
  emulate_backward_merge<Form>(a, out_ch, true);
  const std::vector<S> reduced = pw > 0 ? emulate_reduce_partials(a.warp_partial, s1, H, pw) : std::vector<S>{};

  // Parameter gradients as the device layer forms them (dense parts: cuBLAS there, Eigen here).
  std::map<std::string, matrix<S>> grads;
  const matrix<S> dz = as_matrix(a.dz, n, HC);
  matrix<S> dx = matrix<S>::Zero(n, cs.in_dim);
  matrix<S> dw = matrix<S>::Zero(cs.in_dim, HC);
  gatrec::accumulate_transposed_product(x, dz, dw);
  gatrec::product_transposed(dz, layer.weight().value, dx, true);
  grads[layer.weight().name] = dw;
  if constexpr (Form == attention_form::gatv2) {
    const matrix<S> dt = as_matrix(a.dz_dst, n, HC);
    matrix<S> dwd = matrix<S>::Zero(cs.in_dim, HC);
    gatrec::accumulate_transposed_product(x, dt, dwd);
    gatrec::product_transposed(dt, layer.weight_dst().value, dx, true);
    grads[layer.weight_dst().name] = dwd;
    if (cs.bias) {
      grads[layer.bias_src().name] = dz.colwise().sum();
      grads[layer.bias_dst().name] = dt.colwise().sum();
    }
    matrix<S> datt(H, C), dwe(std::max(D, 1), HC);
    for (int h = 0; h < H; ++h)
      for (int m = 0; m < (1 + D) * C; ++m) {
        const int part = m / C, c = m % C;
        if (part == 0)
          datt(h, c) = reduced[h * pw + m];
        else
          dwe(part - 1, h * C + c) = reduced[h * pw + m];
      }
    grads[layer.att().name] = datt;
    if (D > 0) grads[layer.weight_edge().name] = dwe;
  } else {
    const matrix<S> ds = as_matrix(a.d_score_src, n, H), dd = as_matrix(a.d_score_dst, n, H);
    matrix<S> das(H, C), dad(H, C);
    for (int h = 0; h < H; ++h) {
      das.row(h) = ds.col(h).transpose() * z.middleCols(h * C, C);
      dad.row(h) = dd.col(h).transpose() * z.middleCols(h * C, C);
    }
    grads[layer.att().name] = das;
    grads[layer.att_dst().name] = dad;
    if (D > 0) {  // add_gat_edge_parameter_grads_kernel
      matrix<S> dwe = matrix<S>::Zero(D, HC), dae = matrix<S>::Zero(H, C);
      for (int h = 0; h < H; ++h)
        for (int c = 0; c < C; ++c) {
          S sum = 0;
          for (int k = 0; k < D; ++k) {
            const S gm = reduced[h * D + k];
            dwe(k, h * C + c) += gm * layer.att_edge().value(h, c);
            sum += gm * layer.weight_edge().value(k, h * C + c);
          }
          dae(h, c) += sum;
        }
      grads[layer.weight_edge().name] = dwe;
      grads[layer.att_edge().name] = dae;
    }
  }
  if (cs.bias) grads[layer.bias().name] = dy.colwise().sum();

  for (auto* p : params) {
    ASSERT_TRUE(grads.count(p->name)) << "no emulated gradient for " << p->name;
    const matrix<S>& got = grads[p->name];
    ASSERT_EQ(got.rows(), p->grad.rows()) << p->name;
    ASSERT_EQ(got.cols(), p->grad.cols()) << p->name;
    // With a single edge per softmax (the one-node graph) every score gradient is exactly 0.
    expect_close("d " + p->name, got.data(), p->grad.data(), static_cast<std::size_t>(got.size()), tol, cs.tiny == 1);
  }
  expect_close("dx", dx.data(), dx_ref.data(), static_cast<std::size_t>(dx.size()), tol);
  // Every destination's softmax sum and log-sum-exp written (nodes without in-edges too).
  for (S v : a.softmax_sum) ASSERT_FALSE(std::isnan(v)) << "a softmax sum was never written";
  for (S v : a.lse) ASSERT_FALSE(std::isnan(v)) << "a log-sum-exp was never written";
}

template <class S, class Policy>
void run_case(const attention_case& cs, double tol) {
  const gatrec::lane_layout_choice L = gatrec::choose_lane_layout(cs.head_dim, cs.vector_aligned);
  if (L == gatrec::lane_layout_choice{4, 1, 2}) return run_emulated_layer<S, Policy, warp_model<S, 4, 1, 2>>(cs, tol);
  if (L == gatrec::lane_layout_choice{4, 1, 4}) return run_emulated_layer<S, Policy, warp_model<S, 4, 1, 4>>(cs, tol);
  if (L == gatrec::lane_layout_choice{4, 1, 8}) return run_emulated_layer<S, Policy, warp_model<S, 4, 1, 8>>(cs, tol);
  if (L == gatrec::lane_layout_choice{4, 1, 16}) return run_emulated_layer<S, Policy, warp_model<S, 4, 1, 16>>(cs, tol);
  if (L == gatrec::lane_layout_choice{4, 1, 32}) return run_emulated_layer<S, Policy, warp_model<S, 4, 1, 32>>(cs, tol);
  if (L == gatrec::lane_layout_choice{4, 2, 32}) return run_emulated_layer<S, Policy, warp_model<S, 4, 2, 32>>(cs, tol);
  if (L == gatrec::lane_layout_choice{1, 1, 32}) return run_emulated_layer<S, Policy, warp_model<S, 1, 1, 32>>(cs, tol);
  if (L == gatrec::lane_layout_choice{1, 4, 32}) return run_emulated_layer<S, Policy, warp_model<S, 1, 4, 32>>(cs, tol);
  if (L == gatrec::lane_layout_choice{1, 8, 32}) return run_emulated_layer<S, Policy, warp_model<S, 1, 8, 32>>(cs, tol);
  FAIL() << "no emulated layout";
}

template <class S>
struct emulation_tolerance;
template <>
struct emulation_tolerance<float> {
  static constexpr double value = 2e-4;
};
template <>
struct emulation_tolerance<double> {
  static constexpr double value = 1e-11;
};

template <class S>
class EmulatedKernels : public ::testing::Test {};
using scalar_types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(EmulatedKernels, scalar_types);

TYPED_TEST(EmulatedKernels, MatchTheCpuLayerOnAwkwardGraphs) {
  for (const attention_case& cs : gatrec::test::small_attention_cases()) {
    SCOPED_TRACE(cs.name());
    if (cs.form == attention_form::gat)
      run_case<TypeParam, gatrec::gat_policy>(cs, emulation_tolerance<TypeParam>::value);
    else
      run_case<TypeParam, gatrec::gatv2_policy>(cs, emulation_tolerance<TypeParam>::value);
  }
}

TYPED_TEST(EmulatedKernels, MatchTheCpuLayerWithAHubOfDegree100000) {
  for (const attention_case& cs : gatrec::test::hub_attention_cases()) {
    SCOPED_TRACE(cs.name());
    if (cs.form == attention_form::gat)
      run_case<TypeParam, gatrec::gat_policy>(cs, emulation_tolerance<TypeParam>::value);
    else
      run_case<TypeParam, gatrec::gatv2_policy>(cs, emulation_tolerance<TypeParam>::value);
  }
}

}  // namespace

}  // namespace test_cuda_math_emulation
