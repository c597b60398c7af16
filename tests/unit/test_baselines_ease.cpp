// EASE: a 3-item case solved by hand, centered-rating X by hand and against a dense formula, the
// weighted sum of scorers, the optimality conditions of the constrained problem on random
// data, an independent dense inverse, the sparse Gram matrix against a dense XᵀX, scores against a
// dense X·B, thread-count independence, and the refusals.

#include <gatrec/baselines/ease.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/models/weighted_sum_scorer.hpp>

#include <gtest/gtest.h>

#include <Eigen/LU>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

namespace test_baselines_ease {
namespace {

using gatrec::index_t;
using gatrec::matrix;

// X = [[1, 1, 0], [0, 1, 1]] (2 users, 3 items) with ratings 4 and 5.
gatrec::rating_table tiny_ratings() {
  gatrec::rating_table t;
  t.push_back(0, 0, 4.0f);
  t.push_back(0, 1, 5.0f);
  t.push_back(1, 1, 4.0f);
  t.push_back(1, 2, 5.0f);
  return t;
}

// Random ratings 1..5 with some repeated pairs, over a catalogue whose last item nobody rated.
gatrec::rating_table random_ratings(index_t users, index_t items, double density, std::uint64_t seed) {
  gatrec::rng gen(seed);
  gatrec::rating_table t;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i + 1 < items; ++i)
      if (gen.uniform() < density) t.push_back(u, i, static_cast<float>(1 + gen.below(5)));
  for (std::size_t r = 0; r < t.size() && r < 10; ++r) t.push_back(t.user[r], t.item[r], t.rating[r]);
  return t;
}

// The dense binary X, built independently of interaction_matrix.
matrix<double> dense_x(index_t users, index_t items, const gatrec::rating_table& t, float min_rating) {
  matrix<double> x = matrix<double>::Zero(users, items);
  for (std::size_t r = 0; r < t.size(); ++r)
    if (t.rating[r] >= min_rating) x(t.user[r], t.item[r]) = 1.0;
  return x;
}

TEST(Ease, ThreeItemsByHand) {
  // G = XᵀX = [[1,1,0],[1,2,1],[0,1,1]]; with λ = 1, G + λI = [[2,1,0],[1,3,1],[0,1,2]], det 8,
  // P = (1/8) [[5,-2,1],[-2,4,-2],[1,-2,5]], B_ij = -P_ij / P_jj.
  const gatrec::interaction_matrix x(2, 3, tiny_ratings(), 4.0f);
  const matrix<double> g = gatrec::item_gram_matrix(x, 1.0);
  matrix<double> g_expected(3, 3);
  g_expected << 2, 1, 0, 1, 3, 1, 0, 1, 2;
  EXPECT_EQ(g, g_expected);

  const matrix<double> b = gatrec::ease_weights(g);
  matrix<double> b_expected(3, 3);
  b_expected << 0.0, 0.5, -0.2,  //
      0.4, 0.0, 0.4,             //
      -0.2, 0.5, 0.0;
  EXPECT_LT((b - b_expected).cwiseAbs().maxCoeff(), 1e-14) << b;

  gatrec::ease_options opt;
  opt.lambda = 1.0;
  const gatrec::ease_scorer model(2, 3, tiny_ratings(), opt);
  EXPECT_EQ(model.num_users(), 2);
  EXPECT_EQ(model.num_items(), 3);
  EXPECT_LT((model.weights().cast<double>() - b_expected).cwiseAbs().maxCoeff(), 1e-7);
  // scores = X·B: user 0 = B_0 + B_1, user 1 = B_1 + B_2.
  matrix<float> s(2, 3);
  model.score_block(0, 2, s);
  EXPECT_NEAR(s(0, 0), 0.4f, 1e-6f);
  EXPECT_NEAR(s(0, 1), 0.5f, 1e-6f);
  EXPECT_NEAR(s(0, 2), 0.2f, 1e-6f);
  EXPECT_NEAR(s(1, 0), 0.2f, 1e-6f);
  EXPECT_NEAR(s(1, 1), 0.5f, 1e-6f);
  EXPECT_NEAR(s(1, 2), 0.4f, 1e-6f);
  // Through the evaluator, training items masked: each user has one candidate left.
  const gatrec::user_item_sets train(2, 3, tiny_ratings());
  const gatrec::ranked_lists lists = gatrec::top_k(model, 2, train);
  EXPECT_EQ(lists.list(0).size(), 1);
  EXPECT_EQ(lists.list(0)[0], 2);
  EXPECT_EQ(lists.list(1)[0], 0);
}

TEST(Ease, SatisfiesTheOptimalityConditions) {
  // B minimises ||X - XB||² + λ||B||² subject to diag(B) = 0. With a multiplier μ_j per constraint,
  // the stationarity condition is (G + λI) B - G = -diagMat(μ): off the diagonal, (G + λI) B equals
  // G exactly. Together with diag(B) = 0 this determines B (n² equations, n² unknowns with the μ).
  const index_t users = 60, items = 41;
  const double lambda = 3.0;
  const auto t = random_ratings(users, items, 0.3, 7);
  const gatrec::interaction_matrix x(users, items, t, 4.0f);
  const matrix<double> g = gatrec::item_gram_matrix(x);
  matrix<double> a = g;
  a.diagonal().array() += lambda;
  const matrix<double> b = gatrec::ease_weights(a);
  ASSERT_TRUE(b.allFinite());
  EXPECT_GT(b.cwiseAbs().maxCoeff(), 0.01);  // not trivially zero
  for (index_t j = 0; j < items; ++j) EXPECT_EQ(b(j, j), 0.0);
  matrix<double> residual = a * b - g;
  const Eigen::VectorXd mu = -residual.diagonal();
  residual.diagonal().setZero();
  EXPECT_LT(residual.cwiseAbs().maxCoeff(), 1e-10);
  // From the closed form, (G + λI) B = (G + λI) - diagMat(1 / diag(P)), so the multipliers are
  // μ_j = 1 / P_jj - λ (P from an LU inverse here).
  const matrix<double> p = a.fullPivLu().inverse();
  for (index_t j = 0; j < items; ++j) EXPECT_NEAR(mu(j), 1.0 / p(j, j) - lambda, 1e-10);
  // An item nobody rated is decoupled: all-zero row and column.
  EXPECT_EQ(b.row(items - 1).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(b.col(items - 1).cwiseAbs().maxCoeff(), 0.0);
}

TEST(Ease, MatchesAnIndependentDenseFormula) {
  const index_t users = 50, items = 37;
  const double lambda = 2.5;
  const auto t = random_ratings(users, items, 0.25, 11);
  for (float threshold : {4.0f, 1.0f}) {
    const matrix<double> xd = dense_x(users, items, t, threshold);
    const matrix<double> g_dense = xd.transpose() * xd;
    const gatrec::interaction_matrix x(users, items, t, threshold);
    EXPECT_EQ(gatrec::item_gram_matrix(x), g_dense);  // integer counts: exact

    // P by LU with full pivoting (not Cholesky), B by the published formula.
    const matrix<double> p = (g_dense + lambda * matrix<double>::Identity(items, items)).fullPivLu().inverse();
    matrix<double> b_ref = matrix<double>::Identity(items, items) -
                           p * p.diagonal().cwiseInverse().asDiagonal();
    matrix<double> a = g_dense;
    a.diagonal().array() += lambda;
    const matrix<double> b = gatrec::ease_weights(a);
    EXPECT_LT((b - b_ref).cwiseAbs().maxCoeff(), 1e-12);

    gatrec::ease_options opt;
    opt.lambda = lambda;
    opt.min_rating = threshold;
    const gatrec::ease_scorer model(users, items, t, opt);
    const matrix<double> scores_ref = xd * b_ref;
    matrix<float> s(users, items);
    model.score_block(0, users, s);
    EXPECT_LT((s.cast<double>() - scores_ref).cwiseAbs().maxCoeff(), 1e-5);
    // A block in the middle gives the same rows.
    matrix<float> part(7, items);
    model.score_block(20, 7, part);
    EXPECT_EQ(part, s.middleRows(20, 7));
  }
}

TEST(Ease, AllRatingsOptionUsesEveryRating) {
  gatrec::rating_table t = tiny_ratings();
  t.push_back(1, 0, 2.0f);  // a disliked rating: in X only with min_rating = nullopt
  gatrec::ease_options liked;
  liked.lambda = 1.0;
  gatrec::ease_options all = liked;
  all.min_rating = std::nullopt;
  EXPECT_EQ(gatrec::ease_scorer(2, 3, t, liked).interactions().nnz(), 4);
  EXPECT_EQ(gatrec::ease_scorer(2, 3, t, all).interactions().nnz(), 5);
}

TEST(Ease, SameWeightsForAnyThreadCount) {
  // More items than one solve block (128), so several blocks run concurrently.
  const index_t users = 300, items = 301;
  const auto t = random_ratings(users, items, 0.08, 3);
  const int saved = gatrec::max_threads();
  gatrec::set_num_threads(1);
  const gatrec::ease_scorer one(users, items, t);
  gatrec::set_num_threads(std::max(2, saved));
  const gatrec::ease_scorer many(users, items, t);
  gatrec::set_num_threads(saved);
  EXPECT_TRUE(one.weights() == many.weights());
  EXPECT_GT(one.weights().cwiseAbs().maxCoeff(), 0.0f);
}

TEST(Ease, RefusesLargeCataloguesAndBadLambda) {
  gatrec::ease_options opt;
  opt.max_items = 2;
  try {
    gatrec::ease_scorer model(2, 3, tiny_ratings(), opt);
    FAIL() << "a catalogue above max_items was accepted";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("max_items"), std::string::npos) << e.what();
  }
  opt = gatrec::ease_options();
  opt.lambda = 0.0;
  EXPECT_THROW(gatrec::ease_scorer(2, 3, tiny_ratings(), opt), gatrec::logic_error);
  opt.lambda = -1.0;
  EXPECT_THROW(gatrec::ease_scorer(2, 3, tiny_ratings(), opt), gatrec::logic_error);
  EXPECT_THROW(gatrec::ease_weights(matrix<double>::Zero(2, 3)), gatrec::logic_error);
  EXPECT_THROW(gatrec::ease_weights(matrix<double>::Zero(2, 2)), gatrec::logic_error);  // singular
  const gatrec::ease_scorer ok(2, 3, tiny_ratings());
  matrix<float> s;
  EXPECT_THROW(ok.score_block(1, 2, s), gatrec::logic_error);
  gatrec::rating_table bad = tiny_ratings();
  bad.push_back(0, 3, 5.0f);
  EXPECT_THROW(gatrec::ease_scorer(2, 3, bad), gatrec::logic_error);
}


// The dense centered X, built independently: the last rating of a pair wins, then each user's row is
// centered on `center`, or on the mean of the user's (deduplicated) ratings when center is NaN.
matrix<double> dense_centered_x(index_t users, index_t items, const gatrec::rating_table& t, double center) {
  matrix<double> r = matrix<double>::Zero(users, items);
  for (std::size_t k = 0; k < t.size(); ++k) r(t.user[k], t.item[k]) = t.rating[k];
  matrix<double> x = matrix<double>::Zero(users, items);
  for (index_t u = 0; u < users; ++u) {
    double sum = 0, n = 0;
    for (index_t i = 0; i < items; ++i)
      if (r(u, i) != 0) sum += r(u, i), n += 1;
    const double c = std::isnan(center) ? sum / std::max(n, 1.0) : center;
    for (index_t i = 0; i < items; ++i)
      if (r(u, i) != 0) x(u, i) = r(u, i) - c;
  }
  return x;
}

TEST(InteractionMatrix, CenteredValuesByHand) {
  // User 0 rated item 0 twice (2 then 5: the last wins) and item 2 with 3; user 1 rated item 1 with 4.
  gatrec::rating_table t;
  t.push_back(0, 0, 2.0f);
  t.push_back(1, 1, 4.0f);
  t.push_back(0, 2, 3.0f);
  t.push_back(0, 0, 5.0f);
  const gatrec::interaction_matrix user_mean(3, 3, t, std::nullopt, gatrec::rating_centering{});
  EXPECT_FALSE(user_mean.binary());
  ASSERT_EQ(user_mean.items_of(0).size(), 2);
  EXPECT_FLOAT_EQ(user_mean.values_of(0)[0], 1.0f);   // 5 - mean(5, 3)
  EXPECT_FLOAT_EQ(user_mean.values_of(0)[1], -1.0f);  // 3 - 4
  EXPECT_FLOAT_EQ(user_mean.values_of(1)[0], 0.0f);   // a single rating is its own mean
  EXPECT_EQ(user_mean.items_of(2).size(), 0);         // a user without ratings stays empty
  // Columns carry the same values: item 0 has user 0 (+1), item 2 has user 0 (-1).
  EXPECT_FLOAT_EQ(user_mean.column_values(0)[0], 1.0f);
  EXPECT_FLOAT_EQ(user_mean.column_values(2)[0], -1.0f);

  const gatrec::interaction_matrix fixed(3, 3, t, 3.0f, gatrec::rating_centering{3.5f});
  ASSERT_EQ(fixed.items_of(0).size(), 2);  // the threshold still filters (both of user 0's are >= 3)
  EXPECT_FLOAT_EQ(fixed.values_of(0)[0], 1.5f);
  EXPECT_FLOAT_EQ(fixed.values_of(0)[1], -0.5f);
  EXPECT_FLOAT_EQ(fixed.values_of(1)[0], 0.5f);

  const gatrec::interaction_matrix binary(3, 3, t);
  EXPECT_TRUE(binary.binary());
  EXPECT_FLOAT_EQ(binary.values_of(0)[1], 1.0f);
}

TEST(InteractionMatrix, RefusesANonFiniteRatingWhenCentering) {
  gatrec::rating_table t;
  t.push_back(0, 0, 4.0f);
  t.push_back(0, 1, std::numeric_limits<float>::quiet_NaN());
  try {
    gatrec::interaction_matrix(1, 2, t, std::nullopt, gatrec::rating_centering{});
    FAIL() << "expected an error";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("rating 1 is NaN or infinite"), std::string::npos) << e.what();
  }
}

