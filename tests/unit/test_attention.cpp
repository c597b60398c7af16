// Attention layers: finite-difference gradient checks (double), float/double agreement, thread-count
// determinism, and hand-checked special cases.
#include <gatrec/core/parallel.hpp>
#include <gatrec/nn/attention.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>

#include "support/gradient_check.hpp"
#include "support/random_graphs.hpp"

namespace test_attention {
namespace {

using gatrec::attention_form;
using gatrec::attention_options;
using gatrec::csr_graph;
using gatrec::matrix;
using gatrec::run_mode;
using gatrec::test::random_matrix;

struct case_params {
  attention_form form;
  bool concat;
  int edge_dim;
  double dropout;
  bool bias;
  bool self_loops;
};

std::string name_of(const case_params& c) {
  return std::string(c.form == attention_form::gat ? "gat" : "gatv2") + (c.concat ? "_concat" : "_mean") +
         "_edge" + std::to_string(c.edge_dim) + (c.dropout > 0 ? "_dropout" : "") + (c.bias ? "_bias" : "") +
         (c.self_loops ? "_loops" : "");
}

template <class Scalar, class Policy>
gatrec::attention_layer<Scalar, Policy> make_layer(const case_params& c, int in_dim, int heads, int head_dim) {
  attention_options opt;
  opt.in_dim = in_dim;
  opt.heads = heads;
  opt.head_dim = head_dim;
  opt.concat = c.concat;
  opt.edge_dim = c.edge_dim;
  opt.dropout = c.dropout;
  opt.bias = c.bias;
  gatrec::rng gen(5);
  gatrec::attention_layer<Scalar, Policy> layer("conv", opt, gen);
  // Non-zero biases so their effect is visible in the checks.
  for (auto* p : [&] { gatrec::parameter_list<Scalar> l; layer.collect(l); return l; }())
    if (p->name.find("bias") != std::string::npos) p->value = random_matrix<Scalar>(p->value.rows(), p->value.cols(), 77, 0.1);
  return layer;
}

template <class Policy>
void check_layer_gradients(const case_params& c) {
  SCOPED_TRACE(name_of(c));
  const int in_dim = 5, heads = 3, head_dim = 4;
  gatrec::graph_options gopt;
  gopt.add_self_loops = c.self_loops;
  const csr_graph g = gatrec::test::awkward_graph(9, 3, std::max(c.edge_dim, 1), 21, gopt);
  auto layer = make_layer<double, Policy>(c, in_dim, heads, head_dim);
  matrix<double> x = random_matrix<double>(g.num_nodes(), in_dim, 3);
  const matrix<double> r = random_matrix<double>(g.num_nodes(), layer.out_dim(), 4);  // L = sum(r .* y)
  const run_mode mode{c.dropout > 0, 99, 7};

  typename gatrec::attention_layer<double, Policy>::context ctx;
  matrix<double> y;
  auto loss = [&] {
    typename gatrec::attention_layer<double, Policy>::context scratch;
    matrix<double> out;
    layer.forward(g, x, out, scratch, mode);
    return (out.array() * r.array()).sum();
  };
  gatrec::parameter_list<double> params;
  layer.collect(params);
  gatrec::zero_grad(params);
  layer.forward(g, x, y, ctx, mode);
  ASSERT_TRUE(y.allFinite());
  matrix<double> dx = matrix<double>::Zero(x.rows(), x.cols());
  layer.backward(ctx, r, &dx);

  gatrec::test::expect_parameter_gradients(params, loss, 1e-5);
  const auto rx = gatrec::test::check_gradient(x.data(), dx.data(), static_cast<std::size_t>(x.size()), loss);
  EXPECT_LT(rx.max_rel_error, 1e-5) << "input gradient";
  EXPECT_GT(rx.max_abs_grad, 0.0);
}

// Readable parameter values in CTest's test names.
void PrintTo(const case_params& c, std::ostream* os) { *os << name_of(c); }

class AttentionGradients : public ::testing::TestWithParam<case_params> {};

TEST_P(AttentionGradients, MatchFiniteDifferences) {
  const auto c = GetParam();
  if (c.form == attention_form::gat)
    check_layer_gradients<gatrec::gat_policy>(c);
  else
    check_layer_gradients<gatrec::gatv2_policy>(c);
}

std::vector<case_params> all_cases() {
  std::vector<case_params> cases;
  for (auto form : {attention_form::gat, attention_form::gatv2})
    for (bool concat : {true, false})
      for (int edge_dim : {0, 1, 2})
        for (double dropout : {0.0, 0.3}) cases.push_back({form, concat, edge_dim, dropout, true, false});
  cases.push_back({attention_form::gat, true, 1, 0.0, false, true});
  cases.push_back({attention_form::gatv2, true, 1, 0.0, false, true});
  cases.push_back({attention_form::gatv2, false, 1, 0.2, true, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllForms, AttentionGradients, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return name_of(info.param); });

// Copies parameter values from a double layer into a float layer of the same shape.
template <class Policy>
void copy_parameters(gatrec::attention_layer<double, Policy>& from, gatrec::attention_layer<float, Policy>& to) {
  gatrec::parameter_list<double> a;
  gatrec::parameter_list<float> b;
  from.collect(a);
  to.collect(b);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) b[k]->value = a[k]->value.template cast<float>();
}

template <class Policy>
void check_float_matches_double(const case_params& c) {
  const csr_graph g = gatrec::test::awkward_graph(200, 8, 1, 8);
  auto ld = make_layer<double, Policy>(c, 16, 4, 8);
  auto lf = make_layer<float, Policy>(c, 16, 4, 8);
  copy_parameters(ld, lf);
  const matrix<double> xd = random_matrix<double>(g.num_nodes(), 16, 1);
  const matrix<float> xf = xd.cast<float>();
  const matrix<double> rd = random_matrix<double>(g.num_nodes(), ld.out_dim(), 2);
  const matrix<float> rf = rd.cast<float>();
  typename gatrec::attention_layer<double, Policy>::context cd;
  typename gatrec::attention_layer<float, Policy>::context cf;
  matrix<double> yd;
  matrix<float> yf;
  ld.forward(g, xd, yd, cd);
  lf.forward(g, xf, yf, cf);
  EXPECT_LT((yf.cast<double>() - yd).norm() / yd.norm(), 1e-5);
  matrix<double> dxd = matrix<double>::Zero(xd.rows(), xd.cols());
  matrix<float> dxf = matrix<float>::Zero(xf.rows(), xf.cols());
  ld.backward(cd, rd, &dxd);
  lf.backward(cf, rf, &dxf);
  EXPECT_LT((dxf.cast<double>() - dxd).norm() / dxd.norm(), 1e-4);
  gatrec::parameter_list<double> pd;
  gatrec::parameter_list<float> pf;
  ld.collect(pd);
  lf.collect(pf);
  for (std::size_t k = 0; k < pd.size(); ++k)
    EXPECT_LT((pf[k]->grad.cast<double>() - pd[k]->grad).norm() / pd[k]->grad.norm(), 1e-4) << pd[k]->name;
}

TEST(Attention, FloatAgreesWithDouble) {
  check_float_matches_double<gatrec::gat_policy>({attention_form::gat, true, 1, 0.0, true, false});
  check_float_matches_double<gatrec::gatv2_policy>({attention_form::gatv2, false, 1, 0.0, true, false});
}

template <class Policy>
void check_thread_determinism() {
  const csr_graph g = gatrec::test::awkward_graph(3000, 10, 1, 4);
  const case_params c{Policy::form, true, 1, 0.1, true, false};
  auto run = [&](int threads) {
    gatrec::set_num_threads(threads);
    auto layer = make_layer<float, Policy>(c, 24, 4, 8);
    const matrix<float> x = random_matrix<float>(g.num_nodes(), 24, 1);
    const matrix<float> r = random_matrix<float>(g.num_nodes(), layer.out_dim(), 2);
    typename gatrec::attention_layer<float, Policy>::context ctx;
    matrix<float> y;
    layer.forward(g, x, y, ctx, run_mode{true, 3, 1});
    matrix<float> dx = matrix<float>::Zero(x.rows(), x.cols());
    layer.backward(ctx, r, &dx);
    gatrec::parameter_list<float> p;
    layer.collect(p);
    std::vector<matrix<float>> out{y, dx};
    for (auto* q : p) out.push_back(q->grad);
    return out;
  };
  const auto one = run(1);
  const auto two = run(2);
  const auto four = run(4);
  gatrec::set_num_threads(gatrec::max_threads());
  for (std::size_t k = 0; k < one.size(); ++k) {
    EXPECT_TRUE(one[k] == two[k]) << "tensor " << k << " differs between 1 and 2 threads";
    EXPECT_TRUE(one[k] == four[k]) << "tensor " << k << " differs between 1 and 4 threads";
  }
}

TEST(Attention, BitIdenticalForAnyThreadCount) {
  check_thread_determinism<gatrec::gat_policy>();
  check_thread_determinism<gatrec::gatv2_policy>();
}

TEST(Attention, NodeWithoutInEdgesOutputsOnlyTheBias) {
  const csr_graph g(3, {1, 2}, {2, 1}, {1.0f, 2.0f}, 1);  // node 0 receives nothing
  const case_params c{attention_form::gatv2, true, 1, 0.0, true, false};
  auto layer = make_layer<double, gatrec::gatv2_policy>(c, 4, 2, 3);
  const matrix<double> x = random_matrix<double>(3, 4, 1);
  gatrec::gatv2_layer<double>::context ctx;
  matrix<double> y;
  layer.forward(g, x, y, ctx);
  ASSERT_TRUE(y.allFinite());
  EXPECT_TRUE(y.row(0).isApprox(layer.bias().value.row(0)));
}

TEST(Attention, SingleInEdgeGetsWeightOneAndCopiesTheMessage) {
  // One edge 0 -> 1: softmax over one term is 1, so y_1 = W x_0 (GAT, no bias).
  const csr_graph g(2, {0}, {1}, {}, 0);
  const case_params c{attention_form::gat, true, 0, 0.0, false, false};
  auto layer = make_layer<double, gatrec::gat_policy>(c, 3, 2, 2);
  const matrix<double> x = random_matrix<double>(2, 3, 9);
  gatrec::gat_layer<double>::context ctx;
  matrix<double> y;
  layer.forward(g, x, y, ctx);
  EXPECT_DOUBLE_EQ(ctx.alpha[0], 1.0);
  EXPECT_DOUBLE_EQ(ctx.alpha[1], 1.0);
  const matrix<double> expected = x.row(0) * layer.weight().value;
  EXPECT_TRUE(y.row(1).isApprox(expected.row(0), 1e-12));
}

TEST(Attention, LargeLogitsStayFinite) {
  const csr_graph g = gatrec::test::awkward_graph(50, 5, 1, 2);
  const case_params c{attention_form::gat, true, 1, 0.0, true, false};
  auto layer = make_layer<float, gatrec::gat_policy>(c, 8, 2, 4);
  const matrix<float> x = random_matrix<float>(g.num_nodes(), 8, 3, 1e4);  // scores ~1e4: exp overflows without max subtraction
  gatrec::gat_layer<float>::context ctx;
  matrix<float> y;
  layer.forward(g, x, y, ctx);
  EXPECT_TRUE(y.allFinite());
  for (float a : ctx.alpha) ASSERT_TRUE(std::isfinite(a) && a >= 0.0f && a <= 1.0f);
}

TEST(Attention, RejectsMismatchedShapes) {
  const csr_graph g = gatrec::test::awkward_graph(10, 2, 2, 1);
  const case_params c{attention_form::gat, true, 1, 0.0, true, false};
  auto layer = make_layer<double, gatrec::gat_policy>(c, 4, 2, 2);
  gatrec::gat_layer<double>::context ctx;
  matrix<double> y;
  EXPECT_THROW(layer.forward(g, random_matrix<double>(10, 5, 1), y, ctx), gatrec::logic_error);  // in_dim
  EXPECT_THROW(layer.forward(g, random_matrix<double>(9, 4, 1), y, ctx), gatrec::logic_error);   // rows
  EXPECT_THROW(layer.forward(g, random_matrix<double>(10, 4, 1), y, ctx), gatrec::logic_error);  // edge_dim 2 vs 1
}

TEST(EdgeSoftmax, MatchesHandComputedValues) {
  // Node 2 receives edges with logits 0, ln 2, ln 3 (one head): weights 1/6, 2/6, 3/6.
  const csr_graph g(3, {0, 1, 1}, {2, 2, 2}, {}, 0);
  std::vector<double> logits{0.0, std::log(2.0), std::log(3.0)}, alpha(3);
  gatrec::edge_softmax_forward(g, 1, logits.data(), alpha.data());
  EXPECT_NEAR(alpha[0], 1.0 / 6, 1e-15);
  EXPECT_NEAR(alpha[1], 2.0 / 6, 1e-15);
  EXPECT_NEAR(alpha[2], 3.0 / 6, 1e-15);
  // Backward against finite differences of L = sum(c .* alpha).
  const std::vector<double> c{0.3, -1.0, 2.0};
  std::vector<double> dl(3);
  gatrec::edge_softmax_backward(g, 1, alpha.data(), c.data(), dl.data());
  for (int k = 0; k < 3; ++k) {
    auto f = [&](double delta) {
      auto l = logits;
      l[k] += delta;
      std::vector<double> a(3);
      gatrec::edge_softmax_forward(g, 1, l.data(), a.data());
      return c[0] * a[0] + c[1] * a[1] + c[2] * a[2];
    };
    EXPECT_NEAR(dl[k], (f(1e-6) - f(-1e-6)) / 2e-6, 1e-8);
  }
}

}  // namespace

}  // namespace test_attention
