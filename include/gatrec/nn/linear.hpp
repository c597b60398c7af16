#pragma once

/// @file
/// @brief A dense layer Y = X W + b (W stored as in x out, so rows of X map to rows of Y).

#include <string>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/products.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/nn/init.hpp"
#include "gatrec/nn/parameter.hpp"

namespace gatrec {

/// Y = X W + b. Used for the residual projection where block widths differ. Initialised as
/// PyTorch's nn.Linear (U(-1/sqrt(in), 1/sqrt(in)) for weights and bias).
template <class Scalar>
class linear {
 public:
  linear() = default;
  /// @param name prefix of the parameter names
  linear(const std::string& name, int in_dim, int out_dim, bool bias, rng& gen)
      : weight_(name + ".weight", in_dim, out_dim), has_bias_(bias) {
    GATREC_EXPECTS(in_dim > 0 && out_dim > 0, "linear dimensions must be positive");
    fan_in_uniform(weight_.value, in_dim, gen);
    if (bias) {
      bias_ = parameter<Scalar>(name + ".bias", 1, out_dim, false);
      fan_in_uniform(bias_.value, in_dim, gen);
    }
  }

  int in_dim() const { return static_cast<int>(weight_.value.rows()); }
  int out_dim() const { return static_cast<int>(weight_.value.cols()); }
  bool has_bias() const { return has_bias_; }

  /// Y = X W + b.
  void forward(const matrix<Scalar>& x, matrix<Scalar>& y) const {
    GATREC_EXPECTS(x.cols() == weight_.value.rows(), "linear input has " + std::to_string(x.cols()) +
                                                         " columns, expected " + std::to_string(in_dim()));
    product(x, weight_.value, y);
    if (has_bias_) y.rowwise() += bias_.value.row(0);
  }

  /// Adds dW = X^T dY and db = sum of dY rows; adds dX = dY W^T when dx is given.
  void backward(const matrix<Scalar>& x, const matrix<Scalar>& dy, matrix<Scalar>* dx) {
    accumulate_transposed_product(x, dy, weight_.grad);
    if (has_bias_) bias_.grad.row(0) += dy.colwise().sum();
    if (dx != nullptr) product_transposed(dy, weight_.value, *dx, true);
  }

  void collect(parameter_list<Scalar>& out) {
    out.push_back(&weight_);
    if (has_bias_) out.push_back(&bias_);
  }

  parameter<Scalar>& weight() { return weight_; }
  parameter<Scalar>& bias() { return bias_; }

 private:
  parameter<Scalar> weight_;
  parameter<Scalar> bias_;
  bool has_bias_ = false;
};

}  // namespace gatrec
