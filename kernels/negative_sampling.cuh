#pragma once

/// @file
/// @brief The negative-sampling kernel: one thread per user runs gatrec::draw_user_triples, the
/// host sampler's own body, so the device triples equal the host's bit for bit.
///
/// Why a thread per user and not per triple: a user's draws come from one sequential generator
/// (xoshiro256**, seeded per epoch and user), which is what makes them identical to the host's. Work
/// per thread is that user's liked items times negatives per positive, each draw a binary search of
/// the user's excluded items; the longest user bounds the kernel (at the ML-25M shape a few
/// thousand draws), far below the training step around it.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "gatrec/train/negative_draw.hpp"

namespace gatrec::cuda::kernels {

inline constexpr int sampling_block_threads = 128;

/// Fills the epoch's triples (triple_offsets[num_users] of them) for every user.
__global__ void sample_triples_kernel(negative_sampling_tables tables, negative_draw_options options,
                                      std::uint64_t epoch, index_t* __restrict__ user, index_t* __restrict__ positive,
                                      index_t* __restrict__ negative) {
  for (index_t u = static_cast<index_t>(blockIdx.x * blockDim.x + threadIdx.x); u < tables.num_users;
       u += static_cast<index_t>(gridDim.x * blockDim.x))
    ::gatrec::draw_user_triples(tables, options, epoch, u, user, positive, negative);
}

}  // namespace gatrec::cuda::kernels
