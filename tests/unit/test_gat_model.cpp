// Blocks (attention -> LayerNorm -> LeakyReLU -> + residual) and the model stack: finite-difference
// checks of every parameter and of the trainable input features.
#include <gatrec/nn/gat_model.hpp>

#include <gtest/gtest.h>

#include "support/gradient_check.hpp"
#include "support/random_graphs.hpp"

namespace test_gat_model {
namespace {

using gatrec::matrix;
using gatrec::test::random_matrix;

TEST(Linear, GradientsMatchFiniteDifferences) {
  gatrec::rng gen(1);
  gatrec::linear<double> lin("lin", 4, 3, true, gen);
  lin.bias().value = random_matrix<double>(1, 3, 2);
  matrix<double> x = random_matrix<double>(7, 4, 3);
  const matrix<double> r = random_matrix<double>(7, 3, 4);
  auto loss = [&] {
    matrix<double> y;
    lin.forward(x, y);
    return (y.array() * r.array()).sum();
  };
  gatrec::parameter_list<double> p;
  lin.collect(p);
  gatrec::zero_grad(p);
  matrix<double> dx = matrix<double>::Zero(7, 4);
  lin.backward(x, r, &dx);
  gatrec::test::expect_parameter_gradients(p, loss, 1e-6);
  EXPECT_LT(gatrec::test::check_gradient(x.data(), dx.data(), x.size(), loss).max_rel_error, 1e-6);
}

TEST(LayerNorm, GradientsMatchFiniteDifferences) {
  gatrec::layer_norm<double> ln("ln", 6);
  ln.gamma().value = random_matrix<double>(1, 6, 1);
  ln.beta().value = random_matrix<double>(1, 6, 2);
  matrix<double> x = random_matrix<double>(5, 6, 3);
  const matrix<double> r = random_matrix<double>(5, 6, 4);
  auto loss = [&] {
    matrix<double> y;
    gatrec::layer_norm<double>::context c;
    ln.forward(x, y, c);
    return (y.array() * r.array()).sum();
  };
  gatrec::parameter_list<double> p;
  ln.collect(p);
  gatrec::zero_grad(p);
  gatrec::layer_norm<double>::context ctx;
  matrix<double> y, dx;
  ln.forward(x, y, ctx);
  // Normalised rows have mean 0 and variance 1 before the affine part.
  EXPECT_NEAR(ctx.x_hat.row(0).mean(), 0.0, 1e-12);
  EXPECT_NEAR(ctx.x_hat.row(0).squaredNorm() / 6, 1.0, 1e-4);
  ln.backward(ctx, r, dx);
  gatrec::test::expect_parameter_gradients(p, loss, 1e-6);
  EXPECT_LT(gatrec::test::check_gradient(x.data(), dx.data(), x.size(), loss).max_rel_error, 1e-6);
}

struct block_case {
  gatrec::attention_form form;
  bool layer_norm;
  bool residual;
  int in_dim;  // equal to the output width: identity residual; otherwise a projection
};

void PrintTo(const block_case& c, std::ostream* os) {
  *os << (c.form == gatrec::attention_form::gat ? "gat" : "gatv2") << (c.layer_norm ? " norm" : "")
      << (c.residual ? " residual" : "") << " in_dim " << c.in_dim;
}

class BlockGradients : public ::testing::TestWithParam<block_case> {};

TEST_P(BlockGradients, MatchFiniteDifferences) {
  const auto c = GetParam();
  const auto g = gatrec::test::awkward_graph(10, 3, 1, 5);
  gatrec::block_options opt;
  opt.form = c.form;
  opt.attention = {c.in_dim, 2, 3, true, 1, 0.2, 0.0, true};
  opt.layer_norm = c.layer_norm;
  opt.residual = c.residual;
  gatrec::rng gen(3);
  gatrec::gat_block<double> block("block", opt, gen);
  gatrec::parameter_list<double> p;
  block.collect(p);
  for (auto* q : p)  // move LayerNorm and biases off their trivial initial values
    if (q->name.find("norm") != std::string::npos || q->name.find("bias") != std::string::npos)
      q->value += random_matrix<double>(q->value.rows(), q->value.cols(), 11, 0.3);
  matrix<double> x = random_matrix<double>(g.num_nodes(), c.in_dim, 6);
  const matrix<double> r = random_matrix<double>(g.num_nodes(), block.out_dim(), 7);
  auto loss = [&] {
    gatrec::gat_block<double>::context cc;
    matrix<double> y;
    block.forward(g, x, y, cc);
    return (y.array() * r.array()).sum();
  };
  gatrec::zero_grad(p);
  gatrec::gat_block<double>::context ctx;
  matrix<double> y;
  block.forward(g, x, y, ctx);
  matrix<double> dx = matrix<double>::Zero(x.rows(), x.cols());
  block.backward(ctx, r, &dx);
  EXPECT_EQ(block.has_projected_residual(), c.residual && c.in_dim != 6);
  gatrec::test::expect_parameter_gradients(p, loss, 1e-5);
  EXPECT_LT(gatrec::test::check_gradient(x.data(), dx.data(), x.size(), loss).max_rel_error, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Blocks, BlockGradients,
                         ::testing::Values(block_case{gatrec::attention_form::gatv2, true, true, 5},
                                           block_case{gatrec::attention_form::gatv2, true, true, 6},
                                           block_case{gatrec::attention_form::gat, true, true, 5},
                                           block_case{gatrec::attention_form::gat, false, false, 4},
                                           block_case{gatrec::attention_form::gatv2, false, true, 6}));

TEST(GatModel, PaperShapedStackGradientsMatchFiniteDifferences) {
  for (auto form : {gatrec::attention_form::gatv2, gatrec::attention_form::gat}) {
    SCOPED_TRACE(form == gatrec::attention_form::gat ? "gat" : "gatv2");
    const auto g = gatrec::test::awkward_graph(12, 3, 1, 9);
    gatrec::gat_model_options opt;
    opt.form = form;
    opt.in_dim = 6;
    opt.layers = {{2, 4, true}, {2, 4, true}, {1, 3, true}};  // 6 -> 8 -> 8 -> 3, like 384 -> 256 -> 256 -> 64
    gatrec::gat_model<double> model(opt);
    ASSERT_EQ(model.out_dim(), 3);
    auto params = model.parameters();
    for (auto* q : params)
      if (q->name.find("norm") != std::string::npos || q->name.find("bias") != std::string::npos)
        q->value += random_matrix<double>(q->value.rows(), q->value.cols(), 13, 0.3);
    matrix<double> x = random_matrix<double>(g.num_nodes(), 6, 2);
    const matrix<double> r = random_matrix<double>(g.num_nodes(), 3, 3);
    auto loss = [&] {
      gatrec::gat_model<double>::context cc;
      const auto& h = model.forward(g, x, cc);
      return (h.array() * r.array()).sum();
    };
    gatrec::zero_grad(params);
    gatrec::gat_model<double>::context ctx;
    model.forward(g, x, ctx);
    matrix<double> dx = matrix<double>::Zero(x.rows(), x.cols());
    model.backward(ctx, r, &dx);
    gatrec::test::expect_parameter_gradients(params, loss, 2e-5);
    EXPECT_LT(gatrec::test::check_gradient(x.data(), dx.data(), x.size(), loss).max_rel_error, 2e-5);
  }
}

TEST(GatModel, PaperOptionsGiveThePaperWidths) {
  const auto opt = gatrec::gat_model_options::paper();
  gatrec::gat_model<float> model(opt);
  ASSERT_EQ(model.num_layers(), 3u);
  EXPECT_EQ(model.block(0).in_dim(), 384);
  EXPECT_EQ(model.block(0).out_dim(), 256);
  EXPECT_EQ(model.block(1).out_dim(), 256);
  EXPECT_EQ(model.block(2).out_dim(), 64);
  EXPECT_TRUE(model.block(0).has_projected_residual());
  EXPECT_FALSE(model.block(1).has_projected_residual());
  EXPECT_TRUE(model.block(2).has_projected_residual());
  std::size_t count = 0;
  for (auto* p : model.parameters()) count += static_cast<std::size_t>(p->size());
  // Layer 1: W_src, W_dst 384x256 + their biases, a, W_e, bias (5 x 256), LayerNorm 2 x 256,
  // residual 384x256 + 256; layer 2 the same at 256 -> 256 without residual projection;
  // layer 3: 256 -> 64 with 1 head, LayerNorm and a residual projection.
  const std::size_t layer1 = 2 * 384 * 256 + 5 * 256 + 2 * 256 + 384 * 256 + 256;
  const std::size_t layer2 = 2 * 256 * 256 + 5 * 256 + 2 * 256;
  const std::size_t layer3 = 2 * 256 * 64 + 5 * 64 + 2 * 64 + 256 * 64 + 64;
  EXPECT_EQ(count, layer1 + layer2 + layer3);
}

}  // namespace

}  // namespace test_gat_model
