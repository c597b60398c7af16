// Matrix factorisation: the forward pass is the table, backward adds the gradient, initialisation is
// seeded N(0, std²), and BPR-MF trains through the trainer.

#include <gatrec/baselines/matrix_factorization.hpp>
#include <gatrec/train/trainer.hpp>

#include <gtest/gtest.h>

#include "support/random_graphs.hpp"

#include <cmath>

namespace test_baselines_mf {
namespace {

using gatrec::matrix;

TEST(MatrixFactorization, ForwardIsTheTableAndBackwardAddsTheGradient) {
  gatrec::mf_options opt;
  opt.dim = 4;
  gatrec::mf_recommender<double> model(3, 5, opt);
  EXPECT_EQ(model.name(), "mf");
  EXPECT_EQ(model.num_users(), 3);
  EXPECT_EQ(model.num_items(), 5);
  const gatrec::parameter_list<double> params = model.parameters();
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0], &model.embedding());
  const matrix<double>& out = model.forward({});
  EXPECT_EQ(&out, &model.embedding().value);
  EXPECT_EQ(out.rows(), 8);
  EXPECT_EQ(out.cols(), 4);

  gatrec::zero_grad(params);
  const matrix<double> g = gatrec::test::random_matrix<double>(8, 4, 1);
  model.backward(g);
  EXPECT_EQ(model.embedding().grad, g);
  model.backward(g);
  EXPECT_EQ(model.embedding().grad, 2.0 * g);
  EXPECT_THROW(model.backward(matrix<double>::Zero(8, 3)), gatrec::logic_error);
}

TEST(MatrixFactorization, SeededNormalInitialisation) {
  gatrec::mf_options opt;
  opt.dim = 50;
  opt.init_std = 0.1;
  opt.seed = 7;
  const gatrec::mf_recommender<float> a(100, 100, opt), b(100, 100, opt);
  EXPECT_TRUE(a.embedding().value == b.embedding().value);
  opt.seed = 8;
  const gatrec::mf_recommender<float> c(100, 100, opt);
  EXPECT_FALSE(a.embedding().value == c.embedding().value);
  const matrix<double> v = a.embedding().value.cast<double>();
  const double mean = v.mean();
  const double std = std::sqrt((v.array() - mean).square().mean());
  EXPECT_NEAR(mean, 0.0, 0.005);  // 10,000 draws: the mean's standard error is 0.001
  EXPECT_NEAR(std, 0.1, 0.005);
  EXPECT_THROW(gatrec::mf_recommender<float>(2, 2, gatrec::mf_options{0, 0.1, 1}), gatrec::logic_error);
  EXPECT_EQ(a.describe().at("dim"), "50");
}

TEST(MatrixFactorization, BprMfTrainsWithTheTrainer) {
  gatrec::rng gen(3);
  gatrec::rating_table t;
  for (gatrec::index_t u = 0; u < 30; ++u)
    for (gatrec::index_t i = 0; i < 40; ++i)
      if (gen.uniform() < 0.3) t.push_back(u, i, gen.uniform() < 0.7 ? 5.0f : 1.0f);
  gatrec::mf_options opt;
  opt.dim = 8;
  gatrec::mf_recommender<float> model(30, 40, opt);
  gatrec::trainer_options topt;
  topt.max_epochs = 20;
  topt.loss.cosine_weight = 0.0;  // BPR only: BPR-MF
  topt.optimizer.lr = 0.01;
  const gatrec::training_result result = gatrec::train(model, t, gatrec::rating_table(), topt);
  ASSERT_EQ(result.history.size(), 20u);
  EXPECT_LT(result.history.back().loss, result.history.front().loss);
}

}  // namespace

}  // namespace test_baselines_mf
