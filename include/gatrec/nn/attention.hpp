#pragma once

/// @file
/// @brief Multi-head graph attention (GAT and GATv2 forms, optional edge features) with a manual
/// backward pass. The formulas and their derivations are in docs/math.md; names below follow it.
///
/// Layout: node matrices are (num_nodes, heads * head_dim) row-major, head h occupying columns
/// [h*C, (h+1)*C). Per-edge arrays are (num_edges, heads) in destination-CSR order. Only the
/// attention weights alpha (num_edges, heads) are kept for backward; everything else per edge is
/// recomputed, so memory stays O(E*H + N*H*C) instead of PyG's O(E*H*C).
///
/// Parallelism: forward and the first backward pass run over destination nodes, the second
/// backward pass over source nodes through the transposed CSR; every output row has one owner and
/// cross-row reductions use fixed blocks, so results do not depend on the thread count.

#include <cstdint>
#include <string>
#include <vector>

#include "gatrec/core/config.hpp"
#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/products.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/graph/csr_graph.hpp"
#include "gatrec/nn/activation.hpp"
#include "gatrec/nn/edge_softmax.hpp"
#include "gatrec/nn/init.hpp"
#include "gatrec/nn/parameter.hpp"

namespace gatrec {

namespace detail {

/// <a, b> over n contiguous values (vectorised reduction).
template <class Scalar>
GATREC_FORCEINLINE Scalar dot(const Scalar* __restrict__ a, const Scalar* __restrict__ b, int n) {
  Scalar s = 0;
  GATREC_SIMD_REDUCTION(s)
  for (int c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
}

/// y += alpha * x over n contiguous values.
template <class Scalar>
GATREC_FORCEINLINE void axpy(Scalar alpha, const Scalar* __restrict__ x, Scalar* __restrict__ y, int n) {
  for (int c = 0; c < n; ++c) y[c] += alpha * x[c];
}

// GATv2 per-edge kernels. They are functions with restrict-qualified parameters because GCC
// ignores `restrict` on local pointers: only this way do the loops below vectorise.

/// Forward logits of one edge: l^h = <a^h, LReLU(z_j^h + t_i^h + r p^h)> for every head, where
/// r p is the edge term W_e^T r_e (see attention_layer::edge_term).
template <class Scalar>
GATREC_FORCEINLINE void gatv2_logits(int heads, int width, Scalar slope, const Scalar* __restrict__ zj,
                                     const Scalar* __restrict__ ti, Scalar r, const Scalar* __restrict__ pe,
                                     const Scalar* __restrict__ a, Scalar* __restrict__ logits) {
  for (int h = 0; h < heads; ++h) {
    Scalar l = 0;
    const int base = h * width;
    GATREC_SIMD_REDUCTION(l)
    for (int c = base; c < base + width; ++c) l += a[c] * leaky_relu(zj[c] + ti[c] + r * pe[c], slope);
    logits[h] = l;
  }
}

/// Backward, destination side, one edge: gamma = dl^h * a * LReLU'(v); d_a += dl^h * LReLU(v);
/// d_t_i += gamma (per head h, C columns each).
template <class Scalar>
GATREC_FORCEINLINE void gatv2_score_backward(int heads, int width, Scalar slope, const Scalar* __restrict__ zj,
                                             const Scalar* __restrict__ ti, Scalar r, const Scalar* __restrict__ pe,
                                             const Scalar* __restrict__ dl, const Scalar* __restrict__ a,
                                             Scalar* __restrict__ gamma, Scalar* __restrict__ d_a,
                                             Scalar* __restrict__ d_ti) {
  for (int h = 0; h < heads; ++h) {
    const Scalar d = dl[h];
    for (int c = h * width; c < (h + 1) * width; ++c) {
      const Scalar v = zj[c] + ti[c] + r * pe[c];
      gamma[c] = d * a[c] * leaky_relu_grad(v, slope);
      d_a[c] += d * leaky_relu(v, slope);
      d_ti[c] += gamma[c];
    }
  }
}

/// Backward, source side, one out-edge: d_z_j += w^h * g_i + dl^h * a * LReLU'(v) (per head h).
template <class Scalar>
GATREC_FORCEINLINE void gatv2_source_backward(int heads, int width, Scalar slope, const Scalar* __restrict__ zj,
                                              const Scalar* __restrict__ ti, Scalar r, const Scalar* __restrict__ pe,
                                              const Scalar* __restrict__ w, const Scalar* __restrict__ gi,
                                              const Scalar* __restrict__ dl, const Scalar* __restrict__ a,
                                              Scalar* __restrict__ d_zj) {
  for (int h = 0; h < heads; ++h) {
    const Scalar wh = w[h], d = dl[h];
    for (int c = h * width; c < (h + 1) * width; ++c) {
      const Scalar v = zj[c] + ti[c] + r * pe[c];
      d_zj[c] += wh * gi[c] + d * a[c] * leaky_relu_grad(v, slope);
    }
  }
}

}  // namespace detail

/// Which attention score function a layer uses.
enum class attention_form {
  gat,    ///< e_ij = LeakyReLU(a_src . W x_j + a_dst . W x_i [+ a_edge . W_e r_ij])  (Velickovic et al.)
  gatv2,  ///< e_ij = a . LeakyReLU(W_src x_j + W_dst x_i [+ W_e r_ij])            (Brody et al.)
};

/// Policy type selecting the GAT form at compile time.
struct gat_policy {
  static constexpr attention_form form = attention_form::gat;
};
/// Policy type selecting the GATv2 form at compile time.
struct gatv2_policy {
  static constexpr attention_form form = attention_form::gatv2;
};

/// Shape and behaviour of an attention layer.
struct attention_options {
  int in_dim = 0;                ///< input feature width
  int heads = 1;                 ///< number of heads H
  int head_dim = 0;              ///< width C of each head
  bool concat = true;            ///< concatenate heads (H*C outputs) or average them (C outputs)
  int edge_dim = 0;              ///< edge feature width used in the score (0: ignore edge features)
  double negative_slope = 0.2;   ///< LeakyReLU slope inside the score
  double dropout = 0.0;          ///< attention dropout probability (training only)
  bool bias = true;              ///< output bias (and, for GATv2, the two projection biases, as PyG)
};

/// Whether a forward pass is for training (dropout active) and which random stream it uses.
struct run_mode {
  bool training = false;
  std::uint64_t seed = 0;  ///< dropout seed
  std::uint64_t step = 0;  ///< distinct per optimisation step, so masks change between steps
};

/// One multi-head attention convolution.
/// @tparam Scalar float or double
/// @tparam Policy gat_policy or gatv2_policy
template <class Scalar, class Policy>
class attention_layer {
 public:
  static constexpr attention_form form = Policy::form;

