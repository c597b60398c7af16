#include <gatrec/eval/full_ranking.hpp>
#include <gatrec/eval/paper_protocol.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace test_eval_paper_protocol {
namespace {

using gatrec::index_t;
using gatrec::ranked_lists;
using gatrec::rating_table;

constexpr double tol = 1e-12;
const double d2 = 1.0 / std::log2(3.0);  // discount of position 2: 0.6309297536
const double d3 = 0.5;                   // discount of position 3: 1/log2(4)

// Three users, lists of width 5.
//   test ratings: u0 item1 (5), item2 (2), item4 (4), item7 (4) -> T_0 = {1, 2, 4, 7}, R_0 = {1, 4, 7}
//                 u1 item3 (1)                                -> T_1 = {3},          R_1 = {}
//                 u2 item6 (5)                                -> T_2 = {6},          R_2 = {6}
//   lists:        u0 [0, 2, 1, 5, 4]; u1 [3, 0, 1, 2, 4]; u2 [0, 1, 2, 3, 5]
// Filtered lists L (rated items only, in order):
//   K = 3: u0 [0, 2, 1] -> L = [2, 1] (item 0 has no test rating: dropped, not a miss), hits 0 1
//          u1 [3, 0, 1] -> L = [3], hits 0;   u2 -> L empty (item 6 is not listed)
//   K = 5: u0 -> L = [2, 1, 4], hits 0 1 1;   u1 -> L = [3];   u2 -> L empty
struct toy {
  rating_table test;
  ranked_lists lists{3, 5};
  toy() {
    test.push_back(0, 1, 5);
    test.push_back(0, 2, 2);
    test.push_back(0, 4, 4);
    test.push_back(0, 7, 4);
    test.push_back(1, 3, 1);
    test.push_back(2, 6, 5);
    const index_t rows[3][5] = {{0, 2, 1, 5, 4}, {3, 0, 1, 2, 4}, {0, 1, 2, 3, 5}};
    for (index_t u = 0; u < 3; ++u)
      for (int p = 0; p < 5; ++p) lists.row(u)[p] = rows[u][p];
  }
};

TEST(RatedOnly, ToyByHandWithEachMeansOwnUsers) {
  toy t;
  gatrec::rated_only_options o;
  o.ks = {3, 5};
  const gatrec::metric_table m = gatrec::evaluate_rated_only(t.lists, t.test, o);
  EXPECT_EQ(m.num_users, 3);
  // K = 3
  //   precision over users with L non-empty (u0, u1): (1/2 + 0/1) / 2 = 0.25
  //   recall over users with R non-empty (u0, u2): (1/3 + 0) / 2 = 1/6
  //   ndcg over users with L and R non-empty (u0): DCG = d2, IDCG over min(3, 3) = 1 + d2 + d3
  //   map over users with a hit (u0): (1/2) / |R_0| = 1/6
  EXPECT_NEAR(m.at("precision@3"), 0.25, tol);
  EXPECT_EQ(m.entry("precision@3").users, 2);
  EXPECT_NEAR(m.at("recall@3"), 1.0 / 6, tol);
  EXPECT_EQ(m.entry("recall@3").users, 2);
  EXPECT_NEAR(m.at("ndcg@3"), d2 / (1 + d2 + d3), tol);
  EXPECT_EQ(m.entry("ndcg@3").users, 1);
  EXPECT_NEAR(m.at("map@3"), 0.5 / 3, tol);
  EXPECT_EQ(m.entry("map@3").users, 1);
  // K = 5
  //   precision (2/3 + 0) / 2 = 1/3; recall (2/3 + 0) / 2 = 1/3
  //   ndcg u0: DCG = d2 + d3, IDCG = 1 + d2 + d3;  map u0: (1/2 + 2/3) / 3 = 0.3888889
  EXPECT_NEAR(m.at("precision@5"), 1.0 / 3, tol);
  EXPECT_NEAR(m.at("recall@5"), 1.0 / 3, tol);
  EXPECT_NEAR(m.at("ndcg@5"), (d2 + d3) / (1 + d2 + d3), tol);
  EXPECT_NEAR(m.at("map@5"), (0.5 + 2.0 / 3) / 3, tol);
  EXPECT_EQ(m.size(), 8u);
}

TEST(RatedOnly, FilterInflatesPrecisionButNotRecall) {
  toy t;
  gatrec::rated_only_options o;
  o.ks = {3};
  const gatrec::metric_table rated = gatrec::evaluate_rated_only(t.lists, t.test, o);
  gatrec::full_ranking_options f;
  f.ks = {3};
  const gatrec::user_item_sets train(3, 8, rating_table{});
  const gatrec::metric_table full = gatrec::evaluate_full_ranking(t.lists, t.test, train, f);
  // Full ranking, K = 3: u0 hits 1 of 3 slots, u2 0 of 3 -> precision 1/6; rated-only said 0.25.
  EXPECT_NEAR(full.at("precision@3"), 1.0 / 6, tol);
  EXPECT_GT(rated.at("precision@3"), full.at("precision@3"));
  // Recall has the same users (R non-empty) and the same hits under both.
  EXPECT_NEAR(full.at("recall@3"), rated.at("recall@3"), tol);
}

TEST(RatedOnly, UserSubsetAndColdStart) {
  toy t;
  // Training counts: u0 12 ratings, u1 3, u2 9 (one item rated twice counts twice).
  rating_table train;
  for (int r = 0; r < 12; ++r) train.push_back(0, 10 + r, 3);
  for (int r = 0; r < 3; ++r) train.push_back(1, 10 + r, 3);
  for (int r = 0; r < 8; ++r) train.push_back(2, 10 + r, 3);
  train.push_back(2, 10, 4);
  EXPECT_EQ(gatrec::cold_start_users(train, 3), (std::vector<index_t>{1, 2}));
  EXPECT_EQ(gatrec::cold_start_users(train, 3, 9), (std::vector<index_t>{1}));
  EXPECT_EQ(gatrec::cold_start_users(train, 4), (std::vector<index_t>{1, 2, 3}));  // no ratings at all
  gatrec::rated_only_options o;
  o.ks = {5};
  // Users 1 and 2: precision over u1 (L = [3], no hit) = 0; recall over u2 = 0; ndcg and map have
  // no user (0 with a count of 0).
  const gatrec::metric_table cold = gatrec::evaluate_rated_only(t.lists, t.test, gatrec::cold_start_users(train, 3), o);
  EXPECT_EQ(cold.num_users, 2);
  EXPECT_EQ(cold.at("precision@5"), 0.0);
  EXPECT_EQ(cold.entry("precision@5").users, 1);
  EXPECT_EQ(cold.entry("recall@5").users, 1);
  EXPECT_EQ(cold.entry("ndcg@5").users, 0);
  EXPECT_EQ(cold.at("map@5"), 0.0);
  // User 0 alone reproduces its own figures; repeated ids count once.
  const gatrec::metric_table u0 = gatrec::evaluate_rated_only(t.lists, t.test, std::vector<index_t>{0, 0}, o);
  EXPECT_NEAR(u0.at("precision@5"), 2.0 / 3, tol);
  EXPECT_NEAR(u0.at("recall@5"), 2.0 / 3, tol);
  EXPECT_NEAR(u0.at("map@5"), (0.5 + 2.0 / 3) / 3, tol);
  EXPECT_THROW(gatrec::evaluate_rated_only(t.lists, t.test, std::vector<index_t>{3}, o), gatrec::logic_error);
}

TEST(RatedOnly, ThresholdAndArgumentChecks) {
  toy t;
  gatrec::rated_only_options o;
  o.ks = {5};
  o.relevance_threshold = 5.0f;  // R_0 = {1}, R_2 = {6}
  const gatrec::metric_table m = gatrec::evaluate_rated_only(t.lists, t.test, o);
  // u0: L = [2, 1, 4] with one hit (item 1) at position 2: precision 1/3, recall 1/1, map (1/2)/1.
  EXPECT_NEAR(m.at("precision@5"), (1.0 / 3 + 0) / 2, tol);
  EXPECT_NEAR(m.at("recall@5"), (1.0 + 0) / 2, tol);
  EXPECT_NEAR(m.at("map@5"), 0.5, tol);
  o.ks = {6};
  EXPECT_THROW(gatrec::evaluate_rated_only(t.lists, t.test, o), gatrec::logic_error);
  rating_table outside = t.test;
  outside.push_back(3, 0, 5);
  o.ks = {5};
  EXPECT_THROW(gatrec::evaluate_rated_only(t.lists, outside, o), gatrec::logic_error);
}

}  // namespace

}  // namespace test_eval_paper_protocol
