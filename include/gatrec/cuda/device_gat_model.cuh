#pragma once

/// @file
/// @brief The encoder on the device: gatrec::gat_block<float> (attention -> LayerNorm -> LeakyReLU
/// -> + residual) and gatrec::gat_model<float> (the stack), uploaded from host models, with the
/// same forward and manual backward (docs/math.md section 4).

#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/cuda/blas.cuh"
#include "gatrec/cuda/device_attention.cuh"
#include "gatrec/cuda/device_graph.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/device_parameter.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/nn/gat_block.hpp"
#include "gatrec/nn/gat_model.hpp"

#include "dense.cuh"
#include "layer_norm.cuh"

namespace gatrec::cuda {

/// Scratch of one block's backward (its attention layer's included): nothing in it carries from
/// a forward to its backward, so the blocks of a stack share one (device_gat_model::context holds
/// it). The forward needs none beyond the attention layer's: the attention output is normalised
/// in place in the block's output, and cuBLAS adds a projected residual into it.
struct block_workspace {
  device_matrix grad_in;        // (N, out) dL/d(attention output)
  device_matrix norm_partials;  // per block of rows: the LayerNorm gradients' partial sums
  attention_workspace attention;  // the attention layer's (its ones vector serves the block too)
};

/// One block: h = LReLU(LayerNorm(attention(x))) + R(x), R the identity or a linear projection.
class device_gat_block {
 public:
  /// What backward needs from forward (keep one per block), and where the scratch lives.
  struct context {
    device_gat_layer::context gat;
    device_gatv2_layer::context gatv2;
    const device_matrix* x = nullptr;
    device_matrix pre_activation;  // (N, out) without LayerNorm: the attention output (LReLU' reads its sign)
    device_matrix x_hat;           // (N, out) with LayerNorm; the backward recomputes the pre-activation from it
    device_matrix inv_std;         // (N, 1)
    block_workspace* shared_workspace = nullptr;  ///< scratch owned elsewhere; null: own_workspace
    block_workspace own_workspace;
    block_workspace& workspace() { return shared_workspace != nullptr ? *shared_workspace : own_workspace; }
  };

  device_gat_block() = default;

  /// Uploads a host block (options and parameter values).
  explicit device_gat_block(gat_block<float>& host, cudaStream_t stream = nullptr) : opt_(host.options()) {
    if (opt_.form == attention_form::gat)
      gat_ = device_gat_layer(host.gat(), stream);
    else
      gatv2_ = device_gatv2_layer(host.gatv2(), stream);
    if (opt_.layer_norm) {
      gamma_ = device_parameter(host.norm().gamma(), stream);
      beta_ = device_parameter(host.norm().beta(), stream);
    }
    projected_ = host.has_projected_residual();
    if (projected_) {
      residual_weight_ = device_parameter(host.residual().weight(), stream);
      if (host.residual().has_bias()) residual_bias_ = device_parameter(host.residual().bias(), stream);
      residual_has_bias_ = host.residual().has_bias();
    }
  }

  int in_dim() const { return opt_.attention.in_dim; }
  int out_dim() const {
    return opt_.attention.concat ? opt_.attention.heads * opt_.attention.head_dim : opt_.attention.head_dim;
  }
  const block_options& options() const { return opt_; }