  /// What backward needs from forward, plus reusable workspace (keep one context per layer and pass
  /// it to every step, so buffers are allocated once).
  struct context {
    const csr_graph* graph = nullptr;
    const matrix<Scalar>* x = nullptr;
    matrix<Scalar> z;          // (N, HC) GAT: x W; GATv2: x W_src + b_src (the messages)
    matrix<Scalar> z_dst;      // (N, HC) GATv2 only: x W_dst + b_dst
    matrix<Scalar> score_src;  // (N, H) GAT only: a_src . z_j
    matrix<Scalar> score_dst;  // (N, H) GAT only: a_dst . z_i
    matrix<Scalar> edge_score_weights;  // (edge_dim, H) GAT only: W_e folded with a_edge
    std::vector<Scalar> alpha;          // (E, H) attention weights after softmax, before dropout
    run_mode mode;
    // Backward workspace.
    matrix<Scalar> g;      // (N, HC) gradient reaching each head's aggregation
    matrix<Scalar> dz;     // (N, HC)
    matrix<Scalar> dz_dst; // (N, HC) GATv2 only
    matrix<Scalar> d_score_src, d_score_dst;  // (N, H) GAT only
    std::vector<Scalar> d_logit;              // (E, H)
  };

  attention_layer() = default;

  /// @param name prefix of the parameter names
  /// @param gen generator for Glorot initialisation
  attention_layer(const std::string& name, const attention_options& opt, rng& gen) : opt_(opt) {
    GATREC_EXPECTS(opt.in_dim > 0, "in_dim must be positive");
    GATREC_EXPECTS(opt.heads > 0 && opt.head_dim > 0, "heads and head_dim must be positive");
    GATREC_EXPECTS(opt.edge_dim >= 0, "edge_dim must be non-negative");
    GATREC_EXPECTS(opt.dropout >= 0.0 && opt.dropout < 1.0, "dropout must lie in [0, 1)");
    const int H = opt.heads, C = opt.head_dim, HC = H * C;
    if constexpr (form == attention_form::gat) {
      weight_ = parameter<Scalar>(name + ".lin.weight", opt.in_dim, HC);
      att_src_ = parameter<Scalar>(name + ".att_src", H, C);
      att_dst_ = parameter<Scalar>(name + ".att_dst", H, C);
      glorot_uniform(weight_.value, opt.in_dim, HC, gen);
      glorot_uniform(att_src_.value, H, C, gen);
      glorot_uniform(att_dst_.value, H, C, gen);
      if (opt.edge_dim > 0) {
        att_edge_ = parameter<Scalar>(name + ".att_edge", H, C);
        glorot_uniform(att_edge_.value, H, C, gen);
      }
    } else {
      weight_ = parameter<Scalar>(name + ".lin_src.weight", opt.in_dim, HC);
      weight_dst_ = parameter<Scalar>(name + ".lin_dst.weight", opt.in_dim, HC);
      att_src_ = parameter<Scalar>(name + ".att", H, C);
      glorot_uniform(weight_.value, opt.in_dim, HC, gen);
      glorot_uniform(weight_dst_.value, opt.in_dim, HC, gen);
      glorot_uniform(att_src_.value, H, C, gen);
      if (opt.bias) {
        // U(-1/sqrt(in), 1/sqrt(in)), as PyG's Linear. The shared bias dominates the averaged messages
        // at the start, so initial embeddings point the same way and training starts from a small
        // BPR loss (a zero bias starts from random directions, a 3-4x larger loss, and trains worse).
        bias_src_ = parameter<Scalar>(name + ".lin_src.bias", 1, HC, false);
        bias_dst_ = parameter<Scalar>(name + ".lin_dst.bias", 1, HC, false);
        fan_in_uniform(bias_src_.value, opt.in_dim, gen);
        fan_in_uniform(bias_dst_.value, opt.in_dim, gen);
      }
    }
    if (opt.edge_dim > 0) {
      weight_edge_ = parameter<Scalar>(name + ".lin_edge.weight", opt.edge_dim, HC);
      glorot_uniform(weight_edge_.value, opt.edge_dim, HC, gen);
    }
    if (opt.bias) bias_ = parameter<Scalar>(name + ".bias", 1, out_dim(), false);
  }

