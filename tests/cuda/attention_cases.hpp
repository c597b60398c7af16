#pragma once

// Test cases shared by the CPU emulation of the fused kernels (tests/unit/test_cuda_math_emulation.cpp,
// g++) and the GPU tests (tests/cuda/test_*.cu, nvcc): graphs with every awkward feature (a node
// without in-edges, a node without out-edges, a destination hub and a source hub, duplicate edges)
// and layer shapes that reach every lane layout the kernels are compiled for.
// Plain C++: no CUDA types.

#include <gatrec/core/random.hpp>
#include <gatrec/graph/csr_graph.hpp>
#include <gatrec/nn/attention.hpp>

#include <string>
#include <vector>

#include "support/random_graphs.hpp"

namespace gatrec::test {

struct attention_case {
  attention_form form = attention_form::gatv2;
  bool concat = true;
  int heads = 2;
  int head_dim = 64;
  int in_dim = 12;
  int edge_dim = 1;
  double dropout = 0.0;
  bool bias = true;
  bool self_loops = false;
  offset_t chunk_edges = 256;   ///< chunk bound of the device graph
  bool vector_aligned = true;   ///< false forces the scalar lane layout (emulation only)
  index_t nodes = 300;
  int avg_degree = 6;
  offset_t hub_degree = 2000;   ///< in-degree of node 1
  int tiny = 0;                 ///< 1: one node and its self-loop; 2: three nodes, node 0 isolated
  std::uint64_t seed = 7;

