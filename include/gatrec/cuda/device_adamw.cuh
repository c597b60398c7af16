#pragma once

/// @file
/// @brief gatrec::cuda::device_adamw: gatrec::adamw (and clip_gradient_norm) on device parameters,
/// with the moments on the device: the optimiser of a training run that keeps its parameters on
/// the GPU between steps.

#include <cmath>
#include <string>
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
    std::vector<std::size_t> sizes;
    m_.reserve(params_.size());
    v_.reserve(params_.size());
    for (auto* p : params_) {
      m_.emplace_back(p->value.rows(), p->value.cols());
      v_.emplace_back(p->value.rows(), p->value.cols());
      m_.back().set_zero();
      v_.back().set_zero();
      sizes.push_back(static_cast<std::size_t>(p->value.size()));
      tensors_.push_back({p->value.data(), p->grad.data(), m_.back().data(), v_.back().data(), sizes.back(), p->decay});
    }
    const std::vector<adamw_chunk> chunks = adamw_chunks(sizes);
    num_chunks_ = chunks.size();
    tensor_table_ = device_buffer<adamw_tensor>(tensors_);
    chunk_table_ = device_buffer<adamw_chunk>(chunks);
    std::vector<const float*> grads;
    for (const adamw_tensor& t : tensors_) grads.push_back(t.grad);
    grad_table_ = device_buffer<const float*>(grads);
    grad_sizes_ = device_buffer<std::size_t>(sizes);
    squares_.resize(params_.size() > 0 ? params_.size() : 1);
    norm_ = device_buffer<double>(std::vector<double>{0.0});
    scale_ = device_buffer<float>(std::vector<float>{1.0f});
  }

  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  long long steps() const { return step_; }

  /// The global L2 norm of the gradients (as gatrec::clip_gradient_norm computes it, in double).
  /// Waits for the device.
  double gradient_norm() {
    expect_table_current();
    launch_gradient_norm(0.0);
    return last_gradient_norm();
  }

  /// One update from the gradients on the device; with max_norm > 0 the gradients are first
  /// scaled as clip_gradient_norm scales them. The norm and the factor are computed on the device:
  /// nothing comes back, so the host queues the next step without waiting
  /// (last_gradient_norm() brings the norm back when it is wanted).
  void step(double max_norm = 0.0) {
    const bool clips = max_norm > 0.0;
    expect_table_current();
    if (clips) launch_gradient_norm(max_norm);
    ++step_;
    const adamw_step_constants c = adamw_step_constants::of(opt_, step_);
    launch_adamw(tensor_table_.data(), chunk_table_.data(), num_chunks_, c, opt_.weight_decay != 0.0,
                 clips ? scale_.data() : nullptr);
  }

  /// The gradient norm of the last clipping step or gradient_norm() call (0 before any); waits for
  /// the device.
  double last_gradient_norm() const { return norm_.to_host()[0]; }

 private:
  /// The device table still describes the parameters: a tensor reallocated, reshaped or given
  /// another decay flag since the optimiser was built would be updated at the old address.
  void expect_table_current() const {
    for (std::size_t k = 0; k < params_.size(); ++k) {
      const auto& p = *params_[k];
      const adamw_tensor& t = tensors_[k];
      expect_shape(p.grad, p.value.rows(), p.value.cols(), "gradient");
      GATREC_EXPECTS(p.value.data() == t.value && p.grad.data() == t.grad &&
                         static_cast<std::size_t>(p.value.size()) == t.n && p.decay == t.decay,
                     "parameter '" + p.name + "' was reallocated, resized or changed its decay flag after the "
                     "optimiser was built");
    }
  }

  /// Queues the per-tensor sums of squares, the global norm and the clipping factor (for max_norm;
  /// 0: no clipping, factor 1).
  void launch_gradient_norm(double max_norm) {
    const int count = static_cast<int>(params_.size());
    launch_sum_of_squares(grad_table_.data(), grad_sizes_.data(), count, squares_.data());
    launch_clip_scale(squares_.data(), count, max_norm > 0.0 ? max_norm : HUGE_VAL, norm_.data(), scale_.data());
  }

  device_parameter_list params_;
  adamw_options opt_;
  std::vector<device_matrix> m_, v_;
  std::vector<adamw_tensor> tensors_;        // each tensor's pointers and size (the device table's copy)
  device_buffer<adamw_tensor> tensor_table_;
  device_buffer<adamw_chunk> chunk_table_;   // the blocks' shares of a step
  std::size_t num_chunks_ = 0;
  device_buffer<const float*> grad_table_;   // the gradients' device pointers, for one sum launch
  device_buffer<std::size_t> grad_sizes_;
  device_buffer<double> squares_, norm_;     // per-tensor sums of squares; the global norm
  device_buffer<float> scale_;               // the clipping factor the update applies
  long long step_ = 0;
};

}  // namespace gatrec::cuda
