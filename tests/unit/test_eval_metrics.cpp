#include <gatrec/eval/full_ranking.hpp>
#include <gatrec/eval/metric_table.hpp>
#include <gatrec/eval/metrics.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace test_eval_metrics {
namespace {

using gatrec::hit_flags;
using gatrec::index_t;
using gatrec::ranked_lists;
using gatrec::rating_table;
using gatrec::user_item_sets;

constexpr double tol = 1e-12;
const double log2_3 = std::log2(3.0);  // 1.5849625007

TEST(Metrics, SingleUserFormulasByHand) {
  // Ranks 1..5 with hits at ranks 1, 3 and 4; |R_u| = 5.
  const hit_flags h{1, 0, 1, 1, 0};
  EXPECT_EQ(gatrec::count_hits(h, 2), 1);
  EXPECT_EQ(gatrec::count_hits(h, 5), 3);
  EXPECT_NEAR(gatrec::precision_at(h, 4), 3.0 / 4, tol);
  EXPECT_NEAR(gatrec::recall_at(h, 4, 5), 3.0 / 5, tol);
  EXPECT_EQ(gatrec::hit_at(h, 1), 1.0);
  EXPECT_EQ(gatrec::reciprocal_rank_at(h, 5), 1.0);
  // DCG@4 = 1/log2(2) + 1/log2(4) + 1/log2(5) = 1 + 0.5 + 0.4306765581
  const double dcg4 = 1.0 + 0.5 + 1.0 / std::log2(5.0);
  EXPECT_NEAR(gatrec::dcg_at(h, 4), dcg4, tol);
  // IDCG@4 with |R_u| = 5 > 4: four leading hits = 1 + 1/log2(3) + 1/2 + 1/log2(5)
  const double idcg4 = 1.0 + 1.0 / log2_3 + 0.5 + 1.0 / std::log2(5.0);
  EXPECT_NEAR(gatrec::ideal_dcg(4), idcg4, tol);
  EXPECT_NEAR(gatrec::ndcg_at(h, 4, 5), dcg4 / idcg4, tol);
  // Precision at each hit: 1/1, 2/3, 3/4 -> sum 2.4166666667
  EXPECT_NEAR(gatrec::precision_sum_at(h, 5), 1.0 + 2.0 / 3 + 3.0 / 4, tol);
  // AP@4 divides by min(|R_u|, 4) = 4; AP@5 by min(5, 5) = 5.
  EXPECT_NEAR(gatrec::average_precision_at(h, 4, 5), (1.0 + 2.0 / 3 + 3.0 / 4) / 4, tol);
  EXPECT_NEAR(gatrec::average_precision_at(h, 5, 5), (1.0 + 2.0 / 3 + 3.0 / 4) / 5, tol);
}

TEST(Metrics, FirstHitLateAndNoHit) {
  const hit_flags late{0, 0, 1};
  EXPECT_NEAR(gatrec::reciprocal_rank_at(late, 3), 1.0 / 3, tol);
  EXPECT_EQ(gatrec::reciprocal_rank_at(late, 2), 0.0);  // the hit lies beyond the cut-off
  EXPECT_EQ(gatrec::hit_at(late, 2), 0.0);
  const hit_flags miss{0, 0};
  EXPECT_EQ(gatrec::ndcg_at(miss, 2, 3), 0.0);
  EXPECT_EQ(gatrec::average_precision_at(miss, 2, 3), 0.0);
  EXPECT_EQ(gatrec::recall_at(miss, 2, 0), 0.0);  // no relevant item: 0, and protocols skip the user
}

TEST(Metrics, MapDenominatorsOfTheTwoConventions) {
  // Two hits in the top 2, five relevant items. The full-ranking AP divides the precision sum
  // (1/1 + 2/2 = 2) by min(|R_u|, K) = 2 and calls the list perfect; the rated-only protocol divides
  // by |R_u| = 5 and gives 0.4.
  const hit_flags h{1, 1};
  EXPECT_NEAR(gatrec::average_precision_at(h, 2, 5), 1.0, tol);
  EXPECT_NEAR(gatrec::precision_sum_at(h, 2) / 5.0, 0.4, tol);
}

TEST(MetricTable, NamesValuesAndCounts) {
  gatrec::metric_table t;
  t.set("recall@10", 0.25, 7);
  t.set(gatrec::metric_name("ndcg", 10), 0.5, 6);
  t.set("recall@10", 0.3, 8);  // replaces
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.at("recall@10"), 0.3);
  EXPECT_EQ(t["ndcg@10"], 0.5);
  EXPECT_EQ(t.entry("ndcg@10").users, 6);
  EXPECT_TRUE(t.contains("ndcg@10"));
  EXPECT_FALSE(t.contains("NDCG@10"));
  EXPECT_THROW(t.at("mrr@10"), gatrec::logic_error);
  EXPECT_EQ(t.to_string(2), "recall@10 0.30 (8 users)\nndcg@10 0.50 (6 users)\n");
}

