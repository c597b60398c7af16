#pragma once

/// @file
/// @brief gatrec::cuda::device_negative_sampler: a negative_sampler's epochs drawn on the device.
/// The tables go up once; each epoch is then one kernel (kernels/negative_sampling.cuh) writing the
/// triples where the loss reads them, instead of sampling on the host and uploading 12 bytes a
/// triple. Same triples as negative_sampler::sample, bit for bit (the same draw routine).

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_triples.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/train/negative_sampler.hpp"
#include "gatrec/train/training_pairs.hpp"
#include "negative_sampling.cuh"

namespace gatrec::cuda {

class device_negative_sampler {
 public:
  /// Copies the sampler's tables to the current device (the sampler need not outlive this).
  explicit device_negative_sampler(const negative_sampler& host)
      : options_(host.draw_options()),
        num_users_(host.tables().num_users),
        num_items_(host.tables().num_items),
        positive_offsets_(host.positive_offsets()),
        positives_(host.positives()),
        excluded_offsets_(host.excluded_offsets()),
        excluded_(host.excluded()),
        dislike_offsets_(host.dislike_offsets()),
        dislikes_(host.dislikes()),
        triple_offsets_(host.triple_offsets()),
        user_(host.triples_per_epoch()),
        positive_(host.triples_per_epoch()),
        negative_(host.triples_per_epoch()) {}

  /// Draws the triples of `epoch` into the device arrays that triples() views.
  void sample(std::uint64_t epoch, cudaStream_t stream = nullptr) {
    if (user_.size() == 0) return;
    const negative_sampling_tables t =
        view_sampling_tables(num_users_, num_items_, positive_offsets_, positives_, excluded_offsets_, excluded_,
                             dislike_offsets_, dislikes_, triple_offsets_);
    const int threads = kernels::sampling_block_threads;
    const int blocks =
        static_cast<int>(std::min<std::int64_t>((std::int64_t{num_users_} + threads - 1) / threads, 65535));
    launch_kernel(kernels::sample_triples_kernel, {blocks, threads, 0, stream}, t, options_, epoch, user_.data(),
                  positive_.data(), negative_.data());
    GATREC_CUDA_CHECK_LAST();
  }

  /// The last epoch's triples (grouped by positive, negatives_per_positive() per group).
  device_triples triples() const {
    return {user_.data(), positive_.data(), negative_.data(), static_cast<std::int64_t>(user_.size())};
  }

  int negatives_per_positive() const { return options_.negatives_per_positive; }

  /// A host copy of the last epoch's triples (for tests).
  training_triples download() const {
    training_triples out;
    out.user = user_.to_host();
    out.positive = positive_.to_host();
    out.negative = negative_.to_host();
    return out;
  }

 private:
  negative_draw_options options_;
  index_t num_users_, num_items_;
  device_buffer<offset_t> positive_offsets_;
  device_buffer<index_t> positives_;
  device_buffer<offset_t> excluded_offsets_;
  device_buffer<index_t> excluded_;
  device_buffer<offset_t> dislike_offsets_;
  device_buffer<index_t> dislikes_;
  device_buffer<offset_t> triple_offsets_;
  device_buffer<index_t> user_, positive_, negative_;
};

}  // namespace gatrec::cuda
