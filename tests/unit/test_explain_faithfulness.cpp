// The deletion test: embeddings on an edited graph equal those of the same model built on the
// remaining ratings (bit for bit), edits outside the receptive field change nothing while removing
// a user's only liked neighbour does, pair selection is seeded, and the summary statistics match
// values worked out by hand.
#include <gatrec/explain/faithfulness.hpp>
#include <gatrec/models/gat_recommender.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace test_explain_faithfulness {
namespace {

using gatrec::index_t;

// Two components. Component A: u0 liked item 0 (5) and rated items 1, 2, 3 (3); u1 rated item 0
// (4) and item 4 (5). Component B: u2 and u3 with items 5, 6. Item 4 is the recommendation for u0:
// it reaches u0 only through item 0 (4 -> u1 -> 0 -> u0).
gatrec::rating_table two_components() {
  gatrec::rating_table r;
  r.push_back(0, 0, 5), r.push_back(0, 1, 3), r.push_back(0, 2, 3), r.push_back(0, 3, 3);
  r.push_back(1, 0, 4), r.push_back(1, 4, 5);
  r.push_back(2, 5, 5), r.push_back(2, 6, 2), r.push_back(3, 5, 4);
  return r;
}
constexpr index_t users = 4, items = 7;

gatrec::gat_recommender_options small_gat() {
  gatrec::gat_recommender_options o;
  o.encoder.in_dim = 8;
  o.encoder.layers = {{2, 4, true}, {2, 4, true}, {1, 4, true}};
  o.encoder.seed = 11;
  return o;
}

double score_of(const gatrec::matrix<double>& h, index_t u, index_t i) { return h.row(u).dot(h.row(users + i)); }

TEST(EditedGraphScorer, EqualsTheSameModelBuiltWithoutThoseRatingsBitForBit) {
  const auto all = two_components();
  gatrec::gat_recommender<double> model(users, items, all, {}, small_gat());
  model.forward(gatrec::run_mode{});
  const gatrec::matrix<double> before = model.context().outputs.back();
  gatrec::edited_graph_scorer<double> scorer(model);
  const gatrec::matrix<double> edited = scorer.embeddings_without(0, {0, 2});

  gatrec::rating_table rest;
  for (std::size_t k = 0; k < all.size(); ++k)
    if (!(all.user[k] == 0 && (all.item[k] == 0 || all.item[k] == 2))) rest.push_back(all.user[k], all.item[k], all.rating[k]);
  gatrec::gat_recommender<double> rebuilt(users, items, rest, model.features().value, small_gat());
  const auto& expected = rebuilt.forward(gatrec::run_mode{});
  ASSERT_EQ(edited.rows(), expected.rows());
  ASSERT_EQ(edited.cols(), expected.cols());
  EXPECT_EQ(0, std::memcmp(edited.data(), expected.data(), sizeof(double) * static_cast<std::size_t>(edited.size())));
  // The model's own graph, context and embeddings are untouched.
  EXPECT_EQ(model.graph().num_edges(), static_cast<gatrec::offset_t>(2 * all.size() + users + items));
  EXPECT_TRUE(model.context().outputs.back() == before);
  EXPECT_EQ(scorer.edges_between(0, 0).size(), 2u);
  EXPECT_TRUE(scorer.edges_between(0, 4).empty());
}

TEST(EditedGraphScorer, OnlyEditsInsideTheReceptiveFieldMoveTheScore) {
  gatrec::gat_recommender<double> model(users, items, two_components(), {}, small_gat());
  model.forward(gatrec::run_mode{});
  const double base = gatrec::embedding_score(model, 0, 4);
  gatrec::edited_graph_scorer<double> scorer(model);
  // Unrelated: u2's edges to item 6 lie in the other component.
  EXPECT_EQ(score_of(scorer.embeddings_without(2, {6}), 0, 4), base);
  // u0's only liked neighbour, the only path to item 4.
  const double without_neighbour = scorer.score_without(0, 4, {0});
  EXPECT_GT(std::abs(without_neighbour - base), 1e-6 * std::abs(base));
  EXPECT_EQ(scorer.score_without(0, 4, {}), base);  // an empty edit recomputes the same score
}

TEST(MeasureFaithfulness, CitesTheLikedItemAndDrawsRandomOnesFromTheRest) {
  gatrec::gat_recommender<double> model(users, items, two_components(), {}, small_gat());
  model.forward(gatrec::run_mode{});
  gatrec::edited_graph_scorer<double> scorer(model);
  gatrec::faithfulness_options opt;
  opt.k = 1;
  const auto r = gatrec::measure_faithfulness(model, scorer, 0, 4, opt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cited, (std::vector<index_t>{0}));
  ASSERT_EQ(r->random.size(), 1u);
  EXPECT_TRUE(r->random[0] >= 1 && r->random[0] <= 3);
  EXPECT_EQ(r->score, gatrec::embedding_score(model, 0, 4));
  EXPECT_EQ(r->cited_score, scorer.score_without(0, 4, r->cited));
  EXPECT_EQ(r->random_score, scorer.score_without(0, 4, r->random));
  EXPECT_DOUBLE_EQ(r->cited_drop(), r->score - r->cited_score);
  // Ranks among u0's unrated items (4, 5, 6), counted on each graph.
  const auto rank_in = [&](const gatrec::matrix<double>& h, double s) {
    int rank = 1;
    for (const index_t j : {5, 6})
      if (score_of(h, 0, j) > s) ++rank;
    return rank;
  };
  EXPECT_EQ(r->rank, rank_in(model.context().outputs.back(), r->score));
  EXPECT_EQ(r->cited_rank, rank_in(scorer.embeddings_without(0, r->cited), r->cited_score));
  EXPECT_EQ(r->random_rank, rank_in(scorer.embeddings_without(0, r->random), r->random_score));
  EXPECT_GE(r->rank, 1);
  EXPECT_LE(r->rank, 3);
  // Seeded by (seed, user, item) alone: the same draw again, other seeds spread over the pool.
  EXPECT_EQ(gatrec::measure_faithfulness(model, scorer, 0, 4, opt)->random, r->random);
  std::vector<int> seen(4, 0);
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    opt.seed = seed;
    ++seen[static_cast<std::size_t>(gatrec::measure_faithfulness(model, scorer, 0, 4, opt)->random[0])];
  }
  EXPECT_EQ(seen[0], 0);
  for (int i = 1; i <= 3; ++i) EXPECT_GT(seen[static_cast<std::size_t>(i)], 5) << "item " << i;
  // Too little to cite or to draw from.
  opt.k = 2;
  EXPECT_FALSE(gatrec::measure_faithfulness(model, scorer, 0, 4, opt).has_value());  // one liked item
  opt.k = 1;
  EXPECT_FALSE(gatrec::measure_faithfulness(model, scorer, 3, 6, opt).has_value());  // nothing else rated
  opt.k = 0;
  EXPECT_THROW(gatrec::measure_faithfulness(model, scorer, 0, 4, opt), gatrec::logic_error);
}