  const attention_options& options() const { return opt_; }
  int out_dim() const { return opt_.concat ? opt_.heads * opt_.head_dim : opt_.head_dim; }

  /// y = attention(graph, x). @throw logic_error on shape mismatches.
  void forward(const csr_graph& graph, const matrix<Scalar>& x, matrix<Scalar>& y, context& ctx,
               const run_mode& mode = {}) const {
    check_inputs(graph, x);
    const int H = opt_.heads, C = opt_.head_dim, HC = H * C, D = opt_.edge_dim;
    const index_t n = graph.num_nodes();
    ctx.graph = &graph;
    ctx.x = &x;
    ctx.mode = mode;
    ctx.alpha.resize(static_cast<std::size_t>(graph.num_edges()) * H);

    product(x, weight_.value, ctx.z);
    if constexpr (form == attention_form::gat) {
      ctx.score_src.resize(n, H);
      ctx.score_dst.resize(n, H);
      for (int h = 0; h < H; ++h) {
        ctx.score_src.col(h).noalias() = ctx.z.middleCols(h * C, C) * att_src_.value.row(h).transpose();
        ctx.score_dst.col(h).noalias() = ctx.z.middleCols(h * C, C) * att_dst_.value.row(h).transpose();
      }
      ctx.edge_score_weights.resize(D, H);
      for (int k = 0; k < D; ++k)
        for (int h = 0; h < H; ++h)
          ctx.edge_score_weights(k, h) =
              weight_edge_.value.row(k).segment(h * C, C).dot(att_edge_.value.row(h));
    } else {
      if (opt_.bias) ctx.z.rowwise() += bias_src_.value.row(0);
      product(x, weight_dst_.value, ctx.z_dst);
      if (opt_.bias) ctx.z_dst.rowwise() += bias_dst_.value.row(0);
    }

    y.resize(n, out_dim());
    const auto& off = graph.in_offsets();
    const auto& src = graph.in_sources();
    const float* ef = graph.edge_features().data();
    const int graph_d = graph.edge_dim();
    const Scalar slope = static_cast<Scalar>(opt_.negative_slope);
    Scalar* alpha = ctx.alpha.data();

    parallel_for<index_t>(0, n, [&](index_t i) {
      const offset_t first = off[i], last = off[i + 1];
      thread_local std::vector<Scalar> edge_proj, acc;
      // 1. Logits.
      if constexpr (form == attention_form::gat) {
        for (offset_t e = first; e < last; ++e) {
          const index_t j = src[e];
          for (int h = 0; h < H; ++h) {
            Scalar u = ctx.score_src(j, h) + ctx.score_dst(i, h);
            for (int k = 0; k < D; ++k) u += static_cast<Scalar>(ef[e * graph_d + k]) * ctx.edge_score_weights(k, h);
            alpha[e * H + h] = leaky_relu(u, slope);
          }
        }
      } else {
        edge_proj.resize(HC);
        const Scalar* a = att_src_.value.data();
        const Scalar* zi = ctx.z_dst.row(i).data();
        for (offset_t e = first; e < last; ++e) {
          Scalar r;
          const Scalar* pe = edge_term(ef + e * graph_d, edge_proj.data(), r);
          detail::gatv2_logits(H, C, slope, ctx.z.row(src[e]).data(), zi, r, pe, a, alpha + e * H);
        }
      }
      // 2. Softmax over i's in-edges.
      detail::softmax_segment(alpha, first, last, H);
      // 3. Aggregate messages z_j weighted by (dropped-out) attention.
      acc.assign(HC, Scalar(0));
      for (offset_t e = first; e < last; ++e) {
        const Scalar* zj = ctx.z.row(src[e]).data();
        for (int h = 0; h < H; ++h) {
          const Scalar w = alpha[e * H + h] * keep_scale(mode, e, h);
          if (w == Scalar(0)) continue;
          detail::axpy(w, zj + h * C, acc.data() + h * C, C);
        }
      }
      write_output(acc.data(), y.row(i).data());
    });
  }

