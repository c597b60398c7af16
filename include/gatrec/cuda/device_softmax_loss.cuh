#pragma once

/// @file
/// @brief gatrec::cuda::device_softmax_loss: gatrec::softmax_loss (the full softmax over the
/// catalogue, optionally with the rated-only term; no prior) on device embeddings. The scores
/// (users x items, one cuBLAS product with the temperature folded into alpha) and their gradient
/// stay on the device; per row, kernels/softmax_loss.cuh; dL/dH by two more products.

#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "fixed_order_sum.cuh"
#include "gatrec/core/error.hpp"
#include "gatrec/cuda/blas.cuh"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/eval/user_item_sets.hpp"
#include "gatrec/train/softmax_loss.hpp"
#include "hybrid_loss.cuh"
#include "softmax_loss.cuh"

namespace gatrec::cuda {

class device_softmax_loss {
 public:
  /// The liked items (negative_sampler::positive_offsets / positives) and, for the rated-only term,
  /// every user's training items, uploaded once for the whole run.
  device_softmax_loss(index_t num_users, index_t num_items, const std::vector<offset_t>& positive_offsets,
                      const std::vector<index_t>& positives, const softmax_loss_options& opt,
                      const user_item_sets* rated)
      : num_users_(num_users), num_items_(num_items), opt_(opt) {
    GATREC_EXPECTS(num_users > 0 && num_items > 0, "need users and items");
    GATREC_EXPECTS(positive_offsets.size() == static_cast<std::size_t>(num_users) + 1,
                   "offsets must have num_users + 1 entries");
    GATREC_EXPECTS(opt.temperature > 0, "temperature must be positive");
    GATREC_EXPECTS(static_cast<double>(num_users) * num_items <= opt.max_scores,
                   "full softmax over " + std::to_string(num_users) + " x " + std::to_string(num_items) +
                       " scores exceeds max_scores; use the sampled BPR loss");
    GATREC_EXPECTS(opt.rated_weight >= 0, "rated_weight must not be negative");
    GATREC_EXPECTS(!positives.empty(), "no positive pairs");
    total_ = static_cast<double>(positives.size());
    positive_offsets_ = device_buffer<offset_t>(positive_offsets);
    positives_ = device_buffer<index_t>(positives);
    if (opt.rated_weight > 0) {
      GATREC_EXPECTS(rated != nullptr && rated->num_users() == num_users && rated->num_items() == num_items,
                     "the rated-only term needs every user's rated items over the same catalogue");
      for (index_t u = 0; u < num_users; ++u)
        for (offset_t k = positive_offsets[static_cast<std::size_t>(u)];
             k < positive_offsets[static_cast<std::size_t>(u) + 1]; ++k)
          GATREC_EXPECTS(rated->contains(u, positives[static_cast<std::size_t>(k)]),
                         "liked item " + std::to_string(positives[static_cast<std::size_t>(k)]) + " of user " +
                             std::to_string(u) + " is missing from the user's rated items");
      rated_offsets_ = device_buffer<offset_t>(rated->offsets());
      rated_items_ = device_buffer<index_t>(rated->items());
    }
  }

  /// Adds dL/dh into grad (shaped like h) and returns the (weighted) loss, as softmax_loss does.
  double operator()(cublas_handle& blas, const device_matrix& h, device_matrix& grad) {
    GATREC_EXPECTS(h.rows() == static_cast<std::int64_t>(num_users_) + num_items_, "embeddings have the wrong row count");
    expect_shape(grad, h.rows(), h.cols(), "gradient");
    const std::int64_t d = h.cols();
    const float* users = h.data();
    const float* items = h.data() + static_cast<std::int64_t>(num_users_) * d;
    const float inv_t = static_cast<float>(1.0 / opt_.temperature);
    logits_.resize(num_users_, num_items_);
    grad_logits_.resize(num_users_, num_items_);
    user_loss_.resize(static_cast<std::size_t>(num_users_));
    sum_.resize(1);
    // S = (H_U H_I^T) / tau.
    gemm_row_major(blas, false, true, num_users_, num_items_, d, inv_t, users, d, items, d, 0.f, logits_.data(),
                   num_items_);
    const bool rated = opt_.rated_weight > 0;
    launch_kernel(kernels::softmax_rows_kernel, {static_cast<unsigned>(num_users_), kernels::softmax_block_threads},
                  logits_.data(), grad_logits_.data(), num_items_, positive_offsets_.data(), positives_.data(),
                  rated ? rated_offsets_.data() : nullptr, rated ? rated_items_.data() : nullptr, opt_.weight / total_,
                  opt_.rated_weight, inv_t, user_loss_.data());
    GATREC_CUDA_CHECK_LAST();
    // dL/dH_U += dS H_I, dL/dH_I += dS^T H_U.
    gemm_row_major(blas, false, false, num_users_, d, num_items_, 1.f, grad_logits_.data(), num_items_, items, d, 1.f,
                   grad.data(), d);
    gemm_row_major(blas, true, false, num_items_, d, num_users_, 1.f, grad_logits_.data(), num_items_, users, d, 1.f,
                   grad.data() + static_cast<std::int64_t>(num_users_) * d, d);
    launch_kernel(kernels::sum_in_fixed_order_kernel, {1, kernels::fixed_order_sum_threads}, user_loss_.data(),
                  static_cast<std::int64_t>(num_users_), 1, 0, sum_.data());
    GATREC_CUDA_CHECK_LAST();
    return opt_.weight * sum_.to_host()[0] / total_;
  }

 private:
  index_t num_users_, num_items_;
  softmax_loss_options opt_;
  double total_ = 0;
  device_buffer<offset_t> positive_offsets_, rated_offsets_;
  device_buffer<index_t> positives_, rated_items_;
  device_matrix logits_, grad_logits_;
  device_buffer<double> user_loss_, sum_;
};

}  // namespace gatrec::cuda
