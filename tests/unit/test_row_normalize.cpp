// Row L2 normalisation: unit rows, the clamp for (near-)zero rows, finite-difference gradients, and a
// GAT recommender with normalised output checked end to end against finite differences.

#include <gatrec/explain/evidence.hpp>
#include <gatrec/explain/faithfulness.hpp>
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/nn/row_normalize.hpp>

#include <gtest/gtest.h>

#include "support/gradient_check.hpp"
#include "support/random_graphs.hpp"

namespace test_row_normalize {
namespace {

using gatrec::index_t;
using gatrec::matrix;
using gatrec::test::random_matrix;

TEST(RowNormalize, UnitRowsAndAClampedZeroRow) {
  matrix<double> x(3, 2);
  x << 3, 4, 0, 0, -1e-3, 0;
  gatrec::row_normalize_context<double> ctx;
  const matrix<double>& y = gatrec::row_normalize_forward(x, ctx);
  EXPECT_DOUBLE_EQ(y(0, 0), 0.6);
  EXPECT_DOUBLE_EQ(y(0, 1), 0.8);
  EXPECT_EQ(y.row(1), matrix<double>::Zero(1, 2));  // clamped: 0 / eps, no NaN
  EXPECT_DOUBLE_EQ(y(2, 0), -1.0);
  EXPECT_TRUE(ctx.clamped(1));
  EXPECT_FALSE(ctx.clamped(2));
}

TEST(RowNormalize, GradientMatchesFiniteDifferences) {
  matrix<double> x = random_matrix<double>(6, 5, 1);
  const matrix<double> r = random_matrix<double>(6, 5, 2);
  auto loss = [&] {
    gatrec::row_normalize_context<double> c;
    return (gatrec::row_normalize_forward(x, c).array() * r.array()).sum();
  };
  gatrec::row_normalize_context<double> ctx;
  gatrec::row_normalize_forward(x, ctx);
  matrix<double> dx;
  gatrec::row_normalize_backward(ctx, r, dx);
  const auto check = gatrec::test::check_gradient(x.data(), dx.data(), x.size(), loss);
  EXPECT_LT(check.max_rel_error, 1e-6);
  EXPECT_GT(check.max_abs_grad, 0.0);
  // The gradient is orthogonal to each output row: moving along the row does not change it.
  for (index_t i = 0; i < 6; ++i) EXPECT_NEAR(dx.row(i).dot(x.row(i)), 0.0, 1e-12);
}

TEST(GatRecommender, NormalizedOutputGradientsMatchFiniteDifferences) {
  gatrec::rating_table t;
  const index_t users = 4, items = 5;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i < items; ++i)
      if ((u + 2 * i) % 3 != 0) t.push_back(u, i, static_cast<float>(1 + (u + i) % 5));
  gatrec::gat_recommender_options o;
  o.encoder.in_dim = 4;
  o.encoder.layers = {{2, 3, true}, {1, 3, true}};
  o.encoder.seed = 5;
  o.normalize_output = true;
  gatrec::gat_recommender<double> model(users, items, t, random_matrix<double>(users + items, 4, 3), o);
  const matrix<double> r = random_matrix<double>(users + items, 3, 4);
  auto loss = [&] { return (model.forward(gatrec::run_mode{}).array() * r.array()).sum(); };
  const matrix<double> h = model.forward(gatrec::run_mode{});
  for (index_t n = 0; n < users + items; ++n) EXPECT_NEAR(h.row(n).norm(), 1.0, 1e-12);
  auto params = model.parameters();
  gatrec::zero_grad(params);
  model.backward(r);
  gatrec::test::expect_parameter_gradients(params, loss, 1e-5);
  // Explanations read the raw encoder output, so they refuse such a model instead of misleading.
  EXPECT_THROW(gatrec::embedding_score(model, 0, 1), gatrec::logic_error);
  EXPECT_THROW(gatrec::edited_graph_scorer<double>{model}, gatrec::logic_error);
}

}  // namespace

}  // namespace test_row_normalize