  /// Adds every parameter's gradient and, when dx is not null, adds the input gradient into *dx
  /// (which must be sized like x). `dy` is dL/dy for the forward's output.
  void backward(context& ctx, const matrix<Scalar>& dy, matrix<Scalar>* dx) {
    GATREC_EXPECTS(ctx.graph != nullptr && ctx.x != nullptr, "backward called before forward");
    const csr_graph& graph = *ctx.graph;
    const matrix<Scalar>& x = *ctx.x;
    const int H = opt_.heads, C = opt_.head_dim, HC = H * C, D = opt_.edge_dim;
    const index_t n = graph.num_nodes();
    GATREC_EXPECTS(dy.rows() == n && dy.cols() == out_dim(), "dy has the wrong shape");
    if (dx != nullptr) GATREC_EXPECTS(dx->rows() == x.rows() && dx->cols() == x.cols(), "dx has the wrong shape");

    if (opt_.bias) bias_.grad.row(0) += dy.colwise().sum();
    // Gradient reaching each head's aggregation: the slice of dy (concat) or dy / H (mean).
    if (opt_.concat) {
      ctx.g = dy;
    } else {
      ctx.g.resize(n, HC);
      for (int h = 0; h < H; ++h) ctx.g.middleCols(h * C, C) = dy / static_cast<Scalar>(H);
    }

    const auto& off = graph.in_offsets();
    const auto& src = graph.in_sources();
    const auto& dst = graph.in_destinations();
    const auto& out_off = graph.out_offsets();
    const auto& out_edge = graph.out_edge_ids();
    const float* ef = graph.edge_features().data();
    const int graph_d = graph.edge_dim();
    const Scalar slope = static_cast<Scalar>(opt_.negative_slope);
    const Scalar* alpha = ctx.alpha.data();
    const run_mode mode = ctx.mode;
    ctx.d_logit.resize(ctx.alpha.size());
    Scalar* dl = ctx.d_logit.data();
    const matrix<Scalar>& g = ctx.g;
    const matrix<Scalar>& z = ctx.z;

    // dl_e = d loss / d (pre-softmax score) for the in-edges of node i.
    auto softmax_grad = [&](index_t i) {
      const offset_t first = off[i], last = off[i + 1];
      for (offset_t e = first; e < last; ++e) {
        const Scalar* zj = z.row(src[e]).data();
        const Scalar* gi = g.row(i).data();
        for (int h = 0; h < H; ++h) dl[e * H + h] = detail::dot(gi + h * C, zj + h * C, C) * keep_scale(mode, e, h);
      }
      detail::softmax_segment_backward(alpha, dl, first, last, H);
    };

    ctx.dz.resize(n, HC);
    if constexpr (form == attention_form::gat) {
      ctx.d_score_dst.setZero(n, H);
      ctx.d_score_src.resize(n, H);
      // Pass 1 (destinations): softmax and LeakyReLU backward; per-edge dl becomes du.
      std::vector<Scalar> d_edge_w(static_cast<std::size_t>(D) * H, Scalar(0));  // d edge_score_weights
      blocked_reduce<Scalar>(n, d_edge_w.size(), d_edge_w.data(), [&](std::int64_t row, Scalar* part) {
        const index_t i = static_cast<index_t>(row);
        softmax_grad(i);
        for (offset_t e = off[i]; e < off[i + 1]; ++e) {
          const index_t j = src[e];
          for (int h = 0; h < H; ++h) {
            Scalar u = ctx.score_src(j, h) + ctx.score_dst(i, h);
            for (int k = 0; k < D; ++k) u += static_cast<Scalar>(ef[e * graph_d + k]) * ctx.edge_score_weights(k, h);
            const Scalar du = dl[e * H + h] * leaky_relu_grad(u, slope);
            dl[e * H + h] = du;
            ctx.d_score_dst(i, h) += du;
            for (int k = 0; k < D; ++k) part[k * H + h] += static_cast<Scalar>(ef[e * graph_d + k]) * du;
          }
        }
      });
      // Pass 2 (sources, transposed CSR): messages and source scores.
      parallel_for<index_t>(0, n, [&](index_t j) {
        Scalar* dzj = ctx.dz.row(j).data();
        std::fill(dzj, dzj + HC, Scalar(0));
        for (int h = 0; h < H; ++h) ctx.d_score_src(j, h) = 0;
        for (offset_t k = out_off[j]; k < out_off[j + 1]; ++k) {
          const offset_t e = out_edge[k];
          const Scalar* gi = g.row(dst[e]).data();
          for (int h = 0; h < H; ++h) {
            detail::axpy(alpha[e * H + h] * keep_scale(mode, e, h), gi + h * C, dzj + h * C, C);
            ctx.d_score_src(j, h) += dl[e * H + h];
          }
        }
        for (int h = 0; h < H; ++h) {
          const Scalar s = ctx.d_score_src(j, h), d = ctx.d_score_dst(j, h);
          for (int c = 0; c < C; ++c) dzj[h * C + c] += s * att_src_.value(h, c) + d * att_dst_.value(h, c);
        }
      });
      for (int h = 0; h < H; ++h) {
        att_src_.grad.row(h).noalias() += ctx.d_score_src.col(h).transpose() * z.middleCols(h * C, C);
        att_dst_.grad.row(h).noalias() += ctx.d_score_dst.col(h).transpose() * z.middleCols(h * C, C);
      }
      // Edge score weights M(k, h) = sum_c W_e(k, hC + c) a_edge(h, c).
      for (int k = 0; k < D; ++k)
        for (int h = 0; h < H; ++h) {
          const Scalar dm = d_edge_w[static_cast<std::size_t>(k) * H + h];
          weight_edge_.grad.row(k).segment(h * C, C) += dm * att_edge_.value.row(h);
          att_edge_.grad.row(h) += dm * weight_edge_.value.row(k).segment(h * C, C);
        }
      accumulate_transposed_product(x, ctx.dz, weight_.grad);
      if (dx != nullptr) product_transposed(ctx.dz, weight_.value, *dx, true);
    } else {
      ctx.dz_dst.resize(n, HC);
      const matrix<Scalar>& z_dst = ctx.z_dst;
      // Pass 1 (destinations): dl, then the score's gradient w.r.t. v = z_j + z_dst_i + W_e r.
      // Partials: [0, HC) for a, [HC, HC + D*HC) for W_e.
      std::vector<Scalar> reduced(static_cast<std::size_t>(HC) * (1 + D), Scalar(0));
      blocked_reduce<Scalar>(n, reduced.size(), reduced.data(), [&](std::int64_t row, Scalar* part) {
        thread_local std::vector<Scalar> scratch;
        scratch.resize(2 * HC);
        Scalar* edge_proj = scratch.data();
        Scalar* gv = scratch.data() + HC;
        Scalar* part_a = part;
        Scalar* part_we = part + HC;
        const Scalar* a = att_src_.value.data();
        const index_t i = static_cast<index_t>(row);
        softmax_grad(i);
        Scalar* dzi = ctx.dz_dst.row(i).data();
        std::fill(dzi, dzi + HC, Scalar(0));
        const Scalar* zi = z_dst.row(i).data();
        for (offset_t e = off[i]; e < off[i + 1]; ++e) {
          const float* r = ef + e * graph_d;
          Scalar r_scale;
          const Scalar* pe = edge_term(r, edge_proj, r_scale);
          detail::gatv2_score_backward(H, C, slope, z.row(src[e]).data(), zi, r_scale, pe, dl + e * H, a, gv, part_a,
                                       dzi);
          for (int k = 0; k < D; ++k) detail::axpy(static_cast<Scalar>(r[k]), gv, part_we + k * HC, HC);
        }
      });
      for (int hc = 0; hc < HC; ++hc) att_src_.grad.data()[hc] += reduced[hc];
      for (int k = 0; k < D; ++k)
        for (int hc = 0; hc < HC; ++hc) weight_edge_.grad(k, hc) += reduced[HC + k * HC + hc];
      // Pass 2 (sources): messages plus the score's gradient w.r.t. z_j.
      parallel_for<index_t>(0, n, [&](index_t j) {
        thread_local std::vector<Scalar> scratch;
        scratch.resize(HC + H);
        Scalar* edge_proj = scratch.data();
        Scalar* w = scratch.data() + HC;  // dropped-out attention of each head
        const Scalar* a = att_src_.value.data();
        Scalar* dzj = ctx.dz.row(j).data();
        std::fill(dzj, dzj + HC, Scalar(0));
        const Scalar* zj = z.row(j).data();
        for (offset_t k = out_off[j]; k < out_off[j + 1]; ++k) {
          const offset_t e = out_edge[k];
          const index_t i = dst[e];
          Scalar r_scale;
          const Scalar* pe = edge_term(ef + e * graph_d, edge_proj, r_scale);
          for (int h = 0; h < H; ++h) w[h] = alpha[e * H + h] * keep_scale(mode, e, h);
          detail::gatv2_source_backward(H, C, slope, zj, z_dst.row(i).data(), r_scale, pe, w, g.row(i).data(),
                                        dl + e * H, a, dzj);
        }
      });
      accumulate_transposed_product(x, ctx.dz, weight_.grad);
      accumulate_transposed_product(x, ctx.dz_dst, weight_dst_.grad);
      if (opt_.bias) {
        bias_src_.grad.row(0) += ctx.dz.colwise().sum();
        bias_dst_.grad.row(0) += ctx.dz_dst.colwise().sum();
      }
      if (dx != nullptr) {
        product_transposed(ctx.dz, weight_.value, *dx, true);
        product_transposed(ctx.dz_dst, weight_dst_.value, *dx, true);
      }
    }
  }

