#pragma once

/// @file
/// @brief LayerNorm over each row (node) with learned scale and shift.

#include <cmath>
#include <string>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/nn/parameter.hpp"

namespace gatrec {

/// y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per row (biased variance, as PyTorch).
template <class Scalar>
class layer_norm {
 public:
  /// What backward needs: the normalised rows and each row's 1/sigma.
  struct context {
    matrix<Scalar> x_hat;   // (rows, width)
    vector<Scalar> inv_std;  // (rows)
  };

  layer_norm() = default;
  layer_norm(const std::string& name, int width, double eps = 1e-5)
      : gamma_(name + ".weight", 1, width, false), beta_(name + ".bias", 1, width, false), eps_(eps) {
    gamma_.value.setOnes();
  }

  int width() const { return static_cast<int>(gamma_.value.cols()); }

  void forward(const matrix<Scalar>& x, matrix<Scalar>& y, context& ctx) const {
    const Eigen::Index n = x.rows(), w = x.cols();
    ctx.x_hat.resize(n, w);
    ctx.inv_std.resize(n);
    y.resize(n, w);
    parallel_for<Eigen::Index>(0, n, [&](Eigen::Index r) {
      const auto row = x.row(r);
      const Scalar mean = row.mean();
      const Scalar var = (row.array() - mean).square().mean();
      const Scalar inv = Scalar(1) / std::sqrt(var + static_cast<Scalar>(eps_));
      ctx.inv_std[r] = inv;
      ctx.x_hat.row(r) = (row.array() - mean) * inv;
      y.row(r) = ctx.x_hat.row(r).array() * gamma_.value.row(0).array() + beta_.value.row(0).array();
    }, Eigen::Index(256));
  }

  /// dx = (inv_std) * (g - mean(g) - x_hat * mean(g * x_hat)) with g = dy * gamma; writes dx (not adds).
  void backward(const context& ctx, const matrix<Scalar>& dy, matrix<Scalar>& dx) {
    const Eigen::Index n = dy.rows(), w = dy.cols();
    gamma_.grad.row(0) += (dy.array() * ctx.x_hat.array()).colwise().sum().matrix();
    beta_.grad.row(0) += dy.colwise().sum();
    dx.resize(n, w);
    parallel_for<Eigen::Index>(0, n, [&](Eigen::Index r) {
      const auto g = dy.row(r).array() * gamma_.value.row(0).array();  // an expression: no allocation per row
      const Scalar mean_g = g.mean();
      const Scalar mean_gx = (g * ctx.x_hat.row(r).array()).mean();
      dx.row(r) = (g - mean_g - ctx.x_hat.row(r).array() * mean_gx) * ctx.inv_std[r];
    }, Eigen::Index(256));
  }

  void collect(parameter_list<Scalar>& out) {
    out.push_back(&gamma_);
    out.push_back(&beta_);
  }

  parameter<Scalar>& gamma() { return gamma_; }
  parameter<Scalar>& beta() { return beta_; }

 private:
  parameter<Scalar> gamma_;
  parameter<Scalar> beta_;
  double eps_ = 1e-5;
};

}  // namespace gatrec
