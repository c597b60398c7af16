#pragma once

/// @file
/// @brief How many bytes gatrec's device buffers hold, now and at their peak: what a run needed,
/// so that a user can size a GPU for a larger graph from a smaller one. Counts device_buffer
/// allocations only (cuBLAS, cuSPARSE and CUB workspaces inside the libraries and the CUDA
/// context itself are not included); process-wide, thread-safe.

#include <atomic>
#include <cstddef>

namespace gatrec::cuda {

namespace detail {

struct buffer_byte_counters {
  std::atomic<std::size_t> in_use{0};
  std::atomic<std::size_t> peak{0};
};

inline buffer_byte_counters& buffer_bytes() {
  static buffer_byte_counters counters;
  return counters;
}

inline void note_buffer_allocated(std::size_t bytes) noexcept {
  buffer_byte_counters& c = buffer_bytes();
  const std::size_t now = c.in_use.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::size_t peak = c.peak.load(std::memory_order_relaxed);
  while (now > peak && !c.peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

inline void note_buffer_released(std::size_t bytes) noexcept {
  buffer_bytes().in_use.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace detail

/// Bytes held by live device buffers.
inline std::size_t buffer_bytes_in_use() noexcept {
  return detail::buffer_bytes().in_use.load(std::memory_order_relaxed);
}

/// The most bytes live device buffers held at once since the start or the last reset.
inline std::size_t buffer_bytes_peak() noexcept { return detail::buffer_bytes().peak.load(std::memory_order_relaxed); }

/// Starts a new peak from what is held now (before a run whose own peak is wanted).
inline void reset_buffer_bytes_peak() noexcept {
  detail::buffer_bytes().peak.store(buffer_bytes_in_use(), std::memory_order_relaxed);
}

}  // namespace gatrec::cuda
