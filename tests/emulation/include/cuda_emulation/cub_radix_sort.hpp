#pragma once

/// @file
/// @brief cub::DeviceRadixSort::SortPairs: a stable sort of (key, value) pairs by the key bits
/// [begin_bit, end_bit), with CUB's two-call protocol (a null workspace asks for its size).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cuda_emulation/launch.hpp"

namespace cub {

struct DeviceRadixSort {
  template <class Key, class Value, class Count>
  static cudaError_t SortPairs(void* temp_storage, std::size_t& temp_bytes, const Key* keys_in, Key* keys_out,
                               const Value* values_in, Value* values_out, Count count, int begin_bit = 0,
                               int end_bit = sizeof(Key) * 8, cudaStream_t = nullptr) {
    static_assert(std::is_integral_v<Key>, "the emulation sorts integer keys only");
    using Bits = std::make_unsigned_t<Key>;
    using namespace ::cuda_emulation;
    const std::size_t n = static_cast<std::size_t>(count);
    if (temp_storage == nullptr) {
      temp_bytes = 2 * n * (sizeof(Key) + sizeof(Value)) + 256;  // an honest size: CUB needs a buffer of this order
      return cudaSuccess;
    }
    if (!is_device_range(temp_storage, temp_bytes)) return report(cudaErrorInvalidValue, "SortPairs: workspace is not device memory");
    if (n == 0) return cudaSuccess;
    if (!is_device_range(keys_in, n * sizeof(Key)) || !is_device_range(keys_out, n * sizeof(Key)) ||
        !is_device_range(values_in, n * sizeof(Value)) || !is_device_range(values_out, n * sizeof(Value)))
      return report(cudaErrorInvalidValue, "SortPairs: keys or values are not device memory of count elements");
    if (begin_bit < 0 || end_bit > static_cast<int>(sizeof(Key) * 8) || begin_bit >= end_bit)
      return report(cudaErrorInvalidValue, "SortPairs: bad bit range");
    ++runtime().activity.library_calls;
    const int width = end_bit - begin_bit;
    const Bits mask = width >= static_cast<int>(sizeof(Key) * 8) ? static_cast<Bits>(~Bits{0})
                                                                  : static_cast<Bits>((Bits{1} << width) - 1);
    // CUB orders signed keys by flipping the sign bit, then applies the bit range.
    const Bits flip = std::is_signed_v<Key> ? static_cast<Bits>(Bits{1} << (sizeof(Key) * 8 - 1)) : Bits{0};
    const auto digits = [&](Key k) { return static_cast<Bits>((static_cast<Bits>(k) ^ flip) >> begin_bit) & mask; };
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      return digits(keys_in[x]) < digits(keys_in[y]);
    });
    std::vector<Key> keys(n);
    std::vector<Value> values(n);
    for (std::size_t i = 0; i < n; ++i) {
      keys[i] = keys_in[order[i]];
      values[i] = values_in[order[i]];
    }
    std::copy(keys.begin(), keys.end(), keys_out);
    std::copy(values.begin(), values.end(), values_out);
    return cudaSuccess;
  }
};

}  // namespace cub
