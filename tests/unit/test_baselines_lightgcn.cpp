// LightGCN: the normalised adjacency and the propagation worked out by hand on 2 users and 2 items,
// a finite-difference check of the manual backward in double, thread-count independence, the graph
// options, and a short training run through the trainer.

#include <gatrec/baselines/lightgcn.hpp>
#include <gatrec/train/trainer.hpp>

#include <gtest/gtest.h>

#include "support/gradient_check.hpp"
#include "support/random_graphs.hpp"

#include <cmath>

namespace test_baselines_lightgcn {
namespace {

using gatrec::index_t;
using gatrec::matrix;

// Users u0, u1 (nodes 0, 1), items i0, i1 (nodes 2, 3); edges u0-i0, u0-i1, u1-i1, and a rating 2
// of u1 on i0 that only the all-ratings graph contains.
gatrec::rating_table ratings() {
  gatrec::rating_table t;
  t.push_back(0, 0, 5.0f);
  t.push_back(0, 1, 4.0f);
  t.push_back(1, 1, 4.0f);
  t.push_back(1, 0, 2.0f);
  return t;
}

TEST(LightGcn, PropagationByHandOnTwoUsersAndTwoItems) {
  gatrec::lightgcn_options opt;
  opt.dim = 2;
  opt.layers = 2;
  opt.min_rating = 4.0f;  // liked only: u0-i0, u0-i1, u1-i1
  gatrec::lightgcn_recommender<double> model(2, 2, ratings(), opt);
  EXPECT_EQ(model.graph().num_edges(), 6);
  // Degrees: u0 2, u1 1, i0 1, i1 2. Â_{u0,i0} = 1/sqrt(2·1), Â_{u0,i1} = 1/sqrt(2·2),
  // Â_{u1,i1} = 1/sqrt(1·2), and symmetric.
  const double h = 1 / std::sqrt(2.0);
  matrix<double> a_hat(4, 4);
  a_hat << 0, 0, h, 0.5,  //
      0, 0, 0, h,         //
      h, 0, 0, 0,         //
      0.5, h, 0, 0;
  matrix<double> e0(4, 2);
  e0 << 1, -1, 2, 0.5, 3, 2, 4, -3;
  model.embedding().value = e0;

  // One step by hand, column 0: u0 = 3h + 4/2, u1 = 4h, i0 = 1h, i1 = 1/2 + 2h.
  matrix<double> e1;
  model.propagate(e0, e1);
  EXPECT_NEAR(e1(0, 0), 3 * h + 2, 1e-15);
  EXPECT_NEAR(e1(1, 0), 4 * h, 1e-15);
  EXPECT_NEAR(e1(2, 0), h, 1e-15);
  EXPECT_NEAR(e1(3, 0), 0.5 + 2 * h, 1e-15);
  EXPECT_LT((e1 - a_hat * e0).cwiseAbs().maxCoeff(), 1e-15);

  // Output: the mean of E0, ÂE0, Â²E0.
  const matrix<double> expected = (e0 + a_hat * e0 + a_hat * a_hat * e0) / 3.0;
  const matrix<double>& out = model.forward({});
  EXPECT_LT((out - expected).cwiseAbs().maxCoeff(), 1e-14) << out;

  // The all-ratings graph adds u1-i0: degrees become 2, 2, 2, 2 and every weight 1/2.
  opt.min_rating = std::nullopt;
  gatrec::lightgcn_recommender<double> all(2, 2, ratings(), opt);
  EXPECT_EQ(all.graph().num_edges(), 8);
  for (double w : all.edge_weights()) EXPECT_EQ(w, 0.5);
}

TEST(LightGcn, RepeatedRatingsAndIsolatedNodes) {
  gatrec::rating_table t = ratings();
  t.push_back(0, 0, 3.0f);  // u0 rated i0 twice: still one edge, degree unchanged
  gatrec::lightgcn_options opt;
  opt.dim = 3;
  opt.layers = 3;
  gatrec::lightgcn_recommender<double> model(3, 3, t, opt);  // user 2 and item 2 have no ratings
  EXPECT_EQ(model.graph().num_edges(), 8);
  for (double w : model.edge_weights()) EXPECT_EQ(w, 0.5);
  const matrix<double> e0 = model.embedding().value;
  const matrix<double>& out = model.forward({});
  // An isolated node keeps only its E_0 term: E_0 / (K + 1).
  EXPECT_LT((out.row(2) - e0.row(2) / 4.0).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LT((out.row(5) - e0.row(5) / 4.0).cwiseAbs().maxCoeff(), 1e-15);
}

// A random bipartite rating table with a heavy user and an unrated item.
gatrec::rating_table random_ratings(index_t users, index_t items, std::uint64_t seed) {
  gatrec::rng gen(seed);
  gatrec::rating_table t;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i + 1 < items; ++i)
      if (u == 0 || gen.uniform() < 0.3) t.push_back(u, i, static_cast<float>(1 + gen.below(5)));
  return t;
}

TEST(LightGcn, GradientMatchesFiniteDifferences) {
  for (int layers : {0, 1, 3}) {
    gatrec::lightgcn_options opt;
    opt.dim = 3;
    opt.layers = layers;
    opt.init_std = 1.0;
    gatrec::lightgcn_recommender<double> model(6, 7, random_ratings(6, 7, 3), opt);
    const matrix<double> r = gatrec::test::random_matrix<double>(13, 3, 4);
    auto loss = [&] {
      const matrix<double>& out = model.forward({});
      return (out.array() * out.array() * r.array()).sum();  // non-linear in the output
    };
    const gatrec::parameter_list<double> params = model.parameters();
    ASSERT_EQ(params.size(), 1u);
    gatrec::zero_grad(params);
    const matrix<double> out = model.forward({});
    const matrix<double> grad = 2.0 * out.cwiseProduct(r);
    model.backward(grad);
    // 1e-6: the central difference's rounding is ~1e-16 |L| / eps = 1e-10 |L| absolute, which
    // reached 1.35e-7 of a small gradient entry on one -march=native build (a wrong term is O(1)).
    gatrec::test::expect_parameter_gradients(params, loss, 1e-6);
    // backward adds: a second call doubles the gradient.
    const matrix<double> once = params[0]->grad;
    model.backward(grad);
    EXPECT_LT((params[0]->grad - 2.0 * once).cwiseAbs().maxCoeff(), 1e-12) << "layers " << layers;
  }
}

TEST(LightGcn, SameOutputForAnyThreadCount) {
  gatrec::lightgcn_options opt;
  opt.dim = 16;
  gatrec::lightgcn_recommender<float> model(400, 300, random_ratings(400, 300, 5), opt);
  const matrix<float> g = gatrec::test::random_matrix<float>(700, 16, 6);
  const int saved = gatrec::max_threads();
  gatrec::set_num_threads(1);
  const matrix<float> out1 = model.forward({});
  gatrec::zero_grad(model.parameters());
  model.backward(g);
  const matrix<float> grad1 = model.embedding().grad;
  gatrec::set_num_threads(std::max(2, saved));
  const matrix<float> out2 = model.forward({});
  gatrec::zero_grad(model.parameters());
  model.backward(g);
  gatrec::set_num_threads(saved);
  EXPECT_TRUE(out1 == out2);
  EXPECT_TRUE(grad1 == model.embedding().grad);
  EXPECT_GT(out1.cwiseAbs().maxCoeff(), 0.0f);
}

TEST(LightGcn, OptionsAreCheckedAndDescribed) {
  gatrec::lightgcn_options opt;
  opt.layers = -1;
  EXPECT_THROW(gatrec::lightgcn_recommender<float>(2, 2, ratings(), opt), gatrec::logic_error);
  opt = gatrec::lightgcn_options();
  opt.dim = 0;
  EXPECT_THROW(gatrec::lightgcn_recommender<float>(2, 2, ratings(), opt), gatrec::logic_error);
  EXPECT_THROW(gatrec::lightgcn_recommender<float>(2, 1, ratings()), gatrec::logic_error);
  gatrec::lightgcn_recommender<float> model(2, 2, ratings());
  EXPECT_THROW(model.backward(matrix<float>::Zero(3, 64)), gatrec::logic_error);
  const gatrec::checkpoint_metadata meta = model.describe();
  EXPECT_EQ(meta.at("model"), "lightgcn");
  EXPECT_EQ(meta.at("layers"), "3");
  EXPECT_EQ(meta.at("dim"), "64");
  EXPECT_EQ(meta.at("graph_min_rating"), "all");
  // Same seed, same initialisation.
  gatrec::lightgcn_recommender<float> again(2, 2, ratings());
  EXPECT_TRUE(model.embedding().value == again.embedding().value);
}

TEST(LightGcn, TrainsWithTheTrainer) {
  gatrec::rating_table t = random_ratings(30, 40, 8);
  for (auto& r : t.rating) r = r >= 3.0f ? 5.0f : r;  // enough liked pairs
  gatrec::lightgcn_options opt;
  opt.dim = 8;
  gatrec::lightgcn_recommender<float> model(30, 40, t, opt);
  gatrec::trainer_options topt;
  topt.max_epochs = 20;
  topt.loss.cosine_weight = 0.0;  // BPR only, as in the LightGCN paper
  topt.optimizer.lr = 0.01;
  const gatrec::training_result result = gatrec::train(model, t, gatrec::rating_table(), topt);
  ASSERT_EQ(result.history.size(), 20u);
  EXPECT_LT(result.history.back().loss, result.history.front().loss);
}

}  // namespace

}  // namespace test_baselines_lightgcn
