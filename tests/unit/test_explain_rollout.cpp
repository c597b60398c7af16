// Attention rollout: a two-layer graph worked out by hand, the residual-free variant, and a real
// encoder's forward pass against a dense product of the per-layer mixing matrices.
#include <gatrec/core/random.hpp>
#include <gatrec/explain/attention_rollout.hpp>
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/nn/gat_model.hpp>

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace test_explain_rollout {
namespace {

using gatrec::index_t;
using gatrec::layer_attention;
using gatrec::node_weight;

// Edges in destination order: e0 1->0, e1 2->0, e2 3->1, e3 0->1, e4 2->3. Node 2 has no in-edges.
gatrec::csr_graph hand_graph() { return gatrec::csr_graph(4, {1, 2, 3, 0, 2}, {0, 0, 1, 1, 3}, {}, 0); }

struct hand_layers {
  std::vector<double> first{0.2, 0.4, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0};  // (5 edges, 2 heads)
  std::vector<double> second{0.6, 0.4, 0.1, 0.9, 1.0};                          // (5 edges, 1 head)
  std::vector<layer_attention<double>> layers(double rho) const {
    return {{&first, 2, rho}, {&second, 1, rho}};
  }
};

void expect_weights(const std::vector<node_weight>& got, const std::vector<node_weight>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    EXPECT_EQ(got[k].node, want[k].node) << "rank " << k;
    EXPECT_NEAR(got[k].weight, want[k].weight, 1e-15) << "rank " << k;
  }
}

TEST(AttentionRollout, TwoLayerGraphByHand) {
  // Layer 2 (last), from target 0: self 1/2; node 1: 1/2 * 0.6; node 2: 1/2 * 0.4.
  // Layer 1, head means: e0 0.3, e1 0.7, e2 0.5, e3 0.5, e4 1.
  //   node 0 (0.5): self 0.25, node 1 += 0.5*0.5*0.3 = 0.075, node 2 += 0.5*0.5*0.7 = 0.175
  //   node 1 (0.3): self 0.15, node 3 += 0.3*0.5*0.5 = 0.075, node 0 += 0.075
  //   node 2 (0.2): no in-edges, keeps 0.2
  // Totals: node 2 0.375, node 0 0.325, node 1 0.225, node 3 0.075 (sum 1).
  const hand_layers h;
  const auto w = gatrec::attention_rollout(hand_graph(), h.layers(0.5), 0);
  expect_weights(w, {{2, 0.375}, {0, 0.325}, {1, 0.225}, {3, 0.075}});
  double sum = 0;
  for (const auto& x : w) sum += x.weight;
  EXPECT_NEAR(sum, 1.0, 1e-15);
}

TEST(AttentionRollout, WithoutResidualTheWeightOfANodeWithoutInEdgesIsDropped) {
  // Layer 2: node 1 0.6, node 2 0.4. Layer 1: node 1 -> node 3 0.3, node 0 0.3; node 2 has no
  // in-edges and no residual: its output is the bias alone, nothing flows back.
  const hand_layers h;
  expect_weights(gatrec::attention_rollout(hand_graph(), h.layers(0.0), 0), {{0, 0.3}, {3, 0.3}});
}

TEST(AttentionRollout, MinWeightAndTargetWithoutInEdges) {
  const hand_layers h;
  gatrec::rollout_options opt;
  opt.min_weight = 0.2;
  expect_weights(gatrec::attention_rollout(hand_graph(), h.layers(0.5), 0, opt), {{2, 0.375}, {0, 0.325}, {1, 0.225}});
  expect_weights(gatrec::attention_rollout(hand_graph(), h.layers(0.5), 2), {{2, 1.0}});
}

TEST(AttentionRollout, LayerWeightsAndEdgeFlowsByHand) {
  // Outputs of layer 2: {0: 1}; of layer 1: {0: 0.5, 1: 0.3, 2: 0.2} (see TwoLayerGraphByHand).
  const hand_layers h;
  const auto layers = h.layers(0.5);
  const auto by_layer = gatrec::rollout_by_layer(hand_graph(), layers, 0);
  ASSERT_EQ(by_layer.size(), 2u);
  EXPECT_EQ(by_layer[1], (std::vector<node_weight>{{0, 1.0}}));
  ASSERT_EQ(by_layer[0].size(), 3u);
  EXPECT_NEAR(by_layer[0][1].weight, 0.3, 1e-15);
  // e0 (1 -> 0): layer 2: 0.5 * 1 * 0.6 = 0.3; layer 1: 0.5 * 0.5 * 0.3 = 0.075.
  EXPECT_NEAR(gatrec::edge_flow(hand_graph(), layers, by_layer, {0}), 0.375, 1e-15);
  // e3 (0 -> 1): layer 2: node 1 has no weight yet; layer 1: 0.5 * 0.3 * 0.5 = 0.075.
  EXPECT_NEAR(gatrec::edge_flow(hand_graph(), layers, by_layer, {3}), 0.075, 1e-15);
  EXPECT_NEAR(gatrec::edge_flow(hand_graph(), layers, by_layer, {0, 3}), 0.45, 1e-15);
  EXPECT_EQ(gatrec::edge_flow(hand_graph(), layers, by_layer, {}), 0.0);
  EXPECT_THROW(gatrec::edge_flow(hand_graph(), layers, by_layer, {5}), gatrec::logic_error);
  EXPECT_THROW(gatrec::edge_flow(hand_graph(), h.layers(0.5), {by_layer[0]}, {0}), gatrec::logic_error);
}

TEST(AttentionRollout, RejectsBadArguments) {
  const hand_layers h;
  EXPECT_THROW(gatrec::attention_rollout(hand_graph(), h.layers(0.5), 4), gatrec::logic_error);
  EXPECT_THROW(gatrec::attention_rollout(hand_graph(), h.layers(1.5), 0), gatrec::logic_error);
  std::vector<double> short_alpha{0.5};
  const std::vector<layer_attention<double>> bad{{&short_alpha, 1, 0.5}};
  EXPECT_THROW(gatrec::attention_rollout(hand_graph(), bad, 0), gatrec::logic_error);
}

// A random bipartite-like graph with self-loops, through a real three-layer encoder.
struct encoder_case {
  gatrec::csr_graph graph;
  gatrec::gat_model<double> model;
  gatrec::matrix<double> x;
  gatrec::gat_model<double>::context ctx;
};

// Filled in place: the forward context points at c.graph and c.x.
void make_encoder_case(encoder_case& c, gatrec::attention_form form, bool residual) {
  gatrec::rng gen(9);
  std::vector<index_t> src, dst;
  std::vector<float> feat;
  const index_t n = 14;
  for (int e = 0; e < 40; ++e) {
    const auto s = static_cast<index_t>(gen.below(n - 1)), d = static_cast<index_t>(gen.below(n - 1));
    if (s == d) continue;
    src.push_back(s);
    dst.push_back(d);
    feat.push_back(static_cast<float>(1 + gen.below(5)));
  }
  gatrec::graph_options g;
  g.add_self_loops = true;
  c.graph = gatrec::csr_graph(n, src, dst, feat, 1, g);
  gatrec::gat_model_options o;
  o.form = form;
  o.in_dim = 6;
  o.layers = {{2, 4, true}, {3, 4, true}, {1, 5, true}};
  o.residual = residual;
  o.seed = 3;
  c.model = gatrec::gat_model<double>(o);
  c.x.resize(n, 6);
  for (index_t i = 0; i < n; ++i)
    for (int k = 0; k < 6; ++k) c.x(i, k) = gen.uniform() - 0.5;
  c.model.forward(c.graph, c.x, c.ctx);
}

// R = M_L ... M_1 with dense M_l = rho I + (1 - rho) Abar_l.
Eigen::MatrixXd dense_rollout(const encoder_case& c, double rho) {
  const index_t n = c.graph.num_nodes();
  Eigen::MatrixXd r = Eigen::MatrixXd::Identity(n, n);
  for (std::size_t l = 0; l < c.model.num_layers(); ++l) {
    const auto& block = c.model.block(l);
    const auto& alpha = block.attention_weights(c.ctx.blocks[l]);
    const int heads = block.options().attention.heads;
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
    for (gatrec::offset_t e = 0; e < c.graph.num_edges(); ++e) {
      double mean = 0;
      for (int h = 0; h < heads; ++h) mean += alpha[static_cast<std::size_t>(e) * heads + h] / heads;
      a(c.graph.in_destinations()[static_cast<std::size_t>(e)], c.graph.in_sources()[static_cast<std::size_t>(e)]) += mean;
    }
    const Eigen::MatrixXd m = rho * Eigen::MatrixXd::Identity(n, n) + (1 - rho) * a;
    r = m * r;
  }
  return r;
}

class RolloutOfEncoder : public ::testing::TestWithParam<std::tuple<gatrec::attention_form, bool>> {};

TEST_P(RolloutOfEncoder, MatchesTheDenseProductOfMixingMatrices) {
  const auto [form, residual] = GetParam();
  encoder_case c;
  make_encoder_case(c, form, residual);
  const double rho = residual ? 0.5 : 0.0;
  const Eigen::MatrixXd r = dense_rollout(c, rho);
  for (index_t t = 0; t < c.graph.num_nodes(); ++t) {
    const auto w = gatrec::attention_rollout(c.model, c.ctx, c.graph, t);
    Eigen::VectorXd got = Eigen::VectorXd::Zero(c.graph.num_nodes());
    for (std::size_t k = 0; k < w.size(); ++k) {
      got(w[k].node) = w[k].weight;
      if (k > 0) {
        EXPECT_TRUE(w[k - 1].weight > w[k].weight || (w[k - 1].weight == w[k].weight && w[k - 1].node < w[k].node));
      }
    }
    EXPECT_LT((got - r.row(t).transpose()).cwiseAbs().maxCoeff(), 1e-13) << "target " << t;
    // Self-loops everywhere: every row of every Abar sums to one, so the weights do too.
    EXPECT_NEAR(got.sum(), 1.0, 1e-12);
    EXPECT_GT(got.maxCoeff(), 0.0);
    // Each layer passes (1 - rho) of the target's whole weight through its edges.
    const auto layers = gatrec::rollout_layers(c.model, c.ctx, c.graph);
    std::vector<gatrec::offset_t> all(static_cast<std::size_t>(c.graph.num_edges()));
    std::iota(all.begin(), all.end(), gatrec::offset_t(0));
    EXPECT_NEAR(gatrec::edge_flow(c.graph, layers, gatrec::rollout_by_layer(c.graph, layers, t), all),
                static_cast<double>(c.model.num_layers()) * (1 - rho), 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, RolloutOfEncoder,
                         ::testing::Combine(::testing::Values(gatrec::attention_form::gat, gatrec::attention_form::gatv2),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == gatrec::attention_form::gat ? "Gat" : "Gatv2") +
                                  (std::get<1>(info.param) ? "Residual" : "NoResidual");
                         });

TEST(RolloutOfEncoder, RejectsAContextFromAnotherGraphOrADropoutPass) {
  encoder_case c;
  make_encoder_case(c, gatrec::attention_form::gatv2, true);
  const gatrec::csr_graph other = c.graph.without_edges({0});
  EXPECT_THROW(gatrec::attention_rollout(c.model, c.ctx, other, 0), gatrec::logic_error);
  gatrec::gat_model<double>::context empty;
  EXPECT_THROW(gatrec::attention_rollout(c.model, empty, c.graph, 0), gatrec::logic_error);

  gatrec::gat_model_options o = c.model.options();
  o.dropout = 0.3;
  gatrec::gat_model<double> dropping(o);
  gatrec::gat_model<double>::context ctx;
  gatrec::run_mode training;
  training.training = true;
  dropping.forward(c.graph, c.x, ctx, training);
  EXPECT_THROW(gatrec::attention_rollout(dropping, ctx, c.graph, 0), gatrec::logic_error);
  dropping.forward(c.graph, c.x, ctx);
  EXPECT_NO_THROW(gatrec::attention_rollout(dropping, ctx, c.graph, 0));
}

TEST(RolloutOfRecommender, UsesTheModelsGraphAndLastForwardPass) {
  gatrec::rating_table r;
  r.push_back(0, 0, 5);
  r.push_back(0, 1, 3);
  r.push_back(1, 1, 4);
  r.push_back(2, 2, 1);
  gatrec::gat_recommender_options o;
  o.encoder.in_dim = 4;
  o.encoder.layers = {{2, 3, true}, {1, 3, true}};
  gatrec::gat_recommender<double> model(3, 3, r, {}, o);
  model.forward(gatrec::run_mode{});
  const auto w = gatrec::attention_rollout(model, model.graph().user_node(0));
  double sum = 0;
  for (const auto& x : w) sum += x.weight;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  // Two hops from user 0: itself, items 0 and 1, and user 1 (through item 1); user 2 and item 2 are unreachable.
  std::vector<index_t> nodes;
  for (const auto& x : w) nodes.push_back(x.node);
  std::sort(nodes.begin(), nodes.end());
  EXPECT_EQ(nodes, (std::vector<index_t>{0, 1, 3, 4}));
}

}  // namespace

}  // namespace test_explain_rollout
