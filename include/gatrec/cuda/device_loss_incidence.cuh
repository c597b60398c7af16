#pragma once

/// @file
/// @brief gatrec::cuda::device_loss_incidence: gatrec::loss_incidence built on the device from
/// device triples, so a device training run uploads 12 bytes a triple instead of the incidence
/// (~50). The entries are emitted in loss_incidence::build's order keyed by row, then stably
/// radix-sorted by row (CUB, shipped with the CUDA Toolkit); offsets by a binary search per row.
/// Stability makes the result equal to the host's entry for entry.

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cub/device/device_radix_sort.cuh>
#include <vector>

#include "elementwise.cuh"
#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/train/loss_incidence.hpp"
#include "hybrid_loss.cuh"

namespace gatrec::cuda {

class device_loss_incidence {
 public:
  /// Builds the incidence of `num_triples` device triples over num_rows embedding rows. The triples
  /// must name rows in range (device_hybrid_loss checks them on the host first).
  void build(const index_t* user, const index_t* positive, const index_t* negative, std::int64_t num_triples,
             int pairs_per_positive, index_t num_users, index_t num_rows, bool with_cosine,
             cudaStream_t stream = nullptr) {
    GATREC_EXPECTS(pairs_per_positive >= 1 && num_triples % pairs_per_positive == 0,
                   "triple count is not a multiple of pairs_per_positive");
    const std::int64_t num_pairs = with_cosine ? num_triples / pairs_per_positive : 0;
    const std::int64_t count = 3 * num_triples + 2 * num_pairs;
    GATREC_EXPECTS(count <= std::int64_t{0x7fffffff}, "too many loss terms for one sort");
    num_rows_ = num_rows;
    rows_.resize(static_cast<std::size_t>(count));
    sorted_rows_.resize(static_cast<std::size_t>(count));
    unsorted_.resize(static_cast<std::size_t>(count));
    entries_.resize(static_cast<std::size_t>(count));
    offsets_.resize(static_cast<std::size_t>(num_rows) + 1);
    if (count > 0) {
      const std::size_t items = static_cast<std::size_t>(std::max(num_triples, num_pairs));
      launch_kernel(kernels::emit_loss_entries_kernel,
                    {elementwise_grid_size(items), elementwise_block_size, 0, stream}, user, positive, negative,
                    num_triples, num_pairs, pairs_per_positive, num_users, rows_.data(), unsorted_.data());
      GATREC_CUDA_CHECK_LAST();
      // Only the bits a row index can use take part in the sort.
      int end_bit = 1;
      while (end_bit < 31 && (index_t{1} << end_bit) <= num_rows) ++end_bit;
      std::size_t temp_bytes = 0;
      GATREC_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, rows_.data(), sorted_rows_.data(),
                                                      unsorted_.data(), entries_.data(), static_cast<int>(count), 0,
                                                      end_bit, stream));
      if (temp_.size() < temp_bytes) temp_.resize(temp_bytes);
      GATREC_CUDA_TRY(cub::DeviceRadixSort::SortPairs(temp_.data(), temp_bytes, rows_.data(), sorted_rows_.data(),
                                                      unsorted_.data(), entries_.data(), static_cast<int>(count), 0,
                                                      end_bit, stream));
    }
    launch_kernel(kernels::row_offsets_kernel,
                  {elementwise_grid_size(static_cast<std::size_t>(num_rows) + 1), elementwise_block_size, 0, stream},
                  sorted_rows_.data(), count, num_rows, offsets_.data());
    GATREC_CUDA_CHECK_LAST();
  }

  const offset_t* offsets() const { return offsets_.data(); }
  const std::int64_t* entries() const { return entries_.data(); }

  /// A host copy (for tests: it must equal loss_incidence::build's).
  loss_incidence download() const {
    loss_incidence out;
    out.offsets = offsets_.to_host();
    out.entries = entries_.to_host();
    return out;
  }

 private:
  index_t num_rows_ = 0;
  device_buffer<index_t> rows_, sorted_rows_;
  device_buffer<std::int64_t> unsorted_, entries_;
  device_buffer<offset_t> offsets_;
  device_buffer<char> temp_;
};

}  // namespace gatrec::cuda
