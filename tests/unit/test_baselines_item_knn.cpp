// ItemKNN: cosine similarities and the neighbour pruning worked out by hand on a 3-user, 4-item
// matrix, the shrinkage term, scores X·S_k, and thread-count independence.

#include <gatrec/baselines/item_knn.hpp>
#include <gatrec/core/random.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace test_baselines_item_knn {
namespace {

using gatrec::index_t;
using gatrec::matrix;

// X (liked only):  u0 = {0, 1},  u1 = {0, 1, 2},  u2 = {1, 2, 3};  plus a rating 2 of u0 on item 3.
// Item degrees n = (2, 3, 2, 1); common users c01 = 2, c02 = 1, c03 = 0, c12 = 2, c13 = 1, c23 = 1.
gatrec::rating_table ratings() {
  gatrec::rating_table t;
  t.push_back(0, 0, 5.0f);
  t.push_back(0, 1, 4.0f);
  t.push_back(1, 0, 4.0f);
  t.push_back(1, 1, 5.0f);
  t.push_back(1, 2, 4.0f);
  t.push_back(2, 1, 4.0f);
  t.push_back(2, 2, 5.0f);
  t.push_back(2, 3, 4.0f);
  t.push_back(0, 3, 2.0f);
  return t;
}

TEST(ItemKnn, CosineSimilaritiesByHand) {
  gatrec::item_knn_options opt;
  opt.neighbours = 10;  // more than the catalogue: keep every non-zero similarity
  const gatrec::item_knn_scorer knn(3, 4, ratings(), opt);
  const double r6 = std::sqrt(6.0), r3 = std::sqrt(3.0), r2 = std::sqrt(2.0);
  EXPECT_NEAR(knn.similarity(0, 1), 2 / r6, 1e-7);  // 2 / sqrt(2 * 3)
  EXPECT_NEAR(knn.similarity(0, 2), 0.5, 1e-7);     // 1 / sqrt(2 * 2)
  EXPECT_EQ(knn.similarity(0, 3), 0.0f);            // no common user (the rating 2 is not in X)
  EXPECT_NEAR(knn.similarity(1, 2), 2 / r6, 1e-7);
  EXPECT_NEAR(knn.similarity(1, 3), 1 / r3, 1e-7);
  EXPECT_NEAR(knn.similarity(2, 3), 1 / r2, 1e-7);
  for (index_t i = 0; i < 4; ++i) {
    EXPECT_EQ(knn.similarity(i, i), 0.0f);  // the item itself is never a neighbour
    for (index_t j = 0; j < 4; ++j) EXPECT_EQ(knn.similarity(i, j), knn.similarity(j, i));
  }
  EXPECT_EQ(knn.neighbour_items().size(), 10u);  // 5 non-zero pairs, both directions
}

TEST(ItemKnn, KeepsTheKNearestWithTiesToTheLowerItem) {
  gatrec::item_knn_options opt;
  opt.neighbours = 1;
  const gatrec::item_knn_scorer knn(3, 4, ratings(), opt);
  // item 0: 1 (0.816) over 2 (0.5); item 1: 0 and 2 tie at 0.816, the lower index wins;
  // item 2: 1 (0.816) over 3 (0.707) and 0 (0.5); item 3: 2 (0.707) over 1 (0.577).
  const std::vector<index_t> expected{1, 0, 1, 2};
  EXPECT_EQ(knn.neighbour_items(), expected);
  EXPECT_EQ(knn.neighbour_offsets(), (std::vector<gatrec::offset_t>{0, 1, 2, 3, 4}));
  // Pruning is per row, so S_k is no longer symmetric: 2 is among 3's neighbours, not the reverse.
  EXPECT_GT(knn.similarity(3, 2), 0.0f);
  EXPECT_EQ(knn.similarity(2, 3), 0.0f);

  // Scores X·S_1: u0 = S_0 + S_1 puts 2/sqrt(6) on item 1 and on item 0.
  matrix<float> s(3, 4);
  knn.score_block(0, 3, s);
  const float c = static_cast<float>(2 / std::sqrt(6.0));
  matrix<float> expected_scores(3, 4);
  expected_scores << c, c, 0, 0,   // u0: items 0, 1
      c, 2 * c, 0, 0,              // u1: items 0, 1, 2 (2 votes for 1)
      c, c, 0, 0;                  // u2: items 1, 2, 3 -> 0 (from 1), 1 (from 2), 2 (from 3)
  expected_scores(2, 2) = static_cast<float>(1 / std::sqrt(2.0));
  EXPECT_LT((s - expected_scores).cwiseAbs().maxCoeff(), 1e-6f) << s;
}

TEST(ItemKnn, ShrinkageAndAllRatings) {
  gatrec::item_knn_options opt;
  opt.shrinkage = 1.0;
  const gatrec::item_knn_scorer shrunk(3, 4, ratings(), opt);
  EXPECT_NEAR(shrunk.similarity(0, 1), 2 / (std::sqrt(6.0) + 1), 1e-7);
  EXPECT_NEAR(shrunk.similarity(2, 3), 1 / (std::sqrt(2.0) + 1), 1e-7);

  opt = gatrec::item_knn_options();
  opt.min_rating = std::nullopt;  // the rating 2 of u0 on item 3 now counts: n3 = 2, c03 = 1, c13 = 2
  const gatrec::item_knn_scorer all(3, 4, ratings(), opt);
  EXPECT_NEAR(all.similarity(0, 3), 1 / std::sqrt(4.0), 1e-7);
  EXPECT_NEAR(all.similarity(1, 3), 2 / std::sqrt(6.0), 1e-7);

  EXPECT_THROW(gatrec::item_knn_scorer(3, 4, ratings(), gatrec::item_knn_options{0, 0.0, 4.0f}), gatrec::logic_error);
  EXPECT_THROW(gatrec::item_knn_scorer(3, 4, ratings(), gatrec::item_knn_options{5, -1.0, 4.0f}), gatrec::logic_error);
  EXPECT_THROW(gatrec::item_knn_scorer(3, 3, ratings()), gatrec::logic_error);  // item 3 out of range
  const gatrec::item_knn_scorer one(1, 1, gatrec::rating_table{{0}, {0}, {5.0f}, {0}});
  EXPECT_TRUE(one.neighbour_items().empty());
}

TEST(ItemKnn, MatchesADenseComputationForAnyThreadCount) {
  const index_t users = 120, items = 150;
  gatrec::rng gen(9);
  gatrec::rating_table t;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i < items; ++i)
      if (gen.uniform() < 0.1) t.push_back(u, i, 5.0f);
  matrix<double> x = matrix<double>::Zero(users, items);
  for (std::size_t r = 0; r < t.size(); ++r) x(t.user[r], t.item[r]) = 1.0;
  const matrix<double> c = x.transpose() * x;
  gatrec::item_knn_options opt;
  opt.neighbours = items;  // no pruning: S is the full cosine matrix
  opt.shrinkage = 0.5;
  const int saved = gatrec::max_threads();
  gatrec::set_num_threads(1);
  const gatrec::item_knn_scorer one(users, items, t, opt);
  gatrec::set_num_threads(std::max(2, saved));
  const gatrec::item_knn_scorer many(users, items, t, opt);
  gatrec::set_num_threads(saved);
  EXPECT_EQ(one.neighbour_items(), many.neighbour_items());
  EXPECT_EQ(one.neighbour_similarities(), many.neighbour_similarities());
  matrix<double> s = matrix<double>::Zero(items, items);
  for (index_t i = 0; i < items; ++i)
    for (index_t j = 0; j < items; ++j)
      if (i != j && c(i, j) > 0) s(i, j) = c(i, j) / (std::sqrt(c(i, i) * c(j, j)) + 0.5);
  for (index_t i = 0; i < items; ++i)
    for (index_t j = 0; j < items; ++j) ASSERT_NEAR(one.similarity(i, j), s(i, j), 1e-6) << i << ", " << j;
  matrix<float> scores(users, items);
  one.score_block(0, users, scores);
  EXPECT_LT((scores.cast<double>() - x * s).cwiseAbs().maxCoeff(), 1e-4);
}

}  // namespace

}  // namespace test_baselines_item_knn