// Three users, six items.
//   training: u0 {0, 1}, u1 {0}, u2 {2}  -> popularity item0 = 2, item1 = 1, item2 = 1, items 3-5 = 0
//   test:     u0 item2 (5), item3 (4), item4 (2) -> R_0 = {2, 3}
//             u1 item5 (3)                       -> R_1 = {} : skipped with the threshold 4
//             u2 item1 (4)                       -> R_2 = {1}
//   lists:    u0 [3, 5, 2] -> hits 1 0 1;  u1 [4, 1, 2];  u2 [0, 1] (two candidates only) -> hits 0 1
struct toy {
  rating_table train, test;
  ranked_lists lists{3, 3};
  user_item_sets train_sets;
  toy() {
    train.push_back(0, 0, 5);
    train.push_back(0, 1, 3);
    train.push_back(1, 0, 4);
    train.push_back(2, 2, 1);
    test.push_back(0, 2, 5);
    test.push_back(0, 3, 4);
    test.push_back(0, 4, 2);
    test.push_back(1, 5, 3);
    test.push_back(2, 1, 4);
    const index_t rows[3][3] = {{3, 5, 2}, {4, 1, 2}, {0, 1, ranked_lists::none}};
    for (index_t u = 0; u < 3; ++u)
      for (int p = 0; p < 3; ++p) lists.row(u)[p] = rows[u][p];
    train_sets = user_item_sets(3, 6, train);
  }
};

TEST(FullRanking, ToyByHand) {
  toy t;
  gatrec::full_ranking_options o;
  o.ks = {1, 3};
  const gatrec::metric_table m = gatrec::evaluate_full_ranking(t.lists, t.test, t.train_sets, o);
  EXPECT_EQ(m.num_users, 2);  // u1 has no relevant test item
  // K = 1: u0 hits [1], u2 hits [0].
  //   recall (1/2 + 0)/2 = 0.25; precision (1 + 0)/2; ndcg: u0 1/IDCG(min(2,1)=1) = 1 -> 0.5
  //   hit, mrr 0.5; map: u0 (1/1)/min(2,1) = 1 -> 0.5
  EXPECT_NEAR(m.at("recall@1"), 0.25, tol);
  EXPECT_NEAR(m.at("precision@1"), 0.5, tol);
  EXPECT_NEAR(m.at("ndcg@1"), 0.5, tol);
  EXPECT_NEAR(m.at("hit@1"), 0.5, tol);
  EXPECT_NEAR(m.at("mrr@1"), 0.5, tol);
  EXPECT_NEAR(m.at("map@1"), 0.5, tol);
  // coverage@1: {3, 0} of 6 items. novelty@1: item3 (pop 0 -> 1) log2(3/1), item0 log2(3/2).
  EXPECT_NEAR(m.at("coverage@1"), 2.0 / 6, tol);
  EXPECT_NEAR(m.at("novelty@1"), (log2_3 + std::log2(1.5)) / 2, tol);
  // K = 3:
  //   u0 hits 1 0 1: recall 2/2 = 1; precision 2/3; DCG = 1 + 1/log2(4) = 1.5,
  //     IDCG over min(2,3) = 2 ranks = 1 + 1/log2(3); AP = (1/1 + 2/3) / min(2,3) = 0.8333333
  //   u2 hits 0 1 (a 2-item list): recall 1/1; precision 1/3 (divided by K, not by 2);
  //     DCG = 1/log2(3), IDCG = 1; RR = 1/2; AP = (1/2) / min(1,3) = 0.5
  const double ndcg_u0 = 1.5 / (1.0 + 1.0 / log2_3), ndcg_u2 = 1.0 / log2_3;
  EXPECT_NEAR(m.at("recall@3"), 1.0, tol);
  EXPECT_NEAR(m.at("precision@3"), (2.0 / 3 + 1.0 / 3) / 2, tol);
  EXPECT_NEAR(m.at("ndcg@3"), (ndcg_u0 + ndcg_u2) / 2, tol);
  EXPECT_NEAR(m.at("hit@3"), 1.0, tol);
  EXPECT_NEAR(m.at("mrr@3"), (1.0 + 0.5) / 2, tol);
  EXPECT_NEAR(m.at("map@3"), ((1.0 + 2.0 / 3) / 2 + 0.5) / 2, tol);
  // coverage@3: {3, 5, 2} and {0, 1}: 5 of 6. novelty@3: u0 items 3, 5, 2 all log2(3);
  // u2 items 0 and 1: (log2(1.5) + log2(3)) / 2.
  EXPECT_NEAR(m.at("coverage@3"), 5.0 / 6, tol);
  EXPECT_NEAR(m.at("novelty@3"), (log2_3 + (std::log2(1.5) + log2_3) / 2) / 2, tol);
  EXPECT_EQ(m.entry("recall@3").users, 2);
  EXPECT_EQ(m.size(), 16u);
}

TEST(FullRanking, ImplicitDataMakesEveryTestItemRelevant) {
  toy t;
  gatrec::full_ranking_options o;
  o.ks = {3};
  o.relevance_threshold = std::nullopt;
  const gatrec::metric_table m = gatrec::evaluate_full_ranking(t.lists, t.test, t.train_sets, o);
  EXPECT_EQ(m.num_users, 3);
  // R_0 = {2, 3, 4}: hits {3, 2} -> 2/3; R_1 = {5}: list [4, 1, 2] -> 0; R_2 = {1} -> 1.
  EXPECT_NEAR(m.at("recall@3"), (2.0 / 3 + 0 + 1) / 3, tol);
}

TEST(FullRanking, RejectsCutOffsBeyondTheListsAndMismatchedUsers) {
  toy t;
  gatrec::full_ranking_options o;
  o.ks = {4};
  EXPECT_THROW(gatrec::evaluate_full_ranking(t.lists, t.test, t.train_sets, o), gatrec::logic_error);
  o.ks = {0};
  EXPECT_THROW(gatrec::evaluate_full_ranking(t.lists, t.test, t.train_sets, o), gatrec::logic_error);
  o.ks = {2};
  EXPECT_THROW(gatrec::evaluate_full_ranking(ranked_lists(2, 3), t.test, t.train_sets, o), gatrec::logic_error);
}

}  // namespace

}  // namespace test_eval_metrics