TEST(Ease, CenteredRatingsMatchAnIndependentDenseFormula) {
  // The same closed form on a real-valued X: G = XᵀX + λI by dense products, B by LU, scores X·B.
  const index_t users = 45, items = 33;
  const double lambda = 4.0;
  const auto t = random_ratings(users, items, 0.3, 23);
  for (double center : {std::nan(""), 3.5}) {
    const matrix<double> xd = dense_centered_x(users, items, t, center);
    gatrec::rating_centering c;
    if (!std::isnan(center)) c.center = static_cast<float>(center);
    const gatrec::interaction_matrix x(users, items, t, std::nullopt, c);
    // X holds floats (rating − mean rounded once), the reference doubles.
    EXPECT_LT((gatrec::item_gram_matrix(x) - xd.transpose() * xd).cwiseAbs().maxCoeff(), 1e-5);

    const matrix<double> p = (xd.transpose() * xd + lambda * matrix<double>::Identity(items, items)).fullPivLu().inverse();
    const matrix<double> b_ref = matrix<double>::Identity(items, items) - p * p.diagonal().cwiseInverse().asDiagonal();
    gatrec::ease_options opt;
    opt.lambda = lambda;
    opt.min_rating = std::nullopt;
    opt.centering = c;
    const gatrec::ease_scorer model(users, items, t, opt);
    EXPECT_LT((model.weights().cast<double>() - b_ref).cwiseAbs().maxCoeff(), 1e-6);
    matrix<float> s(users, items);
    model.score_block(0, users, s);
    EXPECT_LT((s.cast<double>() - xd * b_ref).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_GT(b_ref.cwiseAbs().maxCoeff(), 0.01);  // not trivially zero
  }
}

TEST(WeightedSumScorer, AddsWeightedTermsAndRefusesMismatches) {
  gatrec::ease_options opt;
  opt.lambda = 1.0;
  // EASE on tiny_ratings() scores [[0.4, 0.5, 0.2], [0.2, 0.5, 0.4]] (ThreeItemsByHand).
  gatrec::weighted_sum_scorer sum;
  sum.add(std::make_unique<gatrec::ease_scorer>(2, 3, tiny_ratings(), opt), 2.0)
      .add(std::make_unique<gatrec::ease_scorer>(2, 3, tiny_ratings(), opt), -0.5);
  EXPECT_EQ(sum.num_terms(), 2u);
  matrix<float> s;
  sum.score_block(1, 1, s);  // user 1 alone: 1.5 x its EASE row
  ASSERT_EQ(s.rows(), 1);
  EXPECT_NEAR(s(0, 0), 0.3f, 1e-6f);
  EXPECT_NEAR(s(0, 1), 0.75f, 1e-6f);
  EXPECT_NEAR(s(0, 2), 0.6f, 1e-6f);

  EXPECT_THROW(sum.add(std::make_unique<gatrec::ease_scorer>(3, 3, tiny_ratings(), opt), 1.0), gatrec::logic_error);
  EXPECT_THROW(sum.add(nullptr, 1.0), gatrec::logic_error);
  EXPECT_THROW(sum.add(std::make_unique<gatrec::ease_scorer>(2, 3, tiny_ratings(), opt), std::nan("")),
               gatrec::logic_error);
  const gatrec::weighted_sum_scorer empty;
  EXPECT_THROW(empty.score_block(0, 0, s), gatrec::logic_error);
}

}  // namespace

}  // namespace test_baselines_ease
