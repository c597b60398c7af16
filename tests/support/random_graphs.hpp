#pragma once

// Random graphs with the awkward features every layer test needs: a node without in-edges, a hub
// with a large in-degree, and duplicate edges.

#include <gatrec/core/eigen.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/graph/csr_graph.hpp>

#include <vector>

namespace gatrec::test {

inline csr_graph awkward_graph(index_t num_nodes, int avg_degree, int edge_dim, std::uint64_t seed,
                               const graph_options& opt = {}) {
  rng gen(seed);
  std::vector<index_t> src, dst;
  std::vector<float> feat;
  auto add = [&](index_t s, index_t d) {
    src.push_back(s);
    dst.push_back(d);
    for (int k = 0; k < edge_dim; ++k) feat.push_back(static_cast<float>(1 + gen.below(5)) + 0.25f * k);
  };
  const index_t hub = 1, lonely = 0;  // node 0 never receives an edge (unless self-loops are added)
  for (index_t v = 1; v < num_nodes; ++v)
    for (int k = 0; k < avg_degree; ++k) add(static_cast<index_t>(gen.below(num_nodes)), v);
  for (index_t v = 0; v < num_nodes; ++v) add(v, hub);  // hub: in-degree >= num_nodes
  add(2 % num_nodes, 3 % num_nodes);                     // duplicate edges
  add(2 % num_nodes, 3 % num_nodes);
  add(lonely, 2 % num_nodes);
  return csr_graph(num_nodes, src, dst, feat, edge_dim, opt);
}

template <class Scalar>
matrix<Scalar> random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double scale = 1.0) {
  rng gen(seed);
  matrix<Scalar> m(rows, cols);
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = static_cast<Scalar>(gen.normal() * scale);
  return m;
}

}  // namespace gatrec::test
