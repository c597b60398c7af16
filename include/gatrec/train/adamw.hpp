#pragma once

/// @file
/// @brief AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as torch.optim.AdamW.

#include <cmath>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/nn/parameter.hpp"

namespace gatrec {

struct adamw_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-5;  ///< applied to parameters whose `decay` flag is set
};

/// AdamW over a fixed parameter list (the order must not change between steps).
template <class Scalar>
class adamw {
 public:
  /// The moments are allocated at the first step: a trainer whose model steps on its own device
  /// keeps this object for the learning rate only.
  adamw(parameter_list<Scalar> params, const adamw_options& opt) : params_(std::move(params)), opt_(opt) {}

  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  long long steps() const { return step_; }

  /// One update from the gradients currently held by the parameters.
  void step() {
    if (m_.size() != params_.size()) {
      for (auto* p : params_) {
        m_.push_back(matrix<Scalar>::Zero(p->value.rows(), p->value.cols()));
        v_.push_back(matrix<Scalar>::Zero(p->value.rows(), p->value.cols()));
      }
    }
    ++step_;
    const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(step_));
    const Scalar b1 = static_cast<Scalar>(opt_.beta1), b2 = static_cast<Scalar>(opt_.beta2);
    const Scalar step_size = static_cast<Scalar>(opt_.lr / bc1);
    const Scalar inv_sqrt_bc2 = static_cast<Scalar>(1.0 / std::sqrt(bc2));
    const Scalar eps = static_cast<Scalar>(opt_.eps);
    for (std::size_t k = 0; k < params_.size(); ++k) {
      auto& p = *params_[k];
      GATREC_EXPECTS(p.grad.rows() == p.value.rows() && p.grad.cols() == p.value.cols(),
                     "gradient of " + p.name + " has the wrong shape");
      if (p.decay && opt_.weight_decay != 0.0) p.value *= static_cast<Scalar>(1.0 - opt_.lr * opt_.weight_decay);
      m_[k] = b1 * m_[k] + (Scalar(1) - b1) * p.grad;
      v_[k] = b2 * v_[k] + (Scalar(1) - b2) * p.grad.cwiseAbs2();
      p.value.array() -= step_size * m_[k].array() / (v_[k].array().sqrt() * inv_sqrt_bc2 + eps);
    }
  }

  /// Moment estimates (empty before the first step).
  std::vector<matrix<Scalar>>& first_moments() { return m_; }
  std::vector<matrix<Scalar>>& second_moments() { return v_; }

 private:
  parameter_list<Scalar> params_;
  adamw_options opt_;
  std::vector<matrix<Scalar>> m_, v_;
  long long step_ = 0;
};

/// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before
/// clipping (as torch.nn.utils.clip_grad_norm_).
template <class Scalar>
double clip_gradient_norm(const parameter_list<Scalar>& params, double max_norm) {
  double sq = 0.0;
  for (auto* p : params) sq += static_cast<double>(p->grad.squaredNorm());
  const double norm = std::sqrt(sq);
  if (max_norm > 0.0 && norm > max_norm) {
    const Scalar scale = static_cast<Scalar>(max_norm / (norm + 1e-6));
    for (auto* p : params) p->grad *= scale;
  }
  return norm;
}

}  // namespace gatrec
