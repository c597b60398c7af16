// csr_graph::without_edges and csr_graph::edge_ids: removing edges gives, bit for bit, the graph
// built from the edge list without them (order, features, recomputed self-loop means, transpose).
#include <gatrec/core/error.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/graph/bipartite_graph.hpp>
#include <gatrec/graph/csr_graph.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace test_graph_edge_removal {
namespace {

using gatrec::csr_graph;
using gatrec::index_t;
using gatrec::offset_t;

// Every array of two graphs, compared exactly (float features by bit pattern).
void expect_identical(const csr_graph& a, const csr_graph& b) {
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  ASSERT_EQ(a.num_edges(), b.num_edges());
  ASSERT_EQ(a.edge_dim(), b.edge_dim());
  EXPECT_EQ(a.in_offsets(), b.in_offsets());
  EXPECT_EQ(a.in_sources(), b.in_sources());
  EXPECT_EQ(a.in_destinations(), b.in_destinations());
  EXPECT_EQ(a.out_offsets(), b.out_offsets());
  EXPECT_EQ(a.out_edge_ids(), b.out_edge_ids());
  ASSERT_EQ(a.edge_features().size(), b.edge_features().size());
  EXPECT_EQ(0, std::memcmp(a.edge_features().data(), b.edge_features().data(), a.edge_features().size() * sizeof(float)));
  EXPECT_EQ(a.options().add_self_loops, b.options().add_self_loops);
}

struct edge_list {
  index_t nodes = 0;
  std::vector<index_t> src, dst;
  std::vector<float> feat;  // edge_dim 2
};

// A random multigraph with parallel edges, an isolated node and (when asked) explicit self-loops.
edge_list random_edges(std::uint64_t seed, bool with_self_loops) {
  gatrec::rng gen(seed);
  edge_list g;
  g.nodes = 30;
  for (int e = 0; e < 200; ++e) {
    const auto s = static_cast<index_t>(gen.below(29)), d = static_cast<index_t>(gen.below(29));  // node 29 isolated
    if (s == d && !with_self_loops) continue;
    g.src.push_back(s);
    g.dst.push_back(d);
    g.feat.push_back(static_cast<float>(1 + gen.below(5)));
    g.feat.push_back(static_cast<float>(gen.uniform()));
  }
  return g;
}

class WithoutEdges : public ::testing::TestWithParam<bool> {};

TEST_P(WithoutEdges, MatchesARebuildWithoutThoseEdgesBitForBit) {
  gatrec::graph_options opt;
  opt.add_self_loops = GetParam();
  const edge_list in = random_edges(11, !opt.add_self_loops);
  const csr_graph full(in.nodes, in.src, in.dst, in.feat, 2, opt);

  // Remove every input edge whose (src, dst) falls in a chosen set, so that the removed ids can be
  // found in the CSR and the expected graph rebuilt from the input list.
  gatrec::rng gen(3);
  std::vector<offset_t> removed;
  edge_list kept;
  kept.nodes = in.nodes;
  for (std::size_t e = 0; e < in.src.size(); ++e) {
    const bool remove = gen.uniform() < 0.2;
    if (!remove) {
      kept.src.push_back(in.src[e]);
      kept.dst.push_back(in.dst[e]);
      kept.feat.push_back(in.feat[2 * e]);
      kept.feat.push_back(in.feat[2 * e + 1]);
    }
  }
  // Map removals to CSR ids: the k-th input edge into d is the k-th non-added in-edge of d.
  std::vector<int> seen(static_cast<std::size_t>(in.nodes), 0);
  gatrec::rng again(3);
  for (std::size_t e = 0; e < in.src.size(); ++e) {
    const bool remove = again.uniform() < 0.2;
    const index_t d = in.dst[e];
    const offset_t id = full.in_offsets()[static_cast<std::size_t>(d)] + seen[static_cast<std::size_t>(d)]++;
    ASSERT_EQ(full.in_sources()[static_cast<std::size_t>(id)], in.src[e]);
    if (remove) removed.push_back(id);
  }
  ASSERT_GT(removed.size(), 10u);
  removed.push_back(removed.front());  // a duplicate id is harmless
  const csr_graph expected(kept.nodes, kept.src, kept.dst, kept.feat, 2, opt);
  expect_identical(full.without_edges(removed), expected);
  // Removing nothing rebuilds the same graph.
  expect_identical(full.without_edges({}), full);
}

INSTANTIATE_TEST_SUITE_P(SelfLoops, WithoutEdges, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "AddedSelfLoops" : "NoSelfLoops"; });

