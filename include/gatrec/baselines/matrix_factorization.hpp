#pragma once

/// @file
/// @brief Matrix factorisation: one free embedding per user and per item, s(u, i) = <e_u, e_i>.
///
/// Trained with the BPR term of train/hybrid_loss.hpp (cosine weight 0) this is BPR-MF (Rendle et
/// al., UAI 2009); it is the "no graph" reference point for LightGCN and the GAT models, which map
/// the same kind of table through a graph encoder.

#include <cstdint>
#include <string>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/nn/init.hpp"

namespace gatrec {

/// Options of mf_recommender.
struct mf_options {
  index_t dim = 64;           ///< embedding width d
  double init_std = 0.1;      ///< entries start as N(0, init_std²)
  std::uint64_t seed = 1;     ///< initialisation seed
};

/// A (num_users + num_items, d) embedding table: forward returns it, backward adds to its gradient.
template <class Scalar>
class mf_recommender final : public embedding_recommender<Scalar> {
 public:
  /// @throw logic_error on negative counts, a non-positive width or a negative init_std
  mf_recommender(index_t num_users, index_t num_items, const mf_options& options = mf_options())
      : options_(options), num_users_(num_users), num_items_(num_items) {
    GATREC_EXPECTS(num_users >= 0 && num_items >= 0, "negative user or item count");
    GATREC_EXPECTS(options.dim > 0, "dim must be positive, got " + std::to_string(options.dim));
    GATREC_EXPECTS(options.init_std >= 0.0, "init_std must not be negative");
    embedding_ = parameter<Scalar>("embedding", num_users + num_items, options.dim);
    rng gen(mix64(options.seed ^ 0x3F1Aull));
    normal_init(embedding_.value, options.init_std, gen);
  }

  std::string name() const override { return "mf"; }
  index_t num_users() const override { return num_users_; }
  index_t num_items() const override { return num_items_; }

  parameter_list<Scalar> parameters() override { return {&embedding_}; }

  /// The table itself: no computation, so the reference is the parameter's value.
  const matrix<Scalar>& forward(const run_mode&) override { return embedding_.value; }

  /// dL/dE = dL/d(output), since the output is E.
  /// @throw logic_error when grad's shape differs from the table's
  void backward(const matrix<Scalar>& grad) override {
    GATREC_EXPECTS(grad.rows() == embedding_.value.rows() && grad.cols() == embedding_.value.cols(),
                   "gradient is " + std::to_string(grad.rows()) + " x " + std::to_string(grad.cols()) +
                       ", embeddings are " + std::to_string(embedding_.value.rows()) + " x " +
                       std::to_string(embedding_.value.cols()));
    embedding_.grad += grad;
  }

  checkpoint_metadata describe() const override {
    return {{"model", name()},
            {"dim", std::to_string(options_.dim)},
            {"num_users", std::to_string(num_users_)},
            {"num_items", std::to_string(num_items_)}};
  }

  /// The trainable table (users first, then items).
  parameter<Scalar>& embedding() { return embedding_; }
  const parameter<Scalar>& embedding() const { return embedding_; }

 private:
  mf_options options_;
  index_t num_users_;
  index_t num_items_;
  parameter<Scalar> embedding_;
};

}  // namespace gatrec
