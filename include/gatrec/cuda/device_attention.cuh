#pragma once

/// @file
/// @brief gatrec::attention_layer<float, Policy> on the GPU: the same parameters (uploaded from a
/// host layer), projections through cuBLAS, the fused attention kernels for the edge part, and a
/// manual backward that adds into the parameter gradients and, when asked, the input gradient.
/// The edge part keeps only a log-sum-exp per (node, head) and the per-head aggregate o
/// between forward and backward (docs/cuda.md).

#include <cuda_runtime_api.h>

#include <string>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/blas.cuh"
#include "gatrec/cuda/device_graph.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/device_parameter.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/nn/attention.hpp"

#include "dense.cuh"
#include "gat_attention.cuh"
#include "gat_attention_backward.cuh"

namespace gatrec::cuda {

/// Scratch of one attention layer: nothing in it carries from a forward to its backward, so the
/// blocks of a stack, which run one at a time, can share one (device_gat_model does).
struct attention_workspace {
  device_matrix part_state, part_acc;  // forward: partial softmax states and sums of split nodes
  device_matrix softmax_stats;         // (N, 2H): {lse_i, S_i} per head from pass 1 (pass 2 recomputes dl from them)
  device_matrix dz, dz_dst;            // (N, HC)
  device_matrix d_score_src, d_score_dst;  // (N, H) GAT
  device_matrix warp_partial, reduced, part_vec, part_scalar, part_softmax_sum;
  ones_vector ones;
};

/// One multi-head attention convolution on the device (float).
/// @tparam Policy gatrec::gat_policy or gatrec::gatv2_policy
template <class Policy>
class device_attention_layer {
 public:
  static constexpr attention_form form = Policy::form;

  /// What backward needs from forward (keep one per layer), and where its scratch lives.
  struct context {
    const device_graph* graph = nullptr;
    const device_matrix* x = nullptr;
    run_mode mode;
    bool store_attention = false;  ///< set before forward to fill `alpha` (E, H)
    device_matrix z;               // (N, HC) messages
    device_matrix z_dst;           // (N, HC) GATv2
    device_matrix score_src, score_dst;  // (N, H) GAT
    device_matrix edge_score_weights;    // (D, H) GAT: M
    device_matrix o;               // (N, HC) per-head aggregate, kept for the mean of heads only
    device_matrix lse;             // (N, H)
    device_matrix alpha;           // (E, H) when store_attention
    attention_workspace* shared_workspace = nullptr;  ///< scratch owned elsewhere; null: own_workspace
    attention_workspace own_workspace;
    attention_workspace& workspace() { return shared_workspace != nullptr ? *shared_workspace : own_workspace; }
  };

  device_attention_layer() = default;

  /// Uploads the options and parameter values of a host layer (gradients start at zero).
  /// @throw logic_error when the shape is outside what the fused kernels take (edge_dim > 2,
  ///        head_dim > 256)
  explicit device_attention_layer(attention_layer<float, Policy>& host, cudaStream_t stream = nullptr)
      : opt_(host.options()) {
    GATREC_EXPECTS(opt_.edge_dim <= max_fused_edge_dim,
                   "the device layer takes edge_dim <= " + std::to_string(max_fused_edge_dim));
    GATREC_EXPECTS(opt_.head_dim <= max_fused_head_dim,
                   "the device layer takes head_dim <= " + std::to_string(max_fused_head_dim));
    weight_ = device_parameter(host.weight(), stream);
    att_ = device_parameter(host.att(), stream);
    if constexpr (form == attention_form::gat) {
      att_dst_ = device_parameter(host.att_dst(), stream);
      if (opt_.edge_dim > 0) att_edge_ = device_parameter(host.att_edge(), stream);
    } else {
      weight_dst_ = device_parameter(host.weight_dst(), stream);
      if (opt_.bias) {
        bias_src_ = device_parameter(host.bias_src(), stream);
        bias_dst_ = device_parameter(host.bias_dst(), stream);
      }
    }
    if (opt_.edge_dim > 0) weight_edge_ = device_parameter(host.weight_edge(), stream);
    if (opt_.bias) bias_ = device_parameter(host.bias(), stream);
  }

  const attention_options& options() const { return opt_; }
  int out_dim() const { return opt_.concat ? opt_.heads * opt_.head_dim : opt_.head_dim; }

