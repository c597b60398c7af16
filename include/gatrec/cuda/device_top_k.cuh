#pragma once

/// @file
/// @brief gatrec::cuda::device_top_k: every user's k best items by dot product on the GPU, training
/// items masked: score blocks by cuBLAS, selection by kernels/top_k.cuh. The device counterpart of
/// gatrec::top_k (same lists, same padding, same errors).
///
/// Users are ranked block by block so that the score block (block users x items floats) stays
/// within a memory budget (default 256 MiB: 1,136 users of the ML-25M catalogue per block), and
/// the full score matrix never exists. The lists are exactly top_k's for the same scores; from
/// embeddings, cuBLAS and Eigen may round a dot product differently in the last bit, so two near-tied
/// items can swap between the CPU and the GPU.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/cuda/blas.cuh"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/user_item_sets.hpp"

#include "top_k.cuh"

namespace gatrec::cuda {

struct device_top_k_options {
  /// Most bytes of scores held at once (sets the users per block; at least one user per block).
  std::size_t max_score_bytes = std::size_t{256} << 20;
};

/// Ranks users on the device. Holds the mask (uploaded when it changes) and the scratch, so
/// repeated rankings, e.g. validation every epoch, allocate nothing.
class device_top_k {
 public:
  explicit device_top_k(const device_top_k_options& options = {}) : options_(options) {
    GATREC_EXPECTS(options.max_score_bytes > 0, "device_top_k: max_score_bytes must be positive");
  }

  /// Each user's k items of highest <users_u, items_i>, best first, `exclude` masked (a
  /// default-constructed user_item_sets masks nothing).
  /// @param users (num_users, d) and @param items (num_items, d), host or device
  /// @throw logic_error on mismatched shapes, k outside [1, max_device_top_k], a NaN score
  ranked_lists operator()(cublas_handle& blas, const matrix<float>& users, const matrix<float>& items, int k,
                          const user_item_sets& exclude = user_item_sets()) {
    users_.upload(users);
    items_.upload(items);
    return (*this)(blas, users_, items_, k, exclude);
  }

  ranked_lists operator()(cublas_handle& blas, const device_matrix& users, const device_matrix& items, int k,
                          const user_item_sets& exclude = user_item_sets()) {
    if (users.cols() != items.cols())
      throw_error("user embeddings have " + std::to_string(users.cols()) + " columns, item embeddings " +
                  std::to_string(items.cols()));
    return rank_dot(blas, users.data(), users.rows(), items.data(), items.rows(), users.cols(), k, exclude);
  }

  /// The same on row-major device arrays of width `dim`, e.g. the user and item rows of one node
  /// embedding matrix (users first), which then need no copy.
  ranked_lists rank_dot(cublas_handle& blas, const float* users, std::int64_t num_users, const float* items,
                        std::int64_t num_items, std::int64_t dim, int k, const user_item_sets& exclude = user_item_sets()) {
    return rank(num_users, num_items, k, exclude, [&](index_t first, index_t count, float* block) {
      gemm_row_major(blas, false, true, count, num_items, dim, 1.f, users + first * dim, dim, items, dim, 0.f, block,
                     num_items);
    });
  }

  /// The k best of each row of a dense device score matrix (row u = user u's scores; unchanged).
  ranked_lists operator()(const device_matrix& scores, int k, const user_item_sets& exclude = user_item_sets()) {
    return rank(scores.rows(), scores.cols(), k, exclude, [&](index_t first, index_t count, float* block) {
      GATREC_CUDA_TRY(cudaMemcpyAsync(block, scores.data() + first * scores.cols(),
                                      static_cast<std::size_t>(count) * static_cast<std::size_t>(scores.cols()) *
                                          sizeof(float),
                                      cudaMemcpyDeviceToDevice));
    });
  }

  /// Users per score block for a catalogue of num_items.
  index_t block_users(index_t num_users, index_t num_items) const {
    const std::size_t row_bytes = std::max<std::size_t>(1, static_cast<std::size_t>(num_items) * sizeof(float));
    const std::size_t fit = std::max<std::size_t>(1, options_.max_score_bytes / row_bytes);
    return static_cast<index_t>(std::min<std::size_t>(fit, static_cast<std::size_t>(std::max<index_t>(num_users, 1))));
  }