  /// Appends this layer's parameters (fixed order).
  void collect(parameter_list<Scalar>& out) {
    out.push_back(&weight_);
    if constexpr (form == attention_form::gatv2) {
      if (opt_.bias) out.push_back(&bias_src_);
      out.push_back(&weight_dst_);
      if (opt_.bias) out.push_back(&bias_dst_);
    }
    out.push_back(&att_src_);
    if constexpr (form == attention_form::gat) {
      out.push_back(&att_dst_);
      if (opt_.edge_dim > 0) out.push_back(&att_edge_);
    }
    if (opt_.edge_dim > 0) out.push_back(&weight_edge_);
    if (opt_.bias) out.push_back(&bias_);
  }

  /// GAT: W; GATv2: W_src (applied to the message source j).
  parameter<Scalar>& weight() { return weight_; }
  /// GATv2 only: W_dst (applied to the destination i).
  parameter<Scalar>& weight_dst() { return weight_dst_; }
  /// GAT: a_src; GATv2: a.
  parameter<Scalar>& att() { return att_src_; }
  /// GAT only.
  parameter<Scalar>& att_dst() { return att_dst_; }
  /// GAT with edge features only.
  parameter<Scalar>& att_edge() { return att_edge_; }
  parameter<Scalar>& weight_edge() { return weight_edge_; }
  parameter<Scalar>& bias() { return bias_; }
  parameter<Scalar>& bias_src() { return bias_src_; }
  parameter<Scalar>& bias_dst() { return bias_dst_; }