  void forward(cublas_handle& blas, const device_graph& graph, const device_matrix& x, device_matrix& y, context& ctx,
               const run_mode& mode = {}, cudaStream_t stream = nullptr) const {
    ctx.x = &x;
    point_at_workspace(ctx);  // the attention layer's scratch is the shared one
    // Without LayerNorm the attention output is the pre-activation the backward needs; with it,
    // the output is written into y and normalised in place (x_hat is kept instead).
    device_matrix& attention_out = opt_.layer_norm ? y : ctx.pre_activation;
    if (opt_.form == attention_form::gat)
      gat_.forward(blas, graph, x, attention_out, ctx.gat, mode, stream);
    else
      gatv2_.forward(blas, graph, x, attention_out, ctx.gatv2, mode, stream);
    const std::int64_t n = attention_out.rows();
    const int w = out_dim();
    y.resize(n, w);
    const bool identity = opt_.residual && !projected_, projected = opt_.residual && projected_;
    if (opt_.layer_norm) {
      ctx.x_hat.resize(n, w);
      ctx.inv_std.resize(n, 1);
    }
    norm_activation_forward(attention_out.data(), opt_.layer_norm ? gamma_.value.data() : nullptr,
                            opt_.layer_norm ? beta_.value.data() : nullptr, identity ? x.data() : nullptr,
                            projected && residual_has_bias_ ? residual_bias_.value.data() : nullptr, y.data(),
                            opt_.layer_norm ? ctx.x_hat.data() : nullptr,
                            opt_.layer_norm ? ctx.inv_std.data() : nullptr, n, w, opt_.layer_norm, 1e-5f,
                            static_cast<float>(opt_.activation_slope), stream);
    if (projected) {  // y += x W_r: cuBLAS adds the product, so no (N, out) buffer holds it
      blas.set_stream(stream);
      matmul(blas, x, residual_weight_.value, y, /*accumulate=*/true);
    }
  }

  /// Adds parameter gradients; adds dL/dx into *dx when given (sized like x).
  void backward(cublas_handle& blas, context& ctx, const device_matrix& dy, device_matrix* dx,
                cudaStream_t stream = nullptr) {
    GATREC_EXPECTS(ctx.x != nullptr, "backward called before forward");
    const device_matrix& x = *ctx.x;
    const std::int64_t n = dy.rows();
    const int w = out_dim();
    expect_shape(dy, x.rows(), w, "dy");
    block_workspace& ws = point_at_workspace(ctx);
    blas.set_stream(stream);
    if (opt_.residual && dx != nullptr && !projected_) add(dy.data(), dx->data(), dy.size(), stream);
    if (opt_.residual && projected_) {
      accumulate_at_b(blas, x, dy, residual_weight_.grad);
      if (residual_has_bias_) accumulate_column_sums(blas, ws.attention.ones, dy, residual_bias_.grad.data(), stream);
      if (dx != nullptr) accumulate_a_bt(blas, dy, residual_weight_.value, *dx);
    }
    ws.grad_in.resize(n, w);
    norm_activation_backward(dy.data(), opt_.layer_norm ? nullptr : ctx.pre_activation.data(),
                             opt_.layer_norm ? ctx.x_hat.data() : nullptr,
                             opt_.layer_norm ? ctx.inv_std.data() : nullptr,
                             opt_.layer_norm ? gamma_.value.data() : nullptr,
                             opt_.layer_norm ? beta_.value.data() : nullptr, ws.grad_in.data(), n, w, opt_.layer_norm,
                             static_cast<float>(opt_.activation_slope), stream);
    if (opt_.layer_norm) {
      ws.norm_partials.resize(norm_affine_partial_size(n, w), 1);
      norm_affine_backward(dy.data(), ctx.x_hat.data(), gamma_.value.data(), beta_.value.data(),
                           ws.norm_partials.data(), gamma_.grad.data(), beta_.grad.data(), n, w,
                           static_cast<float>(opt_.activation_slope), stream);
    }
    if (opt_.form == attention_form::gat)
      gat_.backward(blas, ctx.gat, ws.grad_in, dx, stream);
    else
      gatv2_.backward(blas, ctx.gatv2, ws.grad_in, dx, stream);
  }

  /// The host block's order (gat_block::collect).
  void collect(device_parameter_list& out) {
    if (opt_.form == attention_form::gat)
      gat_.collect(out);
    else
      gatv2_.collect(out);
    if (opt_.layer_norm) {
      out.push_back(&gamma_);
      out.push_back(&beta_);
    }
    if (projected_) {
      out.push_back(&residual_weight_);
      if (residual_has_bias_) out.push_back(&residual_bias_);
    }
  }

