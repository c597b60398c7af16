#pragma once

/// @file
/// @brief gatrec::cuda::device_hybrid_loss: gatrec::hybrid_loss (BPR + cosine, no prior) on device
/// embeddings, writing dL/dh on the device. The triples are device triples (a training run draws
/// them there with cuda::device_negative_sampler, the host sampler's draws) or host triples that
/// are uploaded; their loss incidence is built on the device (cuda::device_loss_incidence); only
/// the two loss sums come back.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_loss_incidence.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/device_triples.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/train/hybrid_loss.hpp"
#include "gatrec/train/loss_incidence.hpp"
#include "gatrec/train/training_pairs.hpp"
#include "hybrid_loss.cuh"

namespace gatrec::cuda {

/// Holds the device buffers between steps, so a training run allocates once.
class device_hybrid_loss {
 public:
  /// On host triples: checks them, uploads them (12 bytes a triple), then as below.
  /// @param h (num_users + num_items, d) embeddings on the device
  /// @param grad resized to h's shape and overwritten with dL/dh
  /// @return the loss and its parts, as gatrec::hybrid_loss returns them
  loss_value operator()(const device_matrix& h, index_t num_users, const training_triples& triples,
                        int pairs_per_positive, const hybrid_loss_options& opt, device_matrix& grad) {
    GATREC_EXPECTS(!triples.empty(), "no training triples");
    GATREC_EXPECTS(h.rows() <= std::numeric_limits<index_t>::max(), "too many embedding rows");
    loss_incidence::check(triples, num_users, static_cast<index_t>(h.rows()), pairs_per_positive);
    upload(user_, triples.user);
    upload(positive_, triples.positive);
    upload(negative_, triples.negative);
    const device_triples on_device{user_.data(), positive_.data(), negative_.data(),
                                   static_cast<std::int64_t>(triples.size())};
    return (*this)(h, num_users, on_device, pairs_per_positive, opt, grad);
  }

  /// On device triples (cuda::device_negative_sampler's), which must name rows in range: user
  /// ids below num_users, item ids below h.rows() - num_users (the device does not check them).
  loss_value operator()(const device_matrix& h, index_t num_users, const device_triples& triples,
                        int pairs_per_positive, const hybrid_loss_options& opt, device_matrix& grad) {
    GATREC_EXPECTS(triples.count > 0, "no training triples");
    GATREC_EXPECTS(pairs_per_positive >= 1 && triples.count % pairs_per_positive == 0,
                   "triple count is not a multiple of pairs_per_positive");
    GATREC_EXPECTS(h.rows() <= std::numeric_limits<index_t>::max(), "too many embedding rows");
    const index_t rows = static_cast<index_t>(h.rows());
    const int width = static_cast<int>(h.cols());
    const bool with_cosine = opt.cosine_weight != 0.0;
    const std::int64_t t_count = triples.count;
    const std::int64_t p_count = t_count / pairs_per_positive;
    incidence_.build(triples.user, triples.positive, triples.negative, t_count, pairs_per_positive, num_users, rows,
                     with_cosine);
    bpr_value_.resize(static_cast<std::size_t>(t_count));
    bpr_coefficient_.resize(static_cast<std::size_t>(t_count));
    cosine_terms_.resize(with_cosine ? static_cast<std::size_t>(4 * p_count) : 1);
    sums_.resize(2);
    grad.resize(h.rows(), h.cols());

    launch_kernel(kernels::bpr_coefficients_kernel, {loss_grid_size(t_count), kernels::loss_block_threads}, h.data(),
                  width, num_users, t_count, triples.user, triples.positive, triples.negative,
                  opt.bpr_weight / static_cast<double>(t_count), bpr_value_.data(), bpr_coefficient_.data());
    GATREC_CUDA_CHECK_LAST();
    if (with_cosine) {
      launch_kernel(kernels::cosine_coefficients_kernel, {loss_grid_size(p_count), kernels::loss_block_threads},
                    h.data(), width, num_users, p_count, pairs_per_positive, triples.user, triples.positive,
                    -opt.cosine_weight / static_cast<double>(p_count), cosine_terms_.data());
      GATREC_CUDA_CHECK_LAST();
    }
    launch_kernel(kernels::gather_loss_gradient_kernel, {loss_grid_size(rows), kernels::loss_block_threads}, h.data(),
                  width, num_users, rows, incidence_.offsets(), incidence_.entries(), triples.user, triples.positive,
                  triples.negative, pairs_per_positive, bpr_coefficient_.data(), cosine_terms_.data(), grad.data());
    GATREC_CUDA_CHECK_LAST();
    constexpr int sum_threads = kernels::fixed_order_sum_threads;
    launch_kernel(kernels::sum_in_fixed_order_kernel, {1, sum_threads}, bpr_value_.data(), t_count, 1, 0, sums_.data());
    GATREC_CUDA_CHECK_LAST();
    if (with_cosine) {
      launch_kernel(kernels::sum_in_fixed_order_kernel, {1, sum_threads}, cosine_terms_.data(), p_count, 4, 0,
                    sums_.data() + 1);
      GATREC_CUDA_CHECK_LAST();
    }
    const std::vector<double> sums = sums_.to_host();
    loss_value out;
    out.bpr = sums[0] / static_cast<double>(t_count);
    if (with_cosine) out.cosine = 1.0 - sums[1] / static_cast<double>(p_count);
    out.total = opt.bpr_weight * out.bpr + opt.cosine_weight * out.cosine;
    return out;
  }

 private:
  template <class T>
  static void upload(device_buffer<T>& buffer, const std::vector<T>& host) {
    buffer.resize(host.size());
    buffer.copy_from_host(host);
  }

  device_buffer<index_t> user_, positive_, negative_;
  device_loss_incidence incidence_;
  device_buffer<double> bpr_value_, bpr_coefficient_, cosine_terms_, sums_;
};

}  // namespace gatrec::cuda
