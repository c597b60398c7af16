#pragma once

/// @file
/// @brief The paper's recommender: trainable node features -> GAT encoder over the user-item graph
/// -> dot-product (or, with normalize_output, cosine) scores.

#include <string>
#include <utility>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/graph/bipartite_graph.hpp"
#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/nn/gat_model.hpp"
#include "gatrec/nn/init.hpp"
#include "gatrec/nn/row_normalize.hpp"

namespace gatrec {

/// Options beyond the encoder's own.
struct gat_recommender_options {
  gat_model_options encoder = gat_model_options::paper();
  bool trainable_features = true;   ///< fine-tune the input features (the paper does)
  bool self_loops = true;           ///< PyG's GATv2Conv default; a node then attends to itself too
  double random_init_std = 0.1;     ///< N(0, std^2) features when none are given (FINDINGS.md)
  /// Unit-length output rows, so that scores are cosine similarities (use with a softmax loss and a
  /// temperature well below 1); off keeps the paper's raw dot products.
  bool normalize_output = false;
};

/// GAT/GATv2 encoder over a bipartite graph built from training ratings.
template <class Scalar>
class gat_recommender final : public embedding_recommender<Scalar> {
 public:
  /// @param features (num_users + num_items, in_dim) initial node features (LLM embeddings), or an
  ///        empty matrix for random initialisation
  gat_recommender(index_t num_users, index_t num_items, const rating_table& train, matrix<Scalar> features,
                  const gat_recommender_options& opt)
      : opt_(opt) {
    graph_options g;
    g.add_self_loops = opt.self_loops;
    graph_ = bipartite_graph(num_users, num_items, train, g);
    const index_t n = num_users + num_items;
    if (features.size() == 0) {
      features.resize(n, opt.encoder.in_dim);
      rng gen(mix64(opt.encoder.seed ^ 0xFEA7ull));
      normal_init(features, opt.random_init_std, gen);
    }
    GATREC_EXPECTS(features.rows() == n, "features have " + std::to_string(features.rows()) + " rows, expected " +
                                             std::to_string(n) + " (users + items)");
    GATREC_EXPECTS(features.cols() == opt.encoder.in_dim,
                   "features have width " + std::to_string(features.cols()) + ", the encoder expects " +
                       std::to_string(opt.encoder.in_dim));
    GATREC_EXPECTS(features.allFinite(), "features contain NaN or Inf");
    features_ = parameter<Scalar>("features", n, opt.encoder.in_dim);
    features_.value = std::move(features);
    encoder_ = gat_model<Scalar>(opt.encoder);
  }

  std::string name() const override {
    return opt_.encoder.form == attention_form::gat ? "gat" : "gatv2";
  }
  index_t num_users() const override { return graph_.num_users(); }
  index_t num_items() const override { return graph_.num_items(); }

  parameter_list<Scalar> parameters() override {
    parameter_list<Scalar> out;
    if (opt_.trainable_features) out.push_back(&features_);
    for (auto* p : encoder_.parameters()) out.push_back(p);
    return out;
  }

  const matrix<Scalar>& forward(const run_mode& mode) override {
    const matrix<Scalar>& h = encoder_.forward(graph_.graph(), features_.value, ctx_, mode);
    return opt_.normalize_output ? row_normalize_forward(h, normalize_ctx_) : h;
  }

  void backward(const matrix<Scalar>& grad) override {
    const matrix<Scalar>* g = &grad;
    if (opt_.normalize_output) {
      row_normalize_backward(normalize_ctx_, grad, grad_encoder_out_);
      g = &grad_encoder_out_;
    }
    encoder_.backward(ctx_, *g, opt_.trainable_features ? &features_.grad : nullptr);
  }

  checkpoint_metadata describe() const override {
    const auto& e = opt_.encoder;
    std::string layers;
    for (const auto& l : e.layers)
      layers += (layers.empty() ? "" : ",") + std::to_string(l.heads) + "x" + std::to_string(l.head_dim) +
                (l.concat ? "" : "mean");
    return {{"model", name()},
            {"in_dim", std::to_string(e.in_dim)},
            {"layers", layers},
            {"edge_dim", std::to_string(e.edge_dim)},
            {"self_loops", opt_.self_loops ? "1" : "0"},
            {"trainable_features", opt_.trainable_features ? "1" : "0"},
            {"normalize_output", opt_.normalize_output ? "1" : "0"},
            {"num_users", std::to_string(num_users())},
            {"num_items", std::to_string(num_items())}};
  }

  const gat_recommender_options& options() const { return opt_; }
  const bipartite_graph& graph() const { return graph_; }
  gat_model<Scalar>& encoder() { return encoder_; }
  const typename gat_model<Scalar>::context& context() const { return ctx_; }
  parameter<Scalar>& features() { return features_; }

 private:
  gat_recommender_options opt_;
  bipartite_graph graph_;
  parameter<Scalar> features_;
  gat_model<Scalar> encoder_;
  typename gat_model<Scalar>::context ctx_;
  row_normalize_context<Scalar> normalize_ctx_;
  matrix<Scalar> grad_encoder_out_;
};

}  // namespace gatrec
