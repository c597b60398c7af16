#pragma once

/// @file
/// @brief LightGCN (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network for
/// Recommendation", SIGIR 2020): trainable embeddings smoothed over the user-item graph by a fixed,
/// symmetric-normalised propagation, without weights or non-linearities.
///
///     Â = D^{-1/2} A D^{-1/2},   E_{k+1} = Â E_k,   output = (1 / (K + 1)) Σ_{k=0..K} E_k
///
/// A is the binary adjacency of the bipartite graph (users and items, both directions, no
/// self-loops), D its degree matrix. The output is linear in E_0, and Â is symmetric, so the
/// backward pass is the same propagation applied to the incoming gradient (docs/math.md, LightGCN).

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/baselines/interaction_matrix.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/graph/bipartite_graph.hpp"
#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/nn/init.hpp"

namespace gatrec {

/// Options of lightgcn_recommender.
struct lightgcn_options {
  index_t dim = 64;          ///< embedding width d
  int layers = 3;            ///< K, the number of propagation steps (the paper's default is 3)
  double init_std = 0.1;     ///< E_0 starts as N(0, init_std²), as in the authors' code
  std::uint64_t seed = 1;    ///< initialisation seed
  /// Graph edges: training ratings >= this value; std::nullopt (default) uses every training
  /// rating, the same graph the GAT models see, so that comparisons isolate the encoder.
  std::optional<float> min_rating = std::nullopt;
};

/// LightGCN over a bipartite graph built from training ratings.
template <class Scalar>
class lightgcn_recommender final : public embedding_recommender<Scalar> {
 public:
  /// Builds Â from the training ratings (a pair rated several times is one edge) and initialises E_0.
  /// @throw logic_error on a bad option or a rating outside the given counts
  lightgcn_recommender(index_t num_users, index_t num_items, const rating_table& train,
                       const lightgcn_options& options = lightgcn_options())
      : options_(options) {
    GATREC_EXPECTS(num_users >= 0 && num_items >= 0, "negative user or item count");
    GATREC_EXPECTS(options.dim > 0, "dim must be positive, got " + std::to_string(options.dim));
    GATREC_EXPECTS(options.layers >= 0, "layers must not be negative, got " + std::to_string(options.layers));
    GATREC_EXPECTS(options.init_std >= 0.0, "init_std must not be negative");
    build_graph(num_users, num_items, train);
    embedding_ = parameter<Scalar>("embedding", num_users + num_items, options.dim);
    rng gen(mix64(options.seed ^ 0x11C6ull));
    normal_init(embedding_.value, options.init_std, gen);
  }

  std::string name() const override { return "lightgcn"; }
  index_t num_users() const override { return graph_.num_users(); }
  index_t num_items() const override { return graph_.num_items(); }

  parameter_list<Scalar> parameters() override { return {&embedding_}; }

  /// (num_users + num_items, d) mean of E_0..E_K. Nothing is random, so the mode is not used.
  const matrix<Scalar>& forward(const run_mode&) override {
    const matrix<Scalar>& e0 = embedding_.value;
    out_ = e0;
    const matrix<Scalar>* current = &e0;
    for (int k = 0; k < options_.layers; ++k) {
      matrix<Scalar>& next = (k % 2 == 0) ? buffer_a_ : buffer_b_;
      propagate(*current, next, nullptr, &out_);  // next = Â current; out += next
      current = &next;
    }
    out_ *= Scalar(1) / Scalar(options_.layers + 1);
    return out_;
  }

  /// dL/dE_0 = (1 / (K + 1)) Σ_k Â^k G, evaluated as S_0 = G, S_{m+1} = G + Â S_m (Horner), so the
  /// pass costs K propagations and needs nothing stored by forward.
  /// @throw logic_error when grad's shape differs from the output's
  void backward(const matrix<Scalar>& grad) override {
    GATREC_EXPECTS(grad.rows() == embedding_.value.rows() && grad.cols() == embedding_.value.cols(),
                   "gradient is " + std::to_string(grad.rows()) + " x " + std::to_string(grad.cols()) +
                       ", embeddings are " + std::to_string(embedding_.value.rows()) + " x " +
                       std::to_string(embedding_.value.cols()));
    const Scalar scale = Scalar(1) / Scalar(options_.layers + 1);
    if (options_.layers == 0) {
      embedding_.grad += scale * grad;
      return;
    }
    const matrix<Scalar>* current = &grad;
    for (int k = 0; k < options_.layers; ++k) {
      matrix<Scalar>& next = (k % 2 == 0) ? buffer_a_ : buffer_b_;
      propagate(*current, next, &grad, nullptr);  // next = G + Â current
      current = &next;
    }
    embedding_.grad += scale * *current;
  }