  /// The attention weights (E, H) of the last forward through ctx (set ctx.gat/gatv2.store_attention).
  const device_matrix& attention_weights(const context& ctx) const {
    return opt_.form == attention_form::gat ? ctx.gat.alpha : ctx.gatv2.alpha;
  }

  device_gat_layer& gat() { return gat_; }
  device_gatv2_layer& gatv2() { return gatv2_; }

 private:
  /// The block's scratch, with the attention layer's part of it handed to the layer's context
  /// (set on every call: a context may have moved since the last).
  static block_workspace& point_at_workspace(context& ctx) {
    block_workspace& ws = ctx.workspace();
    ctx.gat.shared_workspace = &ws.attention;
    ctx.gatv2.shared_workspace = &ws.attention;
    return ws;
  }

  block_options opt_;
  device_gat_layer gat_;
  device_gatv2_layer gatv2_;
  device_parameter gamma_, beta_, residual_weight_, residual_bias_;
  bool projected_ = false;
  bool residual_has_bias_ = false;
};

/// The encoder stack on the device: h = block_L(... block_1(x)).
class device_gat_model {
 public:
  struct context {
    std::vector<device_gat_block::context> blocks;
    std::vector<device_matrix> outputs;  // output of each block; the last is the embedding
    block_workspace workspace;           // every block's scratch, one block at a time
    device_matrix grads[2];              // dL/d(input) of the block being run backward, in turn
  };

  device_gat_model() = default;

  /// Uploads a host model.
  explicit device_gat_model(gat_model<float>& host, cudaStream_t stream = nullptr) : opt_(host.options()) {
    for (std::size_t l = 0; l < host.num_layers(); ++l) blocks_.emplace_back(host.block(l), stream);
  }

  const gat_model_options& options() const { return opt_; }
  int out_dim() const { return blocks_.back().out_dim(); }
  std::size_t num_layers() const { return blocks_.size(); }

  /// Runs every block; returns the embeddings (N, out_dim), owned by ctx.
  const device_matrix& forward(cublas_handle& blas, const device_graph& graph, const device_matrix& x, context& ctx,
                               const run_mode& mode = {}, cudaStream_t stream = nullptr) const {
    GATREC_EXPECTS(!blocks_.empty(), "an empty model");
    ctx.blocks.resize(blocks_.size());
    ctx.outputs.resize(blocks_.size());
    const device_matrix* in = &x;
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      ctx.blocks[l].shared_workspace = &ctx.workspace;
      run_mode m = mode;
      m.seed = mix64(mode.seed ^ (0x1000u + l));  // the host model's per-layer dropout stream
      blocks_[l].forward(blas, graph, *in, ctx.outputs[l], ctx.blocks[l], m, stream);
      in = &ctx.outputs[l];
    }
    return ctx.outputs.back();
  }

  /// Adds every parameter gradient; adds dL/dx into *dx when given (sized like x).
  void backward(cublas_handle& blas, context& ctx, const device_matrix& d_out, device_matrix* dx,
                cudaStream_t stream = nullptr) {
    GATREC_EXPECTS(ctx.blocks.size() == blocks_.size(), "backward called before forward");
    const device_matrix* g = &d_out;
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      ctx.blocks[l].shared_workspace = &ctx.workspace;
      device_matrix* d_in = dx;
      if (l > 0) {
        d_in = &ctx.grads[l % 2];  // not the one g points at: that is block l + 1's
        d_in->resize(ctx.outputs[l - 1].rows(), ctx.outputs[l - 1].cols());
        d_in->set_zero(stream);
      }
      blocks_[l].backward(blas, ctx.blocks[l], *g, d_in, stream);
      g = d_in;
    }
  }

  /// Every parameter, in the host model's order.
  device_parameter_list parameters() {
    device_parameter_list out;
    for (auto& b : blocks_) b.collect(out);
    return out;
  }

  device_gat_block& block(std::size_t l) { return blocks_[l]; }

 private:
  gat_model_options opt_;
  std::vector<device_gat_block> blocks_;
};

}  // namespace gatrec::cuda