 private:
  void check_inputs(const csr_graph& graph, const matrix<Scalar>& x) const {
    GATREC_EXPECTS(x.rows() == graph.num_nodes(), "x has " + std::to_string(x.rows()) + " rows, the graph " +
                                                      std::to_string(graph.num_nodes()) + " nodes");
    GATREC_EXPECTS(x.cols() == opt_.in_dim,
                   "x has " + std::to_string(x.cols()) + " columns, expected in_dim " + std::to_string(opt_.in_dim));
    GATREC_EXPECTS(opt_.edge_dim == 0 || graph.edge_dim() == opt_.edge_dim,
                   "layer expects edge_dim " + std::to_string(opt_.edge_dim) + ", the graph has " +
                       std::to_string(graph.edge_dim()));
  }

  /// Dropout factor of edge e, head h: 0 or 1/(1-p) in training, 1 otherwise. A pure function of
  /// (seed, step, e, h), so backward recomputes the same mask and threads never share a generator.
  Scalar keep_scale(const run_mode& mode, offset_t e, int h) const {
    if (!mode.training || opt_.dropout <= 0.0) return Scalar(1);
    const double u = uniform01(mode.seed, mode.step, static_cast<std::uint64_t>(e) * opt_.heads + h);
    return u < opt_.dropout ? Scalar(0) : static_cast<Scalar>(1.0 / (1.0 - opt_.dropout));
  }

