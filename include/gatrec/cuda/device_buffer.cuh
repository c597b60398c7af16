#pragma once

/// @file
/// @brief An owning, typed device allocation with host copies (RAII; never throws from its destructor).
/// Shrinking keeps the allocation, so a workspace that serves layers of different widths in turn
/// allocates once for the widest and never again.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_memory.cuh"
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
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  device_buffer& operator=(device_buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ~device_buffer() { release(); }

  /// Makes the size n elements. Reallocates only when n exceeds the capacity (the contents are then
  /// lost); otherwise the allocation and its contents stay.
  void resize(std::size_t n) {
    if (n > capacity_) {
      release();
      allocate(n * sizeof(T));
      capacity_ = n;
    }
    size_ = n;
  }

  /// Frees the allocation (size and capacity 0).
  void clear() noexcept { release(); }

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
  /// Elements the allocation holds (at least size()).
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  /// cudaMalloc, or a cuda_error that says how much was asked and how much the device has free
  /// (cudaErrorMemoryAllocation alone does not tell a user whether to shrink the graph or the batch).
  void allocate(std::size_t bytes) {
    const cudaError_t status = cudaMalloc(reinterpret_cast<void**>(&data_), bytes);
    if (status == cudaSuccess) {
      detail::note_buffer_allocated(bytes);
      return;
    }
    data_ = nullptr;
    (void)cudaGetLastError();  // an allocation failure is not sticky: later calls must not report it
    if (status != cudaErrorMemoryAllocation)
      detail::throw_cuda_error("cudaMalloc", cudaGetErrorName(status), __FILE__, __LINE__);
    std::size_t free_bytes = 0, total_bytes = 0;
    const bool known = cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
    (void)cudaGetLastError();
    auto mib = [](std::size_t b) { return std::to_string((b + (std::size_t{1} << 20) - 1) >> 20) + " MiB"; };
    throw cuda_error("out of device memory: an allocation of " + mib(bytes) + " failed" +
                     (known ? " with " + mib(free_bytes) + " free of " + mib(total_bytes) : std::string()) +
                     " (a smaller graph, narrower layers or fewer heads need less)");
  }

  void release() noexcept {
    if (data_ != nullptr) {
      GATREC_CUDA_ASSERT_NOTHROW(cudaFree(data_));
      detail::note_buffer_released(capacity_ * sizeof(T));
    }
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace gatrec::cuda
