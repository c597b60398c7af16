#pragma once

/// @file
/// @brief A row-major float matrix on the device, with host copies to and from gatrec::matrix.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/error.cuh"

namespace gatrec::cuda {

/// A (rows, cols) row-major float matrix in device memory. Resizing keeps the allocation unless the
/// matrix grows past it, so contexts reused across steps (and workspaces shared by blocks of
/// different widths) allocate once.
class device_matrix {
 public:
  device_matrix() = default;
  device_matrix(std::int64_t rows, std::int64_t cols) { resize(rows, cols); }
  /// Uploads a host matrix.
  explicit device_matrix(const matrix<float>& host, cudaStream_t stream = nullptr) { upload(host, stream); }

  /// Reshapes; the contents are undefined unless the element count is unchanged.
  void resize(std::int64_t rows, std::int64_t cols) {
    GATREC_EXPECTS(rows >= 0 && cols >= 0, "negative matrix shape");
    buffer_.resize(static_cast<std::size_t>(rows * cols));
    rows_ = rows;
    cols_ = cols;
  }

  void upload(const matrix<float>& host, cudaStream_t stream = nullptr) {
    resize(host.rows(), host.cols());
    if (size() > 0)
      GATREC_CUDA_TRY(cudaMemcpyAsync(data(), host.data(), bytes(), cudaMemcpyHostToDevice, stream));
  }

  /// A host copy (synchronises the stream).
  matrix<float> download(cudaStream_t stream = nullptr) const {
    matrix<float> host(rows_, cols_);
    if (size() > 0) {
      GATREC_CUDA_TRY(cudaMemcpyAsync(host.data(), data(), bytes(), cudaMemcpyDeviceToHost, stream));
      GATREC_CUDA_TRY(cudaStreamSynchronize(stream));
    }
    return host;
  }

  /// Becomes a device-side copy of `other` (shape and values; no trip through the host).
  void copy_from(const device_matrix& other, cudaStream_t stream = nullptr) {
    resize(other.rows(), other.cols());
    if (size() > 0)
      GATREC_CUDA_TRY(cudaMemcpyAsync(data(), other.data(), bytes(), cudaMemcpyDeviceToDevice, stream));
  }

  /// Sets every byte to `byte` (0 for zeros, 0xff for NaN poison in tests).
  void fill_bytes(int byte, cudaStream_t stream = nullptr) {
    if (size() > 0) GATREC_CUDA_TRY(cudaMemsetAsync(data(), byte, bytes(), stream));
  }
  void set_zero(cudaStream_t stream = nullptr) { fill_bytes(0, stream); }

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t cols() const noexcept { return cols_; }
  std::int64_t size() const noexcept { return rows_ * cols_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(size()) * sizeof(float); }
  float* data() noexcept { return buffer_.data(); }
  const float* data() const noexcept { return buffer_.data(); }
  bool same_shape(std::int64_t rows, std::int64_t cols) const noexcept { return rows_ == rows && cols_ == cols; }

 private:
  device_buffer<float> buffer_;
  std::int64_t rows_ = 0, cols_ = 0;
};

/// Throws logic_error naming `what` unless m is (rows, cols).
inline void expect_shape(const device_matrix& m, std::int64_t rows, std::int64_t cols, const char* what) {
  GATREC_EXPECTS(m.same_shape(rows, cols), std::string(what) + " is (" + std::to_string(m.rows()) + ", " +
                                               std::to_string(m.cols()) + "), expected (" + std::to_string(rows) +
                                               ", " + std::to_string(cols) + ")");
}

}  // namespace gatrec::cuda
