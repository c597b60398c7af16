#pragma once

/// @file
/// @brief One block of the paper's encoder: attention -> LayerNorm -> LeakyReLU -> + residual.

#include <string>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/nn/activation.hpp"
#include "gatrec/nn/attention.hpp"
#include "gatrec/nn/layer_norm.hpp"
#include "gatrec/nn/linear.hpp"

namespace gatrec {

/// Options of one block.
struct block_options {
  attention_form form = attention_form::gatv2;
  attention_options attention;
  bool layer_norm = true;          ///< LayerNorm after the attention
  double activation_slope = 0.01;  ///< LeakyReLU slope after the norm (1.0 makes it the identity)
  bool residual = true;            ///< add the input (projected by a linear layer where widths differ)
};

/// h = LeakyReLU(LayerNorm(attention(x))) + R(x), with R the identity or a linear projection.
template <class Scalar>
class gat_block {
 public:
  struct context {
    typename gat_layer<Scalar>::context gat;
    typename gatv2_layer<Scalar>::context gatv2;
    typename layer_norm<Scalar>::context norm;
    const matrix<Scalar>* x = nullptr;
    matrix<Scalar> attention_out;  // (N, out)
    matrix<Scalar> pre_activation; // (N, out) LayerNorm output (or attention output without norm)
    matrix<Scalar> residual;       // (N, out) projected residual (forward workspace)
    matrix<Scalar> grad;           // (N, out) backward workspace
    matrix<Scalar> grad_norm_in;   // (N, out) backward workspace
  };

  gat_block() = default;
  gat_block(const std::string& name, const block_options& opt, rng& gen) : opt_(opt) {
    if (opt.form == attention_form::gat)
      gat_ = gat_layer<Scalar>(name + ".conv", opt.attention, gen);
    else
      gatv2_ = gatv2_layer<Scalar>(name + ".conv", opt.attention, gen);
    const int out = out_dim();
    if (opt.layer_norm) norm_ = layer_norm<Scalar>(name + ".norm", out);
    projected_residual_ = opt.residual && opt.attention.in_dim != out;
    if (projected_residual_) residual_ = linear<Scalar>(name + ".residual", opt.attention.in_dim, out, true, gen);
  }

  int in_dim() const { return opt_.attention.in_dim; }
  int out_dim() const {
    return opt_.attention.concat ? opt_.attention.heads * opt_.attention.head_dim : opt_.attention.head_dim;
  }
  const block_options& options() const { return opt_; }

  void forward(const csr_graph& graph, const matrix<Scalar>& x, matrix<Scalar>& y, context& ctx,
               const run_mode& mode = {}) const {
    ctx.x = &x;
    if (opt_.form == attention_form::gat)
      gat_.forward(graph, x, ctx.attention_out, ctx.gat, mode);
    else
      gatv2_.forward(graph, x, ctx.attention_out, ctx.gatv2, mode);
    if (opt_.layer_norm)
      norm_.forward(ctx.attention_out, ctx.pre_activation, ctx.norm);
    else
      ctx.pre_activation = ctx.attention_out;
    const Scalar slope = static_cast<Scalar>(opt_.activation_slope);
    y.resize(ctx.pre_activation.rows(), ctx.pre_activation.cols());
    y = ctx.pre_activation.unaryExpr([slope](Scalar v) { return leaky_relu(v, slope); });
    if (opt_.residual) {
      if (projected_residual_) {
        residual_.forward(x, ctx.residual);
        y += ctx.residual;
      } else {
        y += x;
      }
    }
  }

  /// Adds parameter gradients; adds dL/dx into *dx when given (sized like x).
  void backward(context& ctx, const matrix<Scalar>& dy, matrix<Scalar>* dx) {
    const matrix<Scalar>& x = *ctx.x;
    const Scalar slope = static_cast<Scalar>(opt_.activation_slope);
    if (opt_.residual && dx != nullptr && !projected_residual_) *dx += dy;
    if (opt_.residual && projected_residual_) residual_.backward(x, dy, dx);
    // Through the activation, then the norm.
    ctx.grad = dy.binaryExpr(ctx.pre_activation, [slope](Scalar g, Scalar v) { return g * leaky_relu_grad(v, slope); });
    if (opt_.layer_norm) {
      norm_.backward(ctx.norm, ctx.grad, ctx.grad_norm_in);
      ctx.grad.swap(ctx.grad_norm_in);
    }
    if (opt_.form == attention_form::gat)
      gat_.backward(ctx.gat, ctx.grad, dx);
    else
      gatv2_.backward(ctx.gatv2, ctx.grad, dx);
  }

  void collect(parameter_list<Scalar>& out) {
    if (opt_.form == attention_form::gat)
      gat_.collect(out);
    else
      gatv2_.collect(out);
    if (opt_.layer_norm) norm_.collect(out);
    if (projected_residual_) residual_.collect(out);
  }

  /// The attention weights (num_edges, heads) of the last forward pass through `ctx`.
  const std::vector<Scalar>& attention_weights(const context& ctx) const {
    return opt_.form == attention_form::gat ? ctx.gat.alpha : ctx.gatv2.alpha;
  }

  gat_layer<Scalar>& gat() { return gat_; }
  gatv2_layer<Scalar>& gatv2() { return gatv2_; }
  layer_norm<Scalar>& norm() { return norm_; }
  linear<Scalar>& residual() { return residual_; }
  bool has_projected_residual() const { return projected_residual_; }

 private:
  block_options opt_;
  gat_layer<Scalar> gat_;
  gatv2_layer<Scalar> gatv2_;
  layer_norm<Scalar> norm_;
  linear<Scalar> residual_;
  bool projected_residual_ = false;
};

}  // namespace gatrec