  /// y = attention(graph, x); y is resized to (N, out_dim).
  /// @throw logic_error on shape mismatches; cuda_error on device failures
  void forward(cublas_handle& blas, const device_graph& graph, const device_matrix& x, device_matrix& y, context& ctx,
               const run_mode& mode = {}, cudaStream_t stream = nullptr) const {
    GATREC_EXPECTS(x.rows() == graph.num_nodes(), "x has " + std::to_string(x.rows()) + " rows, the graph " +
                                                      std::to_string(graph.num_nodes()) + " nodes");
    GATREC_EXPECTS(x.cols() == opt_.in_dim, "x has " + std::to_string(x.cols()) + " columns, expected in_dim " +
                                                std::to_string(opt_.in_dim));
    GATREC_EXPECTS(opt_.edge_dim == 0 || graph.edge_dim() == opt_.edge_dim,
                   "layer expects edge_dim " + std::to_string(opt_.edge_dim) + ", the graph has " +
                       std::to_string(graph.edge_dim()));
    blas.set_stream(stream);
    const int H = opt_.heads, C = opt_.head_dim, HC = H * C, D = opt_.edge_dim;
    const std::int64_t n = graph.num_nodes();
    ctx.graph = &graph;
    ctx.x = &x;
    ctx.mode = mode;
    const chunk_view in = graph.in_chunks();

    matmul(blas, x, weight_.value, ctx.z);
    attention_forward_args a;
    if constexpr (form == attention_form::gat) {
      ctx.score_src.resize(n, H);
      ctx.score_dst.resize(n, H);
      gat_node_scores(ctx.z.data(), att_.value.data(), att_dst_.value.data(), ctx.score_src.data(),
                      ctx.score_dst.data(), graph.num_nodes(), H, C, stream);
      if (D > 0) {
        ctx.edge_score_weights.resize(D, H);
        gat_fold_edge_weights(weight_edge_.value.data(), att_edge_.value.data(), ctx.edge_score_weights.data(), D, H,
                              C, stream);
      }
      a.score_src = ctx.score_src.data();
      a.score_dst = ctx.score_dst.data();
      a.edge_weight = D > 0 ? ctx.edge_score_weights.data() : nullptr;
    } else {
      if (opt_.bias) add_row_bias(ctx.z.data(), bias_src_.value.data(), n, HC, stream);
      matmul(blas, x, weight_dst_.value, ctx.z_dst);
      if (opt_.bias) add_row_bias(ctx.z_dst.data(), bias_dst_.value.data(), n, HC, stream);
      a.z_dst = ctx.z_dst.data();
      a.att = att_.value.data();
      a.edge_weight = D > 0 ? weight_edge_.value.data() : nullptr;
    }
    // The per-head aggregate: only the mean of heads reads it (the backward recomputes what it
    // needs from lse), so concatenating layers write y directly and keep no N x HC buffer.
    if (!opt_.concat) ctx.o.resize(n, HC);
    ctx.lse.resize(n, H);
    attention_workspace& ws = ctx.workspace();
    ws.part_state.resize(in.num_slots * H, 2);
    ws.part_acc.resize(in.num_slots * H, C);
    if (ctx.store_attention) ctx.alpha.resize(graph.num_edges(), H);
    y.resize(n, out_dim());

    a.heads = H;
    a.width = C;
    a.concat = opt_.concat;
    a.edge_dim = D;
    a.slope = static_cast<float>(opt_.negative_slope);
    a.dropout = make_dropout_view(opt_.dropout, mode);
    a.z = ctx.z.data();
    a.bias = opt_.bias ? bias_.value.data() : nullptr;
    a.y = y.data();
    a.o = opt_.concat ? nullptr : ctx.o.data();
    a.lse = ctx.lse.data();
    a.alpha = ctx.store_attention ? ctx.alpha.data() : nullptr;
    a.part_state = ws.part_state.data();
    a.part_acc = ws.part_acc.data();
    attention_forward<form>(a, graph.view(), in, stream);
  }

