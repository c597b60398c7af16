#pragma once

/// @file
/// @brief gatrec::cuda::device_softmax_loss: gatrec::softmax_loss (the full softmax over the
/// catalogue, optionally with the rated-only term; no prior) on device embeddings. Users go in
/// blocks: per block the scores (block x items, one cuBLAS product with the temperature folded into
/// alpha) and their gradient stay on the device, kernels/softmax_loss.cuh does each row, and two more
/// products add the block's share of dL/dH. The block bounds the memory (default 1 GiB for scores
/// and gradient), so unlike the CPU loss, which holds every score and refuses catalogues above
/// softmax_loss_options::max_scores, this one takes any size: at the ML-25M shape (162,541 x 59,047
/// scores, 38 GB whole) it runs 2,272 users a block.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "dense.cuh"
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
  /// @param max_block_bytes device memory for one block's scores and their gradient (8 bytes per
  ///        user and item; at least one user per block). opt.max_scores is not used.
  device_softmax_loss(index_t num_users, index_t num_items, const std::vector<offset_t>& positive_offsets,
                      const std::vector<index_t>& positives, const softmax_loss_options& opt,
                      const user_item_sets* rated, std::size_t max_block_bytes = std::size_t{1} << 30)
      : num_users_(num_users), num_items_(num_items), opt_(opt) {
    GATREC_EXPECTS(num_users > 0 && num_items > 0, "need users and items");
    GATREC_EXPECTS(positive_offsets.size() == static_cast<std::size_t>(num_users) + 1,
                   "offsets must have num_users + 1 entries");
    GATREC_EXPECTS(opt.temperature > 0, "temperature must be positive");
    GATREC_EXPECTS(opt.rated_weight >= 0, "rated_weight must not be negative");
    const std::size_t row_bytes = 2 * sizeof(float) * static_cast<std::size_t>(num_items);
    block_users_ = static_cast<index_t>(
        std::min<std::size_t>(static_cast<std::size_t>(num_users), std::max<std::size_t>(1, max_block_bytes / row_bytes)));
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

  /// Users per block.
  index_t block_users() const { return block_users_; }

  /// Adds dL/dh into grad (shaped like h) and returns the (weighted) loss, as softmax_loss does.
  double operator()(cublas_handle& blas, const device_matrix& h, device_matrix& grad) {
    GATREC_EXPECTS(h.rows() == static_cast<std::int64_t>(num_users_) + num_items_, "embeddings have the wrong row count");
    expect_shape(grad, h.rows(), h.cols(), "gradient");
    const std::int64_t d = h.cols();
    const float* users = h.data();
    const float* items = h.data() + static_cast<std::int64_t>(num_users_) * d;
    const float inv_t = static_cast<float>(1.0 / opt_.temperature);
    logits_.resize(block_users_, num_items_);
    grad_logits_.resize(block_users_, num_items_);
    user_loss_.resize(static_cast<std::size_t>(num_users_));
    sum_.resize(1);
    const bool rated = opt_.rated_weight > 0;
    // The item rows' gradient sums over all blocks: kept apart and added to grad once, so its
    // rounding does not grow with the number of blocks.
    item_grad_.resize(num_items_, d);
    for (index_t first = 0; first < num_users_; first += block_users_) {
      const index_t count = std::min(block_users_, num_users_ - first);
      const float* block = users + static_cast<std::int64_t>(first) * d;
      // S_b = (H_b H_I^T) / tau for the block's users H_b.
      gemm_row_major(blas, false, true, count, num_items_, d, inv_t, block, d, items, d, 0.f, logits_.data(),
                     num_items_);
      launch_kernel(kernels::softmax_rows_kernel, {static_cast<unsigned>(count), kernels::softmax_block_threads},
                    logits_.data(), grad_logits_.data(), num_items_, first, positive_offsets_.data(),
                    positives_.data(), rated ? rated_offsets_.data() : nullptr,
                    rated ? rated_items_.data() : nullptr, opt_.weight / total_, opt_.rated_weight, inv_t,
                    user_loss_.data());
      GATREC_CUDA_CHECK_LAST();
      // dL/dH_b += dS_b H_I, dL/dH_I += dS_b^T H_b.
      gemm_row_major(blas, false, false, count, d, num_items_, 1.f, grad_logits_.data(), num_items_, items, d, 1.f,
                     grad.data() + static_cast<std::int64_t>(first) * d, d);
      gemm_row_major(blas, true, false, num_items_, d, count, 1.f, grad_logits_.data(), num_items_, block, d,
                     first == 0 ? 0.f : 1.f, item_grad_.data(), d);
    }
    add(item_grad_.data(), grad.data() + static_cast<std::int64_t>(num_users_) * d, item_grad_.size());
    launch_kernel(kernels::sum_in_fixed_order_kernel, {1, kernels::fixed_order_sum_threads}, user_loss_.data(),
                  static_cast<std::int64_t>(num_users_), 1, 0, sum_.data());
    GATREC_CUDA_CHECK_LAST();
    return opt_.weight * sum_.to_host()[0] / total_;
  }

 private:
  index_t num_users_, num_items_;
  index_t block_users_ = 1;
  softmax_loss_options opt_;
  double total_ = 0;
  device_buffer<offset_t> positive_offsets_, rated_offsets_;
  device_buffer<index_t> positives_, rated_items_;
  device_matrix item_grad_, logits_, grad_logits_;
  device_buffer<double> user_loss_, sum_;
};

}  // namespace gatrec::cuda
