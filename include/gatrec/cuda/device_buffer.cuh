#pragma once

/// @file
/// @brief An owning, typed device allocation with host copies (RAII; never throws from its destructor).

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/error.cuh"

namespace gatrec::cuda {

/// A device array of `size()` elements of T.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t n) { resize(n); }
  explicit device_buffer(const std::vector<T>& host) {
    resize(host.size());
    copy_from_host(host);
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  device_buffer& operator=(device_buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~device_buffer() { release(); }

  /// Reallocates to n elements when the size changes (contents are not preserved).
  void resize(std::size_t n) {
    if (n == size_) return;
    release();
    if (n > 0) GATREC_CUDA_TRY(cudaMalloc(reinterpret_cast<void**>(&data_), n * sizeof(T)));
    size_ = n;
  }

  void copy_from_host(const std::vector<T>& host, cudaStream_t stream = nullptr) {
    GATREC_EXPECTS(host.size() == size_, "host vector size differs from the device buffer");
    if (size_ > 0)
      GATREC_CUDA_TRY(cudaMemcpyAsync(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice, stream));
  }

  std::vector<T> to_host(cudaStream_t stream = nullptr) const {
    std::vector<T> host(size_);
    if (size_ > 0) {
      GATREC_CUDA_TRY(cudaMemcpyAsync(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost, stream));
      GATREC_CUDA_TRY(cudaStreamSynchronize(stream));
    }
    return host;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return size_ * sizeof(T); }

 private:
  void release() noexcept {
    if (data_ != nullptr) GATREC_CUDA_ASSERT_NOTHROW(cudaFree(data_));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace gatrec::cuda