  /// Adds every parameter's gradient and, when dx is not null, adds dL/dx into *dx (sized like x).
  void backward(cublas_handle& blas, context& ctx, const device_matrix& dy, device_matrix* dx,
                cudaStream_t stream = nullptr) {
    GATREC_EXPECTS(ctx.graph != nullptr && ctx.x != nullptr, "backward called before forward");
    const device_graph& graph = *ctx.graph;
    const device_matrix& x = *ctx.x;
    const int H = opt_.heads, C = opt_.head_dim, HC = H * C, D = opt_.edge_dim;
    const std::int64_t n = graph.num_nodes();
    expect_shape(dy, n, out_dim(), "dy");
    if (dx != nullptr) expect_shape(*dx, x.rows(), x.cols(), "dx");
    blas.set_stream(stream);
    const chunk_view in = graph.in_chunks(), out = graph.out_chunks();

    attention_workspace& ws = ctx.workspace();
    if (opt_.bias) accumulate_column_sums(blas, ws.ones, dy, bias_.grad.data(), stream);

    const int pw = backward_partial_width(form, C, D);
    const std::int64_t slots = std::max(in.num_slots, out.num_slots);
    ws.softmax_stats.resize(n, 2 * static_cast<std::int64_t>(H));
    ws.dz.resize(n, HC);
    ws.warp_partial.resize(std::max<std::int64_t>(1, backward_partial_size(form, in, H, C, D)), 1);
    ws.reduced.resize(H, std::max(pw, 1));
    ws.part_vec.resize(slots * H, C);
    ws.part_scalar.resize(slots * H, 1);
    ws.part_softmax_sum.resize(in.num_slots * H, 1);

    attention_backward_args a;
    a.heads = H;
    a.width = C;
    a.concat = opt_.concat;
    a.grad_scale = opt_.concat ? 1.0f : 1.0f / static_cast<float>(H);
    a.edge_dim = D;
    a.slope = static_cast<float>(opt_.negative_slope);
    a.dropout = make_dropout_view(opt_.dropout, ctx.mode);
    a.z = ctx.z.data();
    a.att = att_.value.data();
    a.lse = ctx.lse.data();
    a.dy = dy.data();
    a.softmax_stats = reinterpret_cast<float2*>(ws.softmax_stats.data());
    a.dz = ws.dz.data();
    a.warp_partial = ws.warp_partial.data();
    a.part_vec = ws.part_vec.data();
    a.part_scalar = ws.part_scalar.data();
    a.part_softmax_sum = ws.part_softmax_sum.data();
    if constexpr (form == attention_form::gat) {
      ws.d_score_src.resize(n, H);
      ws.d_score_dst.resize(n, H);
      a.score_src = ctx.score_src.data();
      a.score_dst = ctx.score_dst.data();
      a.att_dst = att_dst_.value.data();
      a.edge_weight = D > 0 ? ctx.edge_score_weights.data() : nullptr;
      a.d_score_src = ws.d_score_src.data();
      a.d_score_dst = ws.d_score_dst.data();
    } else {
      ws.dz_dst.resize(n, HC);
      a.z_dst = ctx.z_dst.data();
      a.edge_weight = D > 0 ? weight_edge_.value.data() : nullptr;
      a.dz_dst = ws.dz_dst.data();
    }
    attention_backward<form>(a, graph.view(), in, out, stream);
    reduce_attention_partials(form, ws.warp_partial.data(), in, H, C, D, ws.reduced.data(), stream);

    if constexpr (form == attention_form::gat) {
      for (int h = 0; h < H; ++h) {
        accumulate_weighted_row_sum(blas, ctx.z.data() + h * C, n, C, HC, ws.d_score_src.data() + h, H,
                                    att_.grad.data() + h * C);
        accumulate_weighted_row_sum(blas, ctx.z.data() + h * C, n, C, HC, ws.d_score_dst.data() + h, H,
                                    att_dst_.grad.data() + h * C);
      }
      add_gat_edge_parameter_grads(ws.reduced.data(), D > 0 ? weight_edge_.value.data() : nullptr,
                                   D > 0 ? att_edge_.value.data() : nullptr, H, C, D,
                                   D > 0 ? weight_edge_.grad.data() : nullptr, D > 0 ? att_edge_.grad.data() : nullptr,
                                   stream);
    } else {
      add_gatv2_parameter_grads(ws.reduced.data(), H, C, D, att_.grad.data(),
                                D > 0 ? weight_edge_.grad.data() : nullptr, stream);
      accumulate_at_b(blas, x, ws.dz_dst, weight_dst_.grad);
      if (opt_.bias) {
        accumulate_column_sums(blas, ws.ones, ws.dz, bias_src_.grad.data(), stream);
        accumulate_column_sums(blas, ws.ones, ws.dz_dst, bias_dst_.grad.data(), stream);
      }
    }
    accumulate_at_b(blas, x, ws.dz, weight_.grad);
    if (dx != nullptr) {
      accumulate_a_bt(blas, ws.dz, weight_.value, *dx);
      if constexpr (form == attention_form::gatv2) accumulate_a_bt(blas, ws.dz_dst, weight_dst_.value, *dx);
    }
  }

  /// Appends this layer's parameters in the host layer's order (attention_layer::collect).
  void collect(device_parameter_list& out) {
    out.push_back(&weight_);
    if constexpr (form == attention_form::gatv2) {
      if (opt_.bias) out.push_back(&bias_src_);
      out.push_back(&weight_dst_);
      if (opt_.bias) out.push_back(&bias_dst_);
    }
    out.push_back(&att_);
    if constexpr (form == attention_form::gat) {
      out.push_back(&att_dst_);
      if (opt_.edge_dim > 0) out.push_back(&att_edge_);
    }
    if (opt_.edge_dim > 0) out.push_back(&weight_edge_);
    if (opt_.bias) out.push_back(&bias_);
  }

  device_parameter& weight() { return weight_; }
  device_parameter& weight_dst() { return weight_dst_; }
  device_parameter& att() { return att_; }
  device_parameter& att_dst() { return att_dst_; }
  device_parameter& att_edge() { return att_edge_; }
  device_parameter& weight_edge() { return weight_edge_; }
  device_parameter& bias() { return bias_; }
  device_parameter& bias_src() { return bias_src_; }
  device_parameter& bias_dst() { return bias_dst_; }

 private:
  attention_options opt_;
  device_parameter weight_, weight_dst_, bias_src_, bias_dst_, att_, att_dst_, att_edge_, weight_edge_, bias_;
};

/// Convenience aliases.
using device_gat_layer = device_attention_layer<gat_policy>;
using device_gatv2_layer = device_attention_layer<gatv2_policy>;

}  // namespace gatrec::cuda
