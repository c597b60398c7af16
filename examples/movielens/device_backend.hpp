#pragma once

// --device cuda: the GAT encoder on a GPU. The model lives in device_backend.cu, which nvcc
// compiles when the build has CUDA (GATREC_MOVIELENS_CUDA); the rest of gatrec-movielens is plain
// C++ and sees it only through the functions below.

#include <gatrec/core/types.hpp>
#include <gatrec/data/interactions.hpp>
#include <gatrec/models/embedding_recommender.hpp>
#include <gatrec/models/gat_recommender.hpp>

#include <cstddef>
#include <memory>
#include <string>

#include "options.hpp"

namespace movielens {

#ifdef GATREC_MOVIELENS_CUDA
/// Throws gatrec::error saying why no GPU can be used (no driver, no device), naming it otherwise
/// in one line for the log.
std::string require_cuda_device();

/// A gatrec::cuda::device_gat_recommender (same arguments as gatrec::gat_recommender); throws like
/// require_cuda_device when there is no GPU.
std::unique_ptr<gatrec::embedding_recommender<float>> make_device_gat_recommender(
    gatrec::index_t num_users, gatrec::index_t num_items, const gatrec::rating_table& train,
    const gatrec::matrix<float>& features, const gatrec::gat_recommender_options& opt);

/// Starts a new peak of the bytes gatrec's device buffers hold (gatrec::cuda::reset_buffer_bytes_peak).
void reset_device_memory_peak();

/// The peak since the last reset (gatrec::cuda::buffer_bytes_peak).
std::size_t device_memory_peak_bytes();
#else
inline std::string require_cuda_device() {
  throw usage_error(
      "--device cuda: this gatrec-movielens was built without CUDA (configure with nvcc installed, or "
      "-DCMAKE_CUDA_COMPILER=/path/to/nvcc, and GATREC_ENABLE_CUDA=ON)");
}

inline std::unique_ptr<gatrec::embedding_recommender<float>> make_device_gat_recommender(
    gatrec::index_t, gatrec::index_t, const gatrec::rating_table&, const gatrec::matrix<float>&,
    const gatrec::gat_recommender_options&) {
  require_cuda_device();
  return nullptr;
}

inline void reset_device_memory_peak() {}
inline std::size_t device_memory_peak_bytes() { return 0; }
#endif

}  // namespace movielens
