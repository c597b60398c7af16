#pragma once

/// @file
/// @brief Seeded random numbers: a fast sequential generator and a counter-based hash.
///
/// The counter-based form (a value that is a pure function of seed and indices) is what keeps
/// parallel code deterministic: attention dropout on edge e of head h in step t draws
/// `uniform01(seed, t, e * heads + h)` no matter which thread visits the edge.

#include <cmath>
#include <cstdint>
#include <limits>

#include "gatrec/core/config.hpp"

namespace gatrec {

namespace detail {
__extension__ typedef unsigned __int128 uint128_t;
}  // namespace detail

/// SplitMix64 finaliser: a bijective 64-bit mix with good avalanche.
GATREC_HOST_DEVICE std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// A uniform double in [0, 1) that depends only on its three arguments.
GATREC_HOST_DEVICE double uniform01(std::uint64_t seed, std::uint64_t stream, std::uint64_t counter) {
  const std::uint64_t h = mix64(mix64(seed ^ mix64(stream)) ^ counter);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

/// The high and low 64 bits of the 128-bit product a * b.
GATREC_HOST_DEVICE void multiply_wide(std::uint64_t a, std::uint64_t b, std::uint64_t& high, std::uint64_t& low) {
#if defined(__CUDA_ARCH__)
  high = __umul64hi(a, b);
  low = a * b;
#else
  const detail::uint128_t m = static_cast<detail::uint128_t>(a) * b;
  high = static_cast<std::uint64_t>(m >> 64);
  low = static_cast<std::uint64_t>(m);
#endif
}

/// xoshiro256** seeded through SplitMix64: a small, fast generator for sequential sampling
/// (negative sampling, initialisation, splits). Satisfies UniformRandomBitGenerator. The same
/// stream on the host and in a kernel (the device negative sampler draws exactly the host's).
class rng {
 public:
  using result_type = std::uint64_t;

  GATREC_HOST_DEVICE explicit rng(std::uint64_t seed = 0x5EEDull) { reseed(seed); }

  GATREC_HOST_DEVICE void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) {
      x += 0x9E3779B97F4A7C15ull;
      s = mix64(x);
    }
  }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  GATREC_HOST_DEVICE result_type operator()() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1).
  GATREC_HOST_DEVICE double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n) without modulo bias (Lemire's multiply-shift with rejection).
  GATREC_HOST_DEVICE std::uint64_t below(std::uint64_t n) {
    if (n == 0) return 0;
    std::uint64_t high = 0, low = 0;
    multiply_wide((*this)(), n, high, low);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) multiply_wide((*this)(), n, high, low);
    }
    return high;
  }

  /// Standard normal deviate (Box-Muller; the second value is discarded for simplicity of state).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
  }

 private:
  GATREC_HOST_DEVICE static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

}  // namespace gatrec
