#pragma once

/// @file
/// @brief A stack of attention blocks: the encoder that maps node features to node embeddings.

#include <cstdint>
#include <string>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/nn/gat_block.hpp"

namespace gatrec {

/// Heads, head width and head combination of one layer.
struct layer_shape {
  int heads = 1;
  int head_dim = 64;
  bool concat = true;
};

/// Options of the whole encoder.
struct gat_model_options {
  attention_form form = attention_form::gatv2;
  int in_dim = 384;
  std::vector<layer_shape> layers{{4, 64, true}, {4, 64, true}, {1, 64, true}};
  int edge_dim = 1;                ///< 1: the rating is an edge feature; 0: ignore edge features
  double attention_slope = 0.2;
  double dropout = 0.0;
  double activation_slope = 0.01;
  bool layer_norm = true;
  bool residual = true;
  std::uint64_t seed = 42;         ///< initialisation seed

  /// The architecture of PAPER.md: widths in_dim -> 256 -> 256 -> 64, heads 4/4/1 concatenated,
  /// GATv2 with the rating as edge feature, LayerNorm, LeakyReLU(0.01), residuals.
  static gat_model_options paper(int in_dim = 384) {
    gat_model_options o;
    o.in_dim = in_dim;
    return o;
  }
};

/// The encoder: h = block_L(... block_1(x)).
template <class Scalar>
class gat_model {
 public:
  struct context {
    std::vector<typename gat_block<Scalar>::context> blocks;
    std::vector<matrix<Scalar>> outputs;  // output of each block; the last is the embedding
    std::vector<matrix<Scalar>> grads;    // backward workspace
  };

  gat_model() = default;
  explicit gat_model(const gat_model_options& opt) : opt_(opt) {
    GATREC_EXPECTS(!opt.layers.empty(), "a model needs at least one layer");
    rng gen(opt.seed);
    int width = opt.in_dim;
    for (std::size_t l = 0; l < opt.layers.size(); ++l) {
      block_options b;
      b.form = opt.form;
      b.attention.in_dim = width;
      b.attention.heads = opt.layers[l].heads;
      b.attention.head_dim = opt.layers[l].head_dim;
      b.attention.concat = opt.layers[l].concat;
      b.attention.edge_dim = opt.edge_dim;
      b.attention.negative_slope = opt.attention_slope;
      b.attention.dropout = opt.dropout;
      b.layer_norm = opt.layer_norm;
      b.activation_slope = opt.activation_slope;
      b.residual = opt.residual;
      blocks_.emplace_back("layers." + std::to_string(l), b, gen);
      width = blocks_.back().out_dim();
    }
  }

  const gat_model_options& options() const { return opt_; }
  int in_dim() const { return opt_.in_dim; }
  int out_dim() const { return blocks_.back().out_dim(); }
  std::size_t num_layers() const { return blocks_.size(); }

  /// Runs every block; returns the final embeddings (N, out_dim), owned by ctx.
  const matrix<Scalar>& forward(const csr_graph& graph, const matrix<Scalar>& x, context& ctx,
                                const run_mode& mode = {}) const {
    ctx.blocks.resize(blocks_.size());
    ctx.outputs.resize(blocks_.size());
    const matrix<Scalar>* in = &x;
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      run_mode m = mode;
      m.seed = mix64(mode.seed ^ (0x1000u + l));  // a different dropout stream per layer
      blocks_[l].forward(graph, *in, ctx.outputs[l], ctx.blocks[l], m);
      in = &ctx.outputs[l];
    }
    return ctx.outputs.back();
  }

  /// Adds every parameter gradient; adds dL/dx into *dx when given (sized like x).
  void backward(context& ctx, const matrix<Scalar>& d_out, matrix<Scalar>* dx) {
    GATREC_EXPECTS(ctx.blocks.size() == blocks_.size(), "backward called before forward");
    ctx.grads.resize(blocks_.size());
    const matrix<Scalar>* g = &d_out;
    for (std::size_t l = blocks_.size(); l-- > 0;) {
      matrix<Scalar>* d_in = dx;
      if (l > 0) {
        ctx.grads[l - 1].setZero(ctx.outputs[l - 1].rows(), ctx.outputs[l - 1].cols());
        d_in = &ctx.grads[l - 1];
      }
      blocks_[l].backward(ctx.blocks[l], *g, d_in);
      if (l > 0) g = &ctx.grads[l - 1];
    }
  }

  /// Every parameter, in a fixed order.
  parameter_list<Scalar> parameters() {
    parameter_list<Scalar> out;
    for (auto& b : blocks_) b.collect(out);
    return out;
  }

  gat_block<Scalar>& block(std::size_t l) { return blocks_[l]; }
  const gat_block<Scalar>& block(std::size_t l) const { return blocks_[l]; }

 private:
  gat_model_options opt_;
  std::vector<gat_block<Scalar>> blocks_;
};

}  // namespace gatrec
