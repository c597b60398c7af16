#pragma once

/// @file
/// @brief Rank keys and the radix selection of a row's k best: the algorithm of the device top-k
/// (kernels/top_k.cuh), with a serial host version that the unit tests hold against select_top_k.
///
/// A rank key packs a candidate's score and item index into one unsigned 64-bit integer whose
/// numeric order is top_k's ranking order (higher score first, ties to the lower item): the high
/// word is the score's bits made monotone, the low word the complement of the item index. No two
/// candidates share a key, so the k largest keys are exactly top_k's list, and the k-th largest can
/// be found one 8-bit digit at a time from the top by counting keys per digit value: a histogram
/// per pass, no sort and no pairwise comparison, which is what a GPU block does well. Usually the
/// score's top digits already isolate the k best and the passes stop early (radix_selection::settled).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gatrec/core/config.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/eval/user_item_sets.hpp"

namespace gatrec {

using rank_key_t = std::uint64_t;

/// The key of no candidate (a masked item, list padding): every real candidate's key is larger.
inline constexpr rank_key_t absent_rank_key = 0;

/// Bits of one digit, digit values, and passes over a 64-bit key.
inline constexpr int rank_digit_bits = 8;
inline constexpr int rank_digit_values = 1 << rank_digit_bits;
inline constexpr int rank_key_passes = 64 / rank_digit_bits;

GATREC_HOST_DEVICE std::uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

/// The score's bits mapped so that unsigned order is float order (for non-NaN scores). The
/// smallest value, -inf, maps to 0x007fffff, so the high word of a real key is never 0.
GATREC_HOST_DEVICE std::uint32_t monotone_score_bits(float score) {
  if (score == 0.0f) score = 0.0f;  // -0 == +0 in top_k's order, so both get the key of +0
  const std::uint32_t bits = float_bits(score);
  return (bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u);
}

/// The key of item `item` (0 <= item < 2^31) with a non-NaN `score`.
GATREC_HOST_DEVICE rank_key_t rank_key(float score, index_t item) {
  return (static_cast<rank_key_t>(monotone_score_bits(score)) << 32) |
         static_cast<rank_key_t>(0xffffffffu - static_cast<std::uint32_t>(item));
}

/// The item index a key was made from.
GATREC_HOST_DEVICE index_t rank_key_item(rank_key_t key) {
  return static_cast<index_t>(0xffffffffu - static_cast<std::uint32_t>(key & 0xffffffffu));
}

/// Digit `pass` of a key (pass 0: the most significant 8 bits).
GATREC_HOST_DEVICE int rank_key_digit(rank_key_t key, int pass) {
  return static_cast<int>((key >> (64 - rank_digit_bits * (pass + 1))) & (rank_digit_values - 1));
}

/// Where a radix selection of the k largest keys stands. A key is "undecided" while its digits
/// agree with `prefix` on the digits fixed so far; `wanted` of the undecided keys belong to the k
/// best (all keys above the undecided range do, none below). Once settled, the k best are exactly
/// the keys >= threshold.
/// A trivial type (no constructor) so that a GPU block can hold it in shared memory.
struct radix_selection {
  rank_key_t prefix;
  rank_key_t fixed_mask;
  int wanted;
  bool settled;
  rank_key_t threshold;

  /// Nothing fixed yet: the k largest keys are wanted.
  GATREC_HOST_DEVICE static radix_selection start(int k) { return radix_selection{0, 0, k, false, 0}; }

  GATREC_HOST_DEVICE bool undecided(rank_key_t key) const { return (key & fixed_mask) == prefix; }

  /// Fixes digit `pass` from the histogram of that digit over the undecided real keys (absent
  /// keys never counted). Settles when the row has at most `wanted` candidates (pass 0: all of them
  /// are the list), when the chosen digit holds exactly the wanted keys, or at the last pass.
  GATREC_HOST_DEVICE void step(int pass, const unsigned* histogram) {
    if (pass == 0) {
      unsigned long long total = 0;
      for (int d = 0; d < rank_digit_values; ++d) total += histogram[d];
      if (total <= static_cast<unsigned long long>(wanted)) {
        settled = true;
        threshold = absent_rank_key + 1;
        return;
      }
    }
    // The digit of the wanted-th largest undecided key: walk down from the top digit value.
    unsigned above = 0;
    int d = rank_digit_values - 1;
    for (; d > 0; --d) {
      if (above + histogram[d] >= static_cast<unsigned>(wanted)) break;
      above += histogram[d];
    }
    wanted -= static_cast<int>(above);
    const int shift = 64 - rank_digit_bits * (pass + 1);
    prefix |= static_cast<rank_key_t>(d) << shift;
    fixed_mask |= static_cast<rank_key_t>(rank_digit_values - 1) << shift;
    if (histogram[d] == static_cast<unsigned>(wanted) || pass == rank_key_passes - 1) {
      settled = true;
      threshold = prefix;  // the lower digits are zero: every undecided key with digit d is >= it
    }
  }
};

/// Serial radix selection of one row: writes the best k of `scores` (masked items skipped) to
/// out[0..k), best first, padded with -1. The same passes as kernels/top_k.cuh runs per block, so
/// this is the CPU oracle of the algorithm; for ranking on the CPU, top_k is faster.
/// @return the number of passes over the row (a measure of how early the selection settled)
/// @throw logic_error on a NaN score
inline int radix_top_k_row(const float* scores, index_t num_items, item_span masked, int k, index_t* out) {
  GATREC_EXPECTS(k >= 1, "k must be at least 1");
  std::vector<rank_key_t> keys(static_cast<std::size_t>(num_items));
  for (index_t i = 0; i < num_items; ++i) {
    if (masked.contains(i)) {
      keys[static_cast<std::size_t>(i)] = absent_rank_key;
      continue;
    }
    if (std::isnan(scores[i]))
      detail::throw_logic_error("radix_top_k_row", "score for item " + std::to_string(i) + " is NaN");
    keys[static_cast<std::size_t>(i)] = rank_key(scores[i], i);
  }
  radix_selection sel = radix_selection::start(k);
  int passes = 0;
  for (int pass = 0; pass < rank_key_passes && !sel.settled; ++pass) {
    std::vector<unsigned> histogram(rank_digit_values, 0u);
    for (const rank_key_t key : keys)
      if (key != absent_rank_key && sel.undecided(key)) ++histogram[static_cast<std::size_t>(rank_key_digit(key, pass))];
    sel.step(pass, histogram.data());
    ++passes;
  }
  std::vector<rank_key_t> list;
  for (const rank_key_t key : keys)
    if (key != absent_rank_key && key >= sel.threshold) list.push_back(key);
  GATREC_EXPECTS(list.size() <= static_cast<std::size_t>(k), "radix selection kept more than k keys");
  std::sort(list.begin(), list.end(), [](rank_key_t a, rank_key_t b) { return a > b; });
  for (int p = 0; p < k; ++p)
    out[p] = static_cast<std::size_t>(p) < list.size() ? rank_key_item(list[static_cast<std::size_t>(p)]) : index_t{-1};
  return passes;
}

}  // namespace gatrec
