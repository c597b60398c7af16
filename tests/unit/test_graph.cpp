#include <gatrec/graph/bipartite_graph.hpp>
#include <gatrec/graph/csr_graph.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace test_graph {
namespace {

using gatrec::csr_graph;
using gatrec::index_t;
using gatrec::offset_t;

// Every (src, dst, feature) edge of the input must appear exactly once in the CSR and once in the
// transposed view, pointing at the same slot.
void expect_consistent(const csr_graph& g) {
  ASSERT_EQ(g.in_offsets().size(), static_cast<std::size_t>(g.num_nodes()) + 1);
  ASSERT_EQ(g.out_offsets().size(), static_cast<std::size_t>(g.num_nodes()) + 1);
  EXPECT_EQ(g.in_offsets().back(), g.num_edges());
  EXPECT_EQ(g.out_offsets().back(), g.num_edges());
  std::vector<int> seen(static_cast<std::size_t>(g.num_edges()), 0);
  for (index_t j = 0; j < g.num_nodes(); ++j) {
    for (offset_t k = g.out_offsets()[j]; k < g.out_offsets()[j + 1]; ++k) {
      const offset_t e = g.out_edge_ids()[k];
      ASSERT_GE(e, 0);
      ASSERT_LT(e, g.num_edges());
      EXPECT_EQ(g.in_sources()[e], j);
      ++seen[e];
    }
  }
  for (index_t i = 0; i < g.num_nodes(); ++i)
    for (offset_t e = g.in_offsets()[i]; e < g.in_offsets()[i + 1]; ++e) EXPECT_EQ(g.in_destinations()[e], i);
  for (int s : seen) EXPECT_EQ(s, 1);
}

TEST(CsrGraph, HandWrittenGraphWithHubDuplicatesAndIsolatedNode) {
  // 0->2, 1->2, 1->2 (duplicate), 3->2, 2->0 ; node 1 and 3 have no in-edges.
  const std::vector<index_t> src{0, 1, 1, 3, 2};
  const std::vector<index_t> dst{2, 2, 2, 2, 0};
  const std::vector<float> feat{10, 11, 12, 13, 14};
  const csr_graph g(4, src, dst, feat, 1);
  EXPECT_EQ(g.num_nodes(), 4);
  EXPECT_EQ(g.num_edges(), 5);
  EXPECT_EQ(g.in_offsets(), (std::vector<offset_t>{0, 1, 1, 5, 5}));
  // Stable: node 2's in-edges keep input order, duplicates included.
  EXPECT_EQ(g.in_sources(), (std::vector<index_t>{2, 0, 1, 1, 3}));
  EXPECT_EQ(g.edge_features(), (std::vector<float>{14, 10, 11, 12, 13}));
  EXPECT_EQ(g.out_degree(1), 2);
  EXPECT_EQ(g.in_degree(1), 0);
  const auto s = g.degrees();
  EXPECT_EQ(s.max_in, 4);
  EXPECT_EQ(s.min_in, 0);
  EXPECT_EQ(s.nodes_without_in_edges, 2);
  EXPECT_EQ(s.nodes_without_out_edges, 0);
  EXPECT_DOUBLE_EQ(s.mean_in, 5.0 / 4.0);
  expect_consistent(g);
}

TEST(CsrGraph, SelfLoopsTakeTheMeanOfIncomingFeatures) {
  const std::vector<index_t> src{0, 1};
  const std::vector<index_t> dst{2, 2};
  const std::vector<float> feat{1, 2, 3, 6};  // edge_dim 2
  gatrec::graph_options opt;
  opt.add_self_loops = true;
  const csr_graph g(3, src, dst, feat, 2, opt);
  EXPECT_EQ(g.num_edges(), 5);
  EXPECT_EQ(g.in_offsets(), (std::vector<offset_t>{0, 1, 2, 5}));
  // node 0 and 1: only the self-loop, with feature 0 (no incoming edges to average).
  EXPECT_EQ(g.in_sources()[0], 0);
  EXPECT_FLOAT_EQ(g.edge_features()[0], 0.0f);
  // node 2: the self-loop comes last, with the mean (2, 4).
  EXPECT_EQ(g.in_sources()[4], 2);
  EXPECT_FLOAT_EQ(g.edge_features()[8], 2.0f);
  EXPECT_FLOAT_EQ(g.edge_features()[9], 4.0f);
  expect_consistent(g);

  opt.fill = gatrec::self_loop_fill::constant;
  opt.fill_value = 7.0f;
  const csr_graph c(3, src, dst, feat, 2, opt);
  EXPECT_FLOAT_EQ(c.edge_features()[9], 7.0f);
}

TEST(CsrGraph, AddingSelfLoopsReplacesExistingOnes) {
  // 1->1 exists already: it is dropped, then every node gets exactly one self-loop.
  gatrec::graph_options opt;
  opt.add_self_loops = true;
  const csr_graph g(2, {1, 0}, {1, 1}, {9.0f, 3.0f}, 1, opt);
  EXPECT_EQ(g.num_edges(), 3);
  EXPECT_EQ(g.in_sources(), (std::vector<index_t>{0, 0, 1}));
  EXPECT_FLOAT_EQ(g.edge_features()[2], 3.0f);  // mean over the remaining in-edge only
  expect_consistent(g);
}

TEST(CsrGraph, RejectsBadInput) {
  EXPECT_THROW(csr_graph(2, {0}, {2}, {}, 0), gatrec::logic_error);           // id out of range
  EXPECT_THROW(csr_graph(2, {0, 1}, {1}, {}, 0), gatrec::logic_error);        // length mismatch
  EXPECT_THROW(csr_graph(2, {0}, {1}, {1.0f, 2.0f}, 1), gatrec::logic_error);  // feature count
  EXPECT_THROW(csr_graph(2, {0}, {1}, {std::nanf("")}, 1), gatrec::logic_error);
  EXPECT_THROW(csr_graph(2, {-1}, {1}, {}, 0), gatrec::logic_error);
}

TEST(CsrGraph, EmptyGraph) {
  const csr_graph g(0, {}, {}, {}, 0);
  EXPECT_EQ(g.num_edges(), 0);
  EXPECT_EQ(g.degrees().max_in, 0);
  const csr_graph h(3, {}, {}, {}, 1);
  EXPECT_EQ(h.degrees().nodes_without_in_edges, 3);
  expect_consistent(h);
}

TEST(BipartiteGraph, EdgesInBothDirectionsCarryTheRating) {
  gatrec::rating_table r;
  r.push_back(0, 1, 5.0f);
  r.push_back(1, 1, 2.0f);
  r.push_back(1, 0, 4.0f);
  const gatrec::bipartite_graph g(2, 2, r);
  EXPECT_EQ(g.num_nodes(), 4);
  EXPECT_EQ(g.num_edges(), 6);
  EXPECT_EQ(g.item_node(1), 3);
  EXPECT_TRUE(g.is_user_node(1));
  EXPECT_FALSE(g.is_user_node(2));
  std::multiset<std::tuple<index_t, index_t, float>> edges;
  const auto& c = g.graph();
  for (index_t i = 0; i < c.num_nodes(); ++i)
    for (offset_t e = c.in_offsets()[i]; e < c.in_offsets()[i + 1]; ++e)
      edges.emplace(c.in_sources()[e], i, c.edge_features()[e]);
  const std::multiset<std::tuple<index_t, index_t, float>> expected{
      {0, 3, 5.0f}, {3, 0, 5.0f}, {1, 3, 2.0f}, {3, 1, 2.0f}, {1, 2, 4.0f}, {2, 1, 4.0f}};
  EXPECT_EQ(edges, expected);
  expect_consistent(c);
}

TEST(BipartiteGraph, RejectsOutOfRangeIndices) {
  gatrec::rating_table r;
  r.push_back(0, 5, 5.0f);
  EXPECT_THROW(gatrec::bipartite_graph(2, 2, r), gatrec::logic_error);
  gatrec::rating_table s;
  s.push_back(3, 0, 5.0f);
  EXPECT_THROW(gatrec::bipartite_graph(2, 2, s), gatrec::logic_error);
}

}  // namespace

}  // namespace test_graph
