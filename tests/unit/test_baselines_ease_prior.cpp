// The EASE prior: without cross-fitting the loss sees the ranking scores; with k folds each user's
// loss scores come from a B fitted without that user's group (checked against an independent dense
// EASE fit), the ranking scores stay those of the full fit, and the refusals.

#include <gatrec/baselines/ease_prior.hpp>
#include <gatrec/core/random.hpp>

#include <gtest/gtest.h>

#include <Eigen/LU>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>

namespace test_baselines_ease_prior {
namespace {

using gatrec::index_t;
using gatrec::matrix;

gatrec::rating_table random_ratings(index_t users, index_t items, double density, std::uint64_t seed) {
  gatrec::rng gen(seed);
  gatrec::rating_table t;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i < items; ++i)
      if (gen.uniform() < density) t.push_back(u, i, static_cast<float>(1 + gen.below(5)));
  return t;
}

// Dense EASE scores for the users in `score_users`, B fitted on the liked ratings of `fit_users`
// only: B = I - P diagMat(1/diag(P)), P = (XᵀX + λI)⁻¹, scores = X_all · B. With a center, X holds
// rating − center for every rating instead.
matrix<double> dense_ease_scores(index_t users, index_t items, const gatrec::rating_table& t, double lambda,
                                 const std::function<bool(index_t)>& fit_user,
                                 std::optional<double> center = std::nullopt) {
  matrix<double> x_all = matrix<double>::Zero(users, items), x_fit = matrix<double>::Zero(users, items);
  for (std::size_t r = 0; r < t.size(); ++r)
    if (center || t.rating[r] >= 4.0f) {
      const double v = center ? t.rating[r] - *center : 1.0;
      x_all(t.user[r], t.item[r]) = v;
      if (fit_user(t.user[r])) x_fit(t.user[r], t.item[r]) = v;
    }
  const matrix<double> g = x_fit.transpose() * x_fit + lambda * matrix<double>::Identity(items, items);
  const matrix<double> p = g.inverse();
  matrix<double> b(items, items);
  for (index_t i = 0; i < items; ++i)
    for (index_t j = 0; j < items; ++j) b(i, j) = i == j ? 0.0 : -p(i, j) / p(j, j);
  return x_all * b;
}

TEST(EasePrior, OneFoldLossSeesTheRankingScores) {
  const auto t = random_ratings(20, 9, 0.4, 3);
  gatrec::ease_options o;
  o.lambda = 2.0;
  const auto prior = gatrec::make_ease_prior(20, 9, t, o, 1.5, 1);
  EXPECT_FALSE(prior->has_loss_scores());
  const matrix<double> expected = dense_ease_scores(20, 9, t, 2.0, [](index_t) { return true; });
  for (index_t u = 0; u < 20; ++u)
    for (index_t i = 0; i < 9; ++i) {
      EXPECT_NEAR((*prior)(u, i), 1.5 * expected(u, i), 1e-5);
      EXPECT_EQ(prior->in_loss(u, i), (*prior)(u, i));
    }
}

// Checks every score of a prior fitted with `folds` groups against dense fits: the loss sees the fit
// without the user's group, the ranking the fit on everyone. Returns Σ |loss score − ranking score|.
double expect_cross_fitted(const gatrec::score_prior& prior, index_t users, index_t items, const gatrec::rating_table& t,
                           double lambda, double weight, int folds, std::optional<double> center = std::nullopt) {
  const matrix<double> full = dense_ease_scores(users, items, t, lambda, [](index_t) { return true; }, center);
  double loss_minus_rank = 0.0;
  for (int g = 0; g < folds; ++g) {
    const matrix<double> held_out =
        dense_ease_scores(users, items, t, lambda, [&](index_t u) { return u % folds != g; }, center);
    for (index_t u = g; u < users; u += folds)
      for (index_t i = 0; i < items; ++i) {
        EXPECT_NEAR(prior.in_loss(u, i), weight * held_out(u, i), 1e-4) << "user " << u << " item " << i;
        EXPECT_NEAR(prior(u, i), weight * full(u, i), 1e-4) << "user " << u << " item " << i;
        loss_minus_rank += std::abs(prior.in_loss(u, i) - prior(u, i));
      }
  }
  return loss_minus_rank;
}

TEST(EasePrior, CrossFittedLossScoresComeFromTheOtherGroups) {
  const index_t users = 23, items = 11;
  const int folds = 3;
  const auto t = random_ratings(users, items, 0.35, 7);
  gatrec::ease_options o;
  o.lambda = 3.0;
  const auto prior = gatrec::make_ease_prior(users, items, t, o, 2.0, folds);
  ASSERT_TRUE(prior->has_loss_scores());
  // Cross-fitting changed the scores the loss sees.
  EXPECT_GT(expect_cross_fitted(*prior, users, items, t, 3.0, 2.0, folds), 1e-2);
}

TEST(EasePrior, CrossFittingKeepsTheCenteredValues) {
  const index_t users = 19, items = 10;
  const int folds = 2;
  const auto t = random_ratings(users, items, 0.4, 9);
  gatrec::ease_options o;
  o.lambda = 2.0;
  o.min_rating = std::nullopt;
  o.centering = gatrec::rating_centering{3.0f};
  const auto prior = gatrec::make_ease_prior(users, items, t, o, 0.5, folds);
  EXPECT_GT(expect_cross_fitted(*prior, users, items, t, 2.0, 0.5, folds, 3.0), 1e-2);
}

TEST(EasePrior, RefusesBadFoldCounts) {
  const auto t = random_ratings(5, 4, 0.5, 1);
  EXPECT_THROW(gatrec::make_ease_prior(5, 4, t, {}, 1.0, 0), gatrec::logic_error);
  EXPECT_THROW(gatrec::make_ease_prior(5, 4, t, {}, 1.0, 6), gatrec::logic_error);
  gatrec::score_prior p = *gatrec::make_ease_prior(5, 4, t, {}, 1.0, 1);
  EXPECT_THROW(p.set_loss_scores(matrix<float>::Zero(4, 4)), gatrec::logic_error);
  matrix<float> bad = matrix<float>::Zero(5, 4);
  bad(2, 3) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(p.set_loss_scores(bad), gatrec::logic_error);
}

}  // namespace

}  // namespace test_baselines_ease_prior