TEST(WithoutEdges, BipartiteRatingsRemovedBothWaysEqualTheGraphOfTheRemainingRatings) {
  gatrec::rating_table all, rest;
  gatrec::rng gen(5);
  for (index_t u = 0; u < 12; ++u)
    for (index_t i = 0; i < 9; ++i)
      if (gen.uniform() < 0.5) all.push_back(u, i, static_cast<float>(1 + gen.below(5)));
  gatrec::graph_options opt;
  opt.add_self_loops = true;  // the model's graph: self-loop features are means of the ratings
  const gatrec::bipartite_graph g(12, 9, all, opt);
  std::vector<offset_t> removed;
  for (std::size_t r = 0; r < all.size(); ++r) {
    const bool drop = all.user[r] == 3 && all.item[r] % 2 == 0;
    if (!drop) {
      rest.push_back(all.user[r], all.item[r], all.rating[r]);
      continue;
    }
    for (const offset_t e : g.graph().edge_ids(g.user_node(3), g.item_node(all.item[r]))) removed.push_back(e);
    for (const offset_t e : g.graph().edge_ids(g.item_node(all.item[r]), g.user_node(3))) removed.push_back(e);
  }
  ASSERT_GE(removed.size(), 4u);
  const gatrec::bipartite_graph expected(12, 9, rest, opt);
  const csr_graph edited = g.graph().without_edges(removed);
  expect_identical(edited, expected.graph());
  // The user's self-loop feature is the mean of the ratings it kept, not of all its ratings.
  const offset_t self = edited.in_offsets()[4] - 1;
  ASSERT_EQ(edited.in_sources()[static_cast<std::size_t>(self)], 3);
  double sum = 0;
  int n = 0;
  for (std::size_t r = 0; r < rest.size(); ++r)
    if (rest.user[r] == 3) sum += rest.rating[r], ++n;
  EXPECT_FLOAT_EQ(edited.edge_features()[static_cast<std::size_t>(self)], n ? static_cast<float>(sum / n) : 0.0f);
}

TEST(WithoutEdges, RejectsBadIdsAndAddedSelfLoops) {
  gatrec::graph_options opt;
  opt.add_self_loops = true;
  const csr_graph g(3, {0, 1}, {1, 2}, {1.0f, 2.0f}, 1, opt);
  EXPECT_THROW(g.without_edges({-1}), gatrec::logic_error);
  EXPECT_THROW(g.without_edges({g.num_edges()}), gatrec::logic_error);
  const auto loop = g.edge_ids(2, 2);
  ASSERT_EQ(loop.size(), 1u);
  EXPECT_THROW(g.without_edges(loop), gatrec::logic_error);
}

TEST(EdgeIds, FindsEveryParallelEdgeAndNothingElse) {
  const csr_graph g(4, {0, 1, 0, 2, 0}, {1, 1, 1, 3, 3}, {}, 0);
  const auto ids = g.edge_ids(0, 1);
  ASSERT_EQ(ids.size(), 2u);
  for (const offset_t e : ids) {
    EXPECT_EQ(g.in_sources()[static_cast<std::size_t>(e)], 0);
    EXPECT_EQ(g.in_destinations()[static_cast<std::size_t>(e)], 1);
  }
  EXPECT_TRUE(g.edge_ids(1, 0).empty());
  EXPECT_EQ(g.edge_ids(0, 3).size(), 1u);
  EXPECT_THROW(g.edge_ids(0, 4), gatrec::logic_error);
}

}  // namespace

}  // namespace test_graph_edge_removal