 private:
  [[noreturn]] static void throw_error(const std::string& what) {
    ::gatrec::detail::throw_logic_error("device_top_k", what);
  }

  /// The shared driver: `fill(first, count, block)` writes the scores of users [first, first +
  /// count) into `block` (row stride num_items); each block is masked and ranked on the device.
  template <class FillBlock>
  ranked_lists rank(std::int64_t num_users_64, std::int64_t num_items_64, int k, const user_item_sets& exclude,
                    FillBlock&& fill) {
    if (k < 1 || k > max_device_top_k)
      throw_error("k must be in [1, " + std::to_string(max_device_top_k) + "], got " + std::to_string(k));
    if (num_users_64 > std::numeric_limits<index_t>::max() || num_items_64 > std::numeric_limits<index_t>::max())
      throw_error("more users or items than index_t holds");
    const index_t num_users = static_cast<index_t>(num_users_64), num_items = static_cast<index_t>(num_items_64);
    const bool masked = exclude.num_users() > 0;
    if (masked && (exclude.num_users() != num_users || exclude.num_items() != num_items))
      throw_error("mask covers " + std::to_string(exclude.num_users()) + " users x " +
                  std::to_string(exclude.num_items()) + " items, scores " + std::to_string(num_users) + " x " +
                  std::to_string(num_items));
    if (masked) upload_mask(exclude);
    ranked_lists result(num_users, k);
    if (num_users == 0 || num_items == 0) return result;

    const index_t block = block_users(num_users, num_items);
    scores_.resize(block, num_items);
    // Every block's lists stay on the device and come down in one copy at the end, with the NaN
    // flag (the smallest NaN position over all blocks, as the kernel's atomicMin keeps it): a copy
    // per block made the host wait for each block before issuing the next one's product (143
    // waits per ranking at the ML-25M shape).
    lists_.resize(result.items.size());
    nan_position_.resize(1);
    const std::vector<unsigned long long> no_nan{kernels::no_nan_position};
    nan_position_.copy_from_host(no_nan);
    for (index_t first = 0; first < num_users; first += block) {
      const index_t count = std::min(block, num_users - first);
      fill(first, count, scores_.data());
      launch_select_top_k_rows(scores_.data(), num_items, count, num_items, first, k,
                               masked ? mask_offsets_.data() : nullptr, masked ? mask_items_.data() : nullptr,
                               lists_.data() + static_cast<std::size_t>(first) * static_cast<std::size_t>(k),
                               nan_position_.data());
    }
    GATREC_CUDA_TRY(cudaMemcpy(result.items.data(), lists_.data(), lists_.bytes(), cudaMemcpyDeviceToHost));
    const unsigned long long nan_at = nan_position_.to_host()[0];
    if (nan_at != kernels::no_nan_position)
      throw_error("score of user " + std::to_string(nan_at / static_cast<unsigned long long>(num_items)) +
                  " for item " + std::to_string(nan_at % static_cast<unsigned long long>(num_items)) + " is NaN");
    return result;
  }

  /// Uploads the mask unless the device already holds this very content (validation ranks with
  /// the same training items every epoch). The content id makes the check O(1): comparing the
  /// sets themselves took a host pass over every training pair per ranking (25M at ML-25M) and a
  /// host copy of them.
  void upload_mask(const user_item_sets& exclude) {
    if (exclude.content_id() == mask_content_id_) return;
    mask_offsets_ = device_buffer<offset_t>(exclude.offsets());
    mask_items_ = device_buffer<index_t>(exclude.items());
    mask_content_id_ = exclude.content_id();
  }

  device_top_k_options options_;
  device_matrix users_, items_, scores_;
  device_buffer<index_t> lists_;
  device_buffer<unsigned long long> nan_position_;
  std::uint64_t mask_content_id_ = 0;  ///< user_item_sets::content_id of the uploaded mask; 0: none
  device_buffer<offset_t> mask_offsets_;
  device_buffer<index_t> mask_items_;
};

}  // namespace gatrec::cuda
