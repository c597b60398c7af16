// Rank keys and the radix selection behind the device top-k (kernels/top_k.cuh), run serially on
// the CPU: key order is top_k's order, and radix_top_k_row returns select_top_k's lists exactly,
// ties, signed zeros, infinities, masks and short rows included.
#include <gatrec/core/random.hpp>
#include <gatrec/eval/rank_key.hpp>
#include <gatrec/eval/ranked_lists.hpp>
#include <gatrec/eval/top_k.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace test_eval_rank_key {
namespace {

using gatrec::index_t;
using gatrec::item_span;
using gatrec::rank_key;

TEST(RankKey, OrdersLikeTheRankingOrder) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  const float ascending[] = {-inf, -std::numeric_limits<float>::max(), -1.5f, -1.0f,
                             -std::numeric_limits<float>::denorm_min(), 0.0f,
                             std::numeric_limits<float>::denorm_min(), 1e-30f, 1.0f, 2.0f,
                             std::numeric_limits<float>::max(), inf};
  for (std::size_t a = 0; a + 1 < std::size(ascending); ++a) {
    // A higher score wins whatever the items.
    EXPECT_LT(rank_key(ascending[a], 0), rank_key(ascending[a + 1], 1000)) << ascending[a] << " vs " << ascending[a + 1];
    EXPECT_LT(rank_key(ascending[a], 1000), rank_key(ascending[a + 1], 0)) << ascending[a] << " vs " << ascending[a + 1];
  }
  // Equal scores: the lower item ranks first, i.e. has the larger key; -0 equals +0.
  EXPECT_GT(rank_key(0.5f, 3), rank_key(0.5f, 4));
  EXPECT_GT(rank_key(-0.0f, 3), rank_key(0.0f, 4));
  EXPECT_GT(rank_key(0.0f, 3), rank_key(-0.0f, 4));
  EXPECT_EQ(rank_key(-0.0f, 7), rank_key(0.0f, 7));
  // No real candidate has the absent key, and the item comes back.
  EXPECT_GT(rank_key(-inf, std::numeric_limits<index_t>::max()), gatrec::absent_rank_key);
  for (index_t item : {index_t{0}, index_t{1}, index_t{1681}, std::numeric_limits<index_t>::max()})
    EXPECT_EQ(gatrec::rank_key_item(rank_key(-2.5f, item)), item);
}

TEST(RankKey, DigitsReadTheKeyFromTheTop) {
  const gatrec::rank_key_t key = 0x0123456789abcdefull;
  const int expected[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  for (int pass = 0; pass < gatrec::rank_key_passes; ++pass) EXPECT_EQ(gatrec::rank_key_digit(key, pass), expected[pass]);
}

// select_top_k is top_k's per-row selection (itself tested against a full sort in test_eval_top_k).
std::vector<index_t> reference(const std::vector<float>& scores, const std::vector<index_t>& masked, int k) {
  std::vector<index_t> out(static_cast<std::size_t>(k));
  std::vector<gatrec::detail::scored_item> pool;
  gatrec::detail::select_top_k(scores.data(), static_cast<index_t>(scores.size()),
                               item_span{masked.data(), static_cast<gatrec::offset_t>(masked.size())}, k, 0,
                               out.data(), pool, "test");
  return out;
}

std::vector<index_t> radix(const std::vector<float>& scores, const std::vector<index_t>& masked, int k,
                           int* passes = nullptr) {
  std::vector<index_t> out(static_cast<std::size_t>(k));
  const int p = gatrec::radix_top_k_row(scores.data(), static_cast<index_t>(scores.size()),
                                        item_span{masked.data(), static_cast<gatrec::offset_t>(masked.size())}, k,
                                        out.data());
  if (passes != nullptr) *passes = p;
  return out;
}

enum class score_kind { continuous, few_values, all_equal, signed_zeros_and_infinities };

std::vector<float> random_scores(index_t n, score_kind kind, gatrec::rng& r) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  std::vector<float> s(static_cast<std::size_t>(n));
  for (auto& x : s) {
    switch (kind) {
      case score_kind::continuous: x = static_cast<float>(r.normal()); break;
      case score_kind::few_values: x = static_cast<float>(r.below(4)) - 1.0f; break;
      case score_kind::all_equal: x = 0.25f; break;
      case score_kind::signed_zeros_and_infinities: {
        const float pick[] = {0.0f, -0.0f, inf, -inf, 1.0f, -1.0f};
        x = pick[r.below(6)];
        break;
      }
    }
  }
  return s;
}

TEST(RadixTopK, MatchesSelectTopKExactly) {
  gatrec::rng r(2026);
  int rows = 0;
  for (score_kind kind : {score_kind::continuous, score_kind::few_values, score_kind::all_equal,
                          score_kind::signed_zeros_and_infinities})
    for (index_t n : {1, 2, 7, 33, 256, 257, 1682, 5000})
      for (int k : {1, 2, 10, 20, 100, 1024})
        for (double mask_density : {0.0, 0.1, 0.95}) {
          const std::vector<float> scores = random_scores(n, kind, r);
          std::vector<index_t> masked;
          for (index_t i = 0; i < n; ++i)
            if (r.uniform() < mask_density) masked.push_back(i);
          SCOPED_TRACE("kind " + std::to_string(static_cast<int>(kind)) + ", n " + std::to_string(n) + ", k " +
                       std::to_string(k) + ", masked " + std::to_string(masked.size()));
          ASSERT_EQ(radix(scores, masked, k), reference(scores, masked, k));
          ++rows;
        }
  EXPECT_EQ(rows, 4 * 8 * 6 * 3);
}

TEST(RadixTopK, ShortAndEmptyRowsArePadded) {
  const std::vector<float> scores = {3.0f, 1.0f, 2.0f};
  EXPECT_EQ(radix(scores, {}, 5), (std::vector<index_t>{0, 2, 1, -1, -1}));
  EXPECT_EQ(radix(scores, {0, 2}, 2), (std::vector<index_t>{1, -1}));
  EXPECT_EQ(radix(scores, {0, 1, 2}, 2), (std::vector<index_t>{-1, -1}));
  EXPECT_EQ(radix({}, {}, 3), (std::vector<index_t>{-1, -1, -1}));
}

TEST(RadixTopK, SettlesEarlyOnDistinctScoresAndReadsItemDigitsOnTies) {
  // Continuous scores: the sign, exponent and top mantissa bits (the first few digits) isolate the
  // best 10 of 1682, so the selection stops long before the item digits.
  gatrec::rng r(7);
  int total_passes = 0, passes = 0;
  for (int row = 0; row < 50; ++row) {
    const std::vector<float> scores = random_scores(1682, score_kind::continuous, r);
    EXPECT_EQ(radix(scores, {}, 10, &passes), reference(scores, {}, 10));
    total_passes += passes;
  }
  std::printf("  continuous scores: %.2f passes per row on average\n", total_passes / 50.0);
  EXPECT_LE(total_passes, 50 * 4);
  // All scores equal: only the item digits (the low word) separate the candidates.
  const std::vector<float> ties(4096, 1.0f);
  EXPECT_EQ(radix(ties, {}, 10, &passes), (std::vector<index_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_GE(passes, 5);
}

TEST(RadixTopK, RejectsNaNScores) {
  std::vector<float> scores = {1.0f, std::nanf(""), 0.5f};
  EXPECT_THROW(radix(scores, {}, 2), gatrec::logic_error);
  EXPECT_EQ(radix(scores, {1}, 2), (std::vector<index_t>{0, 2}));  // a masked NaN is never looked at
}

}  // namespace

}  // namespace test_eval_rank_key