TEST(SignTest, ExactBinomialTails) {
  EXPECT_NEAR(gatrec::sign_test_p_value(9, 10), 22.0 / 1024.0, 1e-15);
  EXPECT_NEAR(gatrec::sign_test_p_value(1, 10), 22.0 / 1024.0, 1e-15);
  EXPECT_NEAR(gatrec::sign_test_p_value(10, 10), 2.0 / 1024.0, 1e-15);
  EXPECT_DOUBLE_EQ(gatrec::sign_test_p_value(5, 10), 1.0);
  EXPECT_DOUBLE_EQ(gatrec::sign_test_p_value(0, 0), 1.0);
  EXPECT_NEAR(gatrec::sign_test_p_value(7, 10), 2.0 * 176.0 / 1024.0, 1e-14);  // C(10,7..10) = 120+45+10+1
  const double p = gatrec::sign_test_p_value(600, 1000);  // about 2.7e-10
  EXPECT_GT(p, 1e-10);
  EXPECT_LT(p, 1e-9);
  EXPECT_DOUBLE_EQ(gatrec::sign_test_p_value(500, 1000), 1.0);
  EXPECT_THROW(gatrec::sign_test_p_value(3, 2), gatrec::logic_error);
}

TEST(SummarizeFaithfulness, MeansCountsAndAnIntervalAroundTheMean) {
  std::vector<gatrec::pair_faithfulness> pairs;
  for (int k = 0; k < 11; ++k) {
    gatrec::pair_faithfulness p;
    p.score = 2.0;
    p.cited_score = 2.0 - (k < 9 ? 0.5 + 0.1 * k : 0.2);  // drops 0.5..1.3, then 0.2 twice
    p.random_score = 2.0 - (k < 9 ? 0.1 : (k == 9 ? 0.4 : 0.2));  // pair 9: random larger; pair 10: a tie
    p.rank = 1;
    p.cited_rank = k < 4 ? 3 : 1;   // 4 of 11 pairs lose rank without the cited items
    p.random_rank = k == 0 ? 2 : 1;  // 1 of 11 without the random ones
    pairs.push_back(p);
  }
  const auto s = gatrec::summarize_faithfulness(pairs, 2000, 5);
  EXPECT_EQ(s.pairs, 11u);
  EXPECT_EQ(s.cited_greater, 9u);
  EXPECT_EQ(s.random_greater, 1u);
  EXPECT_EQ(s.ties, 1u);
  EXPECT_DOUBLE_EQ(s.fraction_cited_greater, 9.0 / 11.0);
  EXPECT_NEAR(s.sign_test_p, 22.0 / 1024.0, 1e-15);  // lgamma: exact to rounding
  EXPECT_NEAR(s.mean_cited_drop, (0.5 * 9 + 0.1 * 36 + 0.4) / 11, 1e-12);
  EXPECT_NEAR(s.mean_random_drop, (0.9 + 0.4 + 0.2) / 11, 1e-12);
  EXPECT_NEAR(s.mean_difference, s.mean_cited_drop - s.mean_random_drop, 1e-12);
  EXPECT_DOUBLE_EQ(s.mean_score, 2.0);
  EXPECT_NEAR(s.cited_rank_lost, 4.0 / 11, 1e-15);
  EXPECT_NEAR(s.random_rank_lost, 1.0 / 11, 1e-15);
  EXPECT_NEAR(s.mean_cited_rank, (4 * 3 + 7) / 11.0, 1e-14);
  EXPECT_NEAR(s.mean_rank, 1.0, 1e-14);
  EXPECT_LT(s.ci_low, s.mean_difference);
  EXPECT_GT(s.ci_high, s.mean_difference);
  EXPECT_GT(s.ci_low, -0.2);  // no resample mean can fall below the smallest difference
  EXPECT_LT(s.ci_high, 1.2);
  const auto again = gatrec::summarize_faithfulness(pairs, 2000, 5);
  EXPECT_EQ(again.ci_low, s.ci_low);
  EXPECT_EQ(again.ci_high, s.ci_high);
  EXPECT_EQ(gatrec::summarize_faithfulness({}).pairs, 0u);
  EXPECT_THROW(gatrec::summarize_faithfulness(pairs, 10, 1, 1.0), gatrec::logic_error);
}

}  // namespace

}  // namespace test_explain_faithfulness