  /// out (HC) = W_e^T r for one edge's features r (edge_dim); zeros without edge features.
  /// The GATv2 edge term W_e^T r_e of one edge, as scale * (returned vector), so that the common
  /// cases cost nothing per edge: one feature (the rating) returns W_e's row scaled by r_e; no edge
  /// features return zeros; several features are projected into `buffer` (HC wide).
  const Scalar* edge_term(const float* r, Scalar* buffer, Scalar& scale) const {
    const int HC = opt_.heads * opt_.head_dim;
    if (opt_.edge_dim == 1) {
      scale = static_cast<Scalar>(r[0]);
      return weight_edge_.value.data();
    }
    if (opt_.edge_dim == 0) {
      scale = 0;
      std::fill(buffer, buffer + HC, Scalar(0));  // 0 * anything finite; keeps the kernels branch-free
      return buffer;
    }
    scale = 1;
    std::fill(buffer, buffer + HC, Scalar(0));
    for (int k = 0; k < opt_.edge_dim; ++k)
      detail::axpy(static_cast<Scalar>(r[k]), weight_edge_.value.row(k).data(), buffer, HC);
    return buffer;
  }

  /// y_i = concat_h(acc_h) + b, or mean_h(acc_h) + b.
  void write_output(const Scalar* acc, Scalar* yi) const {
    const int H = opt_.heads, C = opt_.head_dim;
    if (opt_.concat) {
      for (int hc = 0; hc < H * C; ++hc) yi[hc] = acc[hc];
    } else {
      for (int c = 0; c < C; ++c) {
        Scalar s = 0;
        for (int h = 0; h < H; ++h) s += acc[h * C + c];
        yi[c] = s / static_cast<Scalar>(H);
      }
    }
    if (opt_.bias)
      for (int k = 0; k < out_dim(); ++k) yi[k] += bias_.value(0, k);
  }

  attention_options opt_;
  parameter<Scalar> weight_;       // GAT: W; GATv2: W_src
  parameter<Scalar> weight_dst_;   // GATv2 only
  parameter<Scalar> bias_src_;     // GATv2 only
  parameter<Scalar> bias_dst_;     // GATv2 only
  parameter<Scalar> att_src_;      // GAT: a_src; GATv2: a
  parameter<Scalar> att_dst_;      // GAT only
  parameter<Scalar> att_edge_;     // GAT with edge features
  parameter<Scalar> weight_edge_;  // with edge features
  parameter<Scalar> bias_;
};

/// Convenience aliases.
template <class Scalar>
using gat_layer = attention_layer<Scalar, gat_policy>;
template <class Scalar>
using gatv2_layer = attention_layer<Scalar, gatv2_policy>;

}  // namespace gatrec