  checkpoint_metadata describe() const override {
    return {{"model", name()},
            {"dim", std::to_string(options_.dim)},
            {"layers", std::to_string(options_.layers)},
            {"graph_min_rating", options_.min_rating ? std::to_string(*options_.min_rating) : std::string("all")},
            {"num_users", std::to_string(num_users())},
            {"num_items", std::to_string(num_items())}};
  }

  /// y = Â x, or y = base + Â x when `base` is given; also adds y into `*accumulate` when given.
  /// Parallel over destination rows; each row sums its in-edges in CSR order, so the result is the
  /// same for any thread count.
  /// @param x (num_users + num_items, d)
  /// @param y resized to x's shape; must not alias x, base or accumulate
  void propagate(const matrix<Scalar>& x, matrix<Scalar>& y, const matrix<Scalar>* base = nullptr,
                 matrix<Scalar>* accumulate = nullptr) const {
    const csr_graph& g = graph_.graph();
    GATREC_EXPECTS(x.rows() == g.num_nodes(), "x has " + std::to_string(x.rows()) + " rows, the graph " +
                                                  std::to_string(g.num_nodes()) + " nodes");
    y.resize(x.rows(), x.cols());
    const offset_t* offsets = g.in_offsets().data();
    const index_t* sources = g.in_sources().data();
    const Scalar* w = weights_.data();
    parallel_for<index_t>(0, g.num_nodes(), [&](index_t i) {
      auto yi = y.row(i);
      if (base != nullptr)
        yi = base->row(i);
      else
        yi.setZero();
      for (offset_t e = offsets[i]; e < offsets[i + 1]; ++e) yi += w[e] * x.row(sources[e]);
      if (accumulate != nullptr) accumulate->row(i) += yi;
    }, index_t(128));  // rows are cheap (a few axpys of width d): coarse chunks keep scheduling overhead low
  }

  /// The graph Â is defined on (users are nodes 0..U-1, items U..U+I-1).
  const bipartite_graph& graph() const { return graph_; }
  /// (num_edges) Â's non-zeros 1 / sqrt(deg(i) deg(j)), in the graph's destination-CSR order.
  const std::vector<Scalar>& edge_weights() const { return weights_; }
  /// E_0, the trainable table (users first, then items).
  parameter<Scalar>& embedding() { return embedding_; }
  const parameter<Scalar>& embedding() const { return embedding_; }
  const lightgcn_options& options() const { return options_; }

 private:
  void build_graph(index_t num_users, index_t num_items, const rating_table& train) {
    // Deduplicate through the interaction matrix: A is binary, and a repeated rating must not
    // count twice in a degree.
    const interaction_matrix x(num_users, num_items, train, options_.min_rating);
    rating_table pairs;
    pairs.reserve(static_cast<std::size_t>(x.nnz()));
    for (index_t u = 0; u < num_users; ++u)
      for (index_t i : x.items_of(u)) pairs.push_back(u, i, 1.0f);
    graph_ = bipartite_graph(num_users, num_items, pairs);
    const csr_graph& g = graph_.graph();
    // The graph has every edge in both directions, so in-degree = degree.
    weights_.resize(static_cast<std::size_t>(g.num_edges()));
    for (index_t i = 0; i < g.num_nodes(); ++i)
      for (offset_t e = g.in_offsets()[i]; e < g.in_offsets()[i + 1]; ++e)
        weights_[static_cast<std::size_t>(e)] = static_cast<Scalar>(
            1.0 / std::sqrt(static_cast<double>(g.in_degree(i)) * static_cast<double>(g.in_degree(g.in_sources()[e]))));
  }

  lightgcn_options options_;
  bipartite_graph graph_;
  std::vector<Scalar> weights_;  // (num_edges)
  parameter<Scalar> embedding_;
  matrix<Scalar> out_;                  // (N, d) the last forward's output
  matrix<Scalar> buffer_a_, buffer_b_;  // (N, d) propagation ping-pong, reused across steps
};

}  // namespace gatrec
