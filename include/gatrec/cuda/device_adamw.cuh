#pragma once

/// @file
/// @brief gatrec::cuda::device_adamw: gatrec::adamw (and clip_gradient_norm) on device parameters,
/// with the moments on the device: the optimiser of a training run that keeps its parameters on
/// the GPU between steps.

#include <cmath>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_parameter.cuh"
#include "gatrec/train/adamw.hpp"
#include "gatrec/train/adamw_update.hpp"

#include "adamw.cuh"

namespace gatrec::cuda {

class device_adamw {
 public:
  /// The parameters must outlive the optimiser; their order must not change between steps.
  device_adamw(device_parameter_list params, const adamw_options& opt) : params_(std::move(params)), opt_(opt) {
    for (auto* p : params_) {
      m_.emplace_back(p->value.rows(), p->value.cols());
      v_.emplace_back(p->value.rows(), p->value.cols());
      m_.back().set_zero();
      v_.back().set_zero();
    }
    norms_.resize(params_.size() > 0 ? params_.size() : 1);
  }

  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  long long steps() const { return step_; }

  /// The global L2 norm of the gradients (as gatrec::clip_gradient_norm computes it, in double).
  double gradient_norm() {
    for (std::size_t k = 0; k < params_.size(); ++k)
      launch_sum_of_squares(params_[k]->grad.data(), static_cast<std::size_t>(params_[k]->grad.size()),
                            norms_.data() + k);
    const std::vector<double> sq = norms_.to_host();
    double total = 0.0;
    for (std::size_t k = 0; k < params_.size(); ++k) total += sq[k];
    return std::sqrt(total);
  }

  /// One update from the gradients on the device; with max_norm > 0 the gradients are first
  /// scaled as clip_gradient_norm scales them. @return the gradient norm when clipping, else 0
  double step(double max_norm = 0.0) {
    float scale = 1.0f;
    double norm = 0.0;
    if (max_norm > 0.0) {
      norm = gradient_norm();
      if (norm > max_norm) scale = static_cast<float>(max_norm / (norm + 1e-6));
    }
    ++step_;
    const adamw_step_constants c = adamw_step_constants::of(opt_, step_);
    const bool decays = opt_.weight_decay != 0.0;
    for (std::size_t k = 0; k < params_.size(); ++k) {
      auto& p = *params_[k];
      expect_shape(p.grad, p.value.rows(), p.value.cols(), "gradient");
      launch_adamw(p.value.data(), p.grad.data(), m_[k].data(), v_[k].data(), static_cast<std::size_t>(p.value.size()),
                   c, p.decay && decays, scale);
    }
    return norm;
  }

 private:
  device_parameter_list params_;
  adamw_options opt_;
  std::vector<device_matrix> m_, v_;
  device_buffer<double> norms_;
  long long step_ = 0;
};

}  // namespace gatrec::cuda