  std::string name() const {
    return std::string(form == attention_form::gat ? "gat" : "gatv2") + (concat ? "_concat" : "_mean") + "_h" +
           std::to_string(heads) + "_c" + std::to_string(head_dim) + "_e" + std::to_string(edge_dim) +
           (dropout > 0 ? "_dropout" : "") + (bias ? "_bias" : "") + (self_loops ? "_loops" : "") + "_chunk" +
           std::to_string(chunk_edges) + (vector_aligned ? "" : "_scalar") +
           (tiny == 1 ? "_single_node" : tiny == 2 ? "_three_nodes" :
                        "_n" + std::to_string(nodes) + "_hub" + std::to_string(hub_degree));
  }
};

/// Node 0 receives no edge (unless self-loops are added); node n-1 sends none; node 1 receives
/// `hub_degree` edges from random sources (so duplicates); node 2 sends one edge to every node but
/// 0 and a second to every third one; explicit duplicate edges 3 -> 4. Needs nodes >= 5.
/// Tiny graphs: (1) a single node whose only edge is its self-loop; (2) three nodes with edges
/// 1 -> 2, 2 -> 1 and twice 1 -> 1, so node 0 has neither in- nor out-edges.
inline csr_graph case_graph(const attention_case& c) {
  rng gen(c.seed);
  const int d = std::max(c.edge_dim, 1);
  if (c.tiny != 0) {
    const std::vector<index_t> src = c.tiny == 1 ? std::vector<index_t>{0} : std::vector<index_t>{1, 2, 1, 1};
    const std::vector<index_t> dst = c.tiny == 1 ? std::vector<index_t>{0} : std::vector<index_t>{2, 1, 1, 1};
    std::vector<float> feat;
    for (std::size_t k = 0; k < src.size() * static_cast<std::size_t>(d); ++k) feat.push_back(0.5f + 0.75f * k);
    return csr_graph(c.tiny == 1 ? 1 : 3, src, dst, feat, d);
  }
  const index_t n = c.nodes;
  GATREC_EXPECTS(n >= 5, "case graphs need at least 5 nodes");
  std::vector<index_t> src, dst;
  std::vector<float> feat;
  auto add = [&](index_t s, index_t t) {
    src.push_back(s);
    dst.push_back(t);
    for (int k = 0; k < d; ++k) feat.push_back(static_cast<float>(1 + gen.below(5)) * 0.5f + 0.25f * k);
  };
  auto source = [&] { return static_cast<index_t>(gen.below(static_cast<std::uint64_t>(n - 1))); };  // never n-1
  for (index_t v = 1; v < n; ++v)
    for (int k = 0; k < c.avg_degree; ++k) add(source(), v);
  for (offset_t k = 0; k < c.hub_degree; ++k) add(source(), 1);
  for (index_t v = 1; v < n; ++v) {
    add(2, v);
    if (v % 3 == 0) add(2, v);
  }
  add(3, 4);
  add(3, 4);
  graph_options opt;
  opt.add_self_loops = c.self_loops;
  return csr_graph(n, src, dst, feat, d, opt);
}

/// A layer of the case's shape with Glorot weights and non-zero biases.
template <class Scalar, class Policy>
attention_layer<Scalar, Policy> case_layer(const attention_case& c) {
  attention_options opt;
  opt.in_dim = c.in_dim;
  opt.heads = c.heads;
  opt.head_dim = c.head_dim;
  opt.concat = c.concat;
  opt.edge_dim = c.edge_dim;
  opt.dropout = c.dropout;
  opt.bias = c.bias;
  rng gen(c.seed + 100);
  attention_layer<Scalar, Policy> layer("conv", opt, gen);
  parameter_list<Scalar> params;
  layer.collect(params);
  std::uint64_t k = 0;
  for (auto* p : params)
    if (p->name.find("bias") != std::string::npos)
      p->value = random_matrix<Scalar>(p->value.rows(), p->value.cols(), 77 + k++, 0.1);
  return layer;
}

/// Small graphs (hub of 2,000) over every lane layout, both forms, concat and mean, edge widths
/// 0/1/2, dropout, self-loops, and chunk bounds from 3 edges (every node split) to 256.
inline std::vector<attention_case> small_attention_cases() {
  std::vector<attention_case> cases;
  for (attention_form f : {attention_form::gatv2, attention_form::gat}) {
    auto add = [&](bool concat, int heads, int width, int edge_dim, double dropout, offset_t chunk,
                   bool aligned = true, bool bias = true, bool loops = false) {
      attention_case c;
      c.form = f;
      c.concat = concat;
      c.heads = heads;
      c.head_dim = width;
      c.edge_dim = edge_dim;
      c.dropout = dropout;
      c.chunk_edges = chunk;
      c.vector_aligned = aligned;
      c.bias = bias;
      c.self_loops = loops;
      cases.push_back(c);
    };
    add(true, 2, 64, 1, 0.0, 256);                  // float4, 16 lanes per edge
    add(false, 4, 16, 2, 0.3, 7);                   // float4, 4 lanes per edge; mean; dropout; tiny chunks
    add(true, 3, 5, 0, 0.0, 5);                     // scalar, 1 column per lane (width not divisible by 4)
    add(false, 2, 42, 1, 0.0, 64, true, false, true);  // scalar, 4 per lane; no bias; self-loops
    add(true, 2, 64, 1, 0.2, 3, false);             // the scalar layout for a width the float4 path also takes
    add(true, 1, 130, 1, 0.0, 50);                  // scalar, 8 per lane
    add(true, 8, 32, 1, 0.0, 256);                  // float4, 8 lanes per edge
    add(false, 2, 128, 2, 0.0, 100);                // float4, a warp per edge
    add(true, 1, 256, 1, 0.0, 256);                 // float4, two vectors per lane
    add(true, 4, 8, 1, 0.0, 9);                     // float4, 2 lanes per edge (16 edges a warp)
    add(false, 3, 12, 2, 0.3, 256);                 // float4, 4 lanes per edge, one of them padding; mean
    add(true, 2, 100, 1, 0.0, 40);                  // float4, a warp per edge, 7 padding lanes
    add(true, 1, 200, 0, 0.0, 256);                 // float4, two vectors per lane, the last 14 padding
    add(true, 2, 6, 1, 0.0, 256);                   // a single node with its self-loop
    cases.back().tiny = 1;
    add(false, 3, 16, 2, 0.3, 1);                   // three nodes, node 0 isolated; one edge per chunk
    cases.back().tiny = 2;
  }
  return cases;
}

/// A hub of in-degree 100,000 (and sources of out-degree ~50 into it), both forms.
inline std::vector<attention_case> hub_attention_cases() {
  attention_case a;
  a.form = attention_form::gatv2;
  a.heads = 2;
  a.head_dim = 64;
  a.edge_dim = 1;
  a.dropout = 0.1;
  a.nodes = 2000;
  a.avg_degree = 4;
  a.hub_degree = 100000;
  attention_case b = a;
  b.form = attention_form::gat;
  b.concat = false;
  b.head_dim = 20;
  b.heads = 3;
  b.dropout = 0.0;
  return {a, b};
}

}  // namespace gatrec::test
