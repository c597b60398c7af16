#pragma once

/// @file
/// @brief A directed graph stored by destination (CSR), with its transpose and edge features.
///
/// Aggregation (`out_i = sum over edges j->i`) walks the destination CSR, one row per node, so each
/// output row is written by one thread. Backward passes that must sum over a node's *outgoing*
/// edges walk the transposed view, which lists for every source node the ids of its edges in the
/// destination CSR; no floating-point atomics are needed anywhere.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// How the edge features of added self-loops are chosen.
enum class self_loop_fill {
  mean,      ///< mean of the node's incoming edge features (0 for a node without in-edges), as PyG's fill_value="mean"
  constant,  ///< a fixed value for every feature
};

/// Options for building a csr_graph.
struct graph_options {
  /// Drop any existing i->i edges, then add exactly one per node (PyG's remove_self_loops followed
  /// by add_self_loops).
  bool add_self_loops = false;
  self_loop_fill fill = self_loop_fill::mean;   ///< feature of the added self-loops
  float fill_value = 0.0f;                      ///< used with self_loop_fill::constant
};

/// In- and out-degree summary.
struct degree_stats {
  offset_t min_in = 0, max_in = 0;
  offset_t min_out = 0, max_out = 0;
  double mean_in = 0.0;
  index_t nodes_without_in_edges = 0;
  index_t nodes_without_out_edges = 0;
};

/// A directed multigraph in CSR-by-destination form plus its transpose. Duplicate edges are kept
/// (each is its own softmax term, as in PyG).
class csr_graph {
 public:
  csr_graph() = default;

  /// Builds the graph from an edge list.
  /// @param num_nodes number of nodes; every id must lie in [0, num_nodes)
  /// @param src source node of each edge
  /// @param dst destination node of each edge
  /// @param features row-major (num_edges x edge_dim) edge features; empty when edge_dim is 0
  /// @param edge_dim width of each edge's feature vector
  /// @throw logic_error on mismatched lengths, out-of-range ids or non-finite features
  csr_graph(index_t num_nodes, const std::vector<index_t>& src, const std::vector<index_t>& dst,
            const std::vector<float>& features, int edge_dim, const graph_options& options = {}) {
    build(num_nodes, src, dst, features, edge_dim, options);
  }

  index_t num_nodes() const { return num_nodes_; }
  offset_t num_edges() const { return static_cast<offset_t>(in_sources_.size()); }
  int edge_dim() const { return edge_dim_; }

  /// (num_nodes + 1) offsets: the in-edges of node i are [in_offsets[i], in_offsets[i+1]).
  const std::vector<offset_t>& in_offsets() const { return in_offsets_; }
  /// (num_edges) source node of each edge, in destination order.
  const std::vector<index_t>& in_sources() const { return in_sources_; }
  /// (num_edges) destination node of each edge (redundant with in_offsets, kept for O(1) lookup).
  const std::vector<index_t>& in_destinations() const { return in_destinations_; }
  /// (num_edges x edge_dim) row-major edge features, in destination order.
  const std::vector<float>& edge_features() const { return edge_features_; }

  /// (num_nodes + 1) offsets of the transposed view: node j's out-edges are
  /// [out_offsets[j], out_offsets[j+1]).
  const std::vector<offset_t>& out_offsets() const { return out_offsets_; }
  /// (num_edges) for each out-edge slot, the edge's id in the destination CSR.
  const std::vector<offset_t>& out_edge_ids() const { return out_edge_ids_; }

  /// The options the graph was built with (self-loops and their feature fill).
  const graph_options& options() const { return options_; }

  /// Ids (in the destination CSR) of every edge src -> dst, ascending; empty when there is none.
  /// @throw logic_error when a node id is outside [0, num_nodes)
  std::vector<offset_t> edge_ids(index_t src, index_t dst) const {
    GATREC_EXPECTS(src >= 0 && src < num_nodes_ && dst >= 0 && dst < num_nodes_,
                   "edge " + std::to_string(src) + " -> " + std::to_string(dst) + " is outside [0, " +
                       std::to_string(num_nodes_) + ")");
    std::vector<offset_t> out;
    for (offset_t e = in_offsets_[dst]; e < in_offsets_[dst + 1]; ++e)
      if (in_sources_[e] == src) out.push_back(e);
    return out;
  }

  /// The graph with some edges left out, as if it had been built from its edge list without them
  /// and with the same options: the result is bit-identical to that rebuild (edge order, edge
  /// features, and the features of mean-filled self-loops, which are recomputed from the edges that
  /// remain). Used to ask what a trained model computes on an edited graph (explain/faithfulness).
  /// Costs O(num_nodes + num_edges).
  /// @param removed edge ids in the destination CSR, in any order; duplicates are allowed
  /// @throw logic_error when an id is out of range, or names a self-loop that the builder added
  ///        (the same options would add it back)
  csr_graph without_edges(const std::vector<offset_t>& removed) const {
    const std::size_t total = in_sources_.size();
    std::vector<char> drop(total, 0);
    for (const offset_t e : removed) {
      GATREC_EXPECTS(e >= 0 && static_cast<std::size_t>(e) < total,
                     "edge id " + std::to_string(e) + " is outside [0, " + std::to_string(total) + ")");
      GATREC_EXPECTS(!(options_.add_self_loops && in_sources_[e] == in_destinations_[e]),
                     "edge " + std::to_string(e) + " is a self-loop added by the builder; it cannot be removed");
      drop[static_cast<std::size_t>(e)] = 1;
    }
    // Destination order is a stable sort of the original edge list by destination, so listing the
    // kept edges in destination order and sorting again reproduces the same order per destination.
    const std::size_t d = static_cast<std::size_t>(edge_dim_);
    std::vector<index_t> src, dst;
    std::vector<float> features;
    src.reserve(total);
    dst.reserve(total);
    features.reserve(total * d);
    for (std::size_t e = 0; e < total; ++e) {
      if (drop[e] || (options_.add_self_loops && in_sources_[e] == in_destinations_[e])) continue;
      src.push_back(in_sources_[e]);
      dst.push_back(in_destinations_[e]);
      features.insert(features.end(), edge_features_.begin() + static_cast<std::ptrdiff_t>(e * d),
                      edge_features_.begin() + static_cast<std::ptrdiff_t>((e + 1) * d));
    }
    return csr_graph(num_nodes_, src, dst, features, edge_dim_, options_);
  }

  offset_t in_degree(index_t node) const { return in_offsets_[node + 1] - in_offsets_[node]; }
  offset_t out_degree(index_t node) const { return out_offsets_[node + 1] - out_offsets_[node]; }

  degree_stats degrees() const {
    degree_stats s;
    if (num_nodes_ == 0) return s;
    s.min_in = s.min_out = num_edges();
    for (index_t v = 0; v < num_nodes_; ++v) {
      const offset_t din = in_degree(v), dout = out_degree(v);
      s.min_in = std::min(s.min_in, din);
      s.max_in = std::max(s.max_in, din);
      s.min_out = std::min(s.min_out, dout);
      s.max_out = std::max(s.max_out, dout);
      s.nodes_without_in_edges += din == 0;
      s.nodes_without_out_edges += dout == 0;
    }
    s.mean_in = static_cast<double>(num_edges()) / num_nodes_;
    return s;
  }

 private:
  void build(index_t num_nodes, const std::vector<index_t>& src, const std::vector<index_t>& dst,
             const std::vector<float>& features, int edge_dim, const graph_options& options) {
    GATREC_EXPECTS(num_nodes >= 0, "negative node count");
    GATREC_EXPECTS(edge_dim >= 0, "negative edge_dim");
    GATREC_EXPECTS(src.size() == dst.size(), "src and dst lengths differ (" + std::to_string(src.size()) +
                                                 " vs " + std::to_string(dst.size()) + ")");
    const std::size_t given = src.size();
    GATREC_EXPECTS(features.size() == given * static_cast<std::size_t>(edge_dim),
                   "edge features hold " + std::to_string(features.size()) + " values, expected " +
                       std::to_string(given) + " edges x " + std::to_string(edge_dim));
    for (std::size_t e = 0; e < given; ++e) {
      if (src[e] < 0 || src[e] >= num_nodes || dst[e] < 0 || dst[e] >= num_nodes)
        detail::throw_logic_error(__func__, "edge " + std::to_string(e) + " (" + std::to_string(src[e]) +
                                                " -> " + std::to_string(dst[e]) + ") is outside [0, " +
                                                std::to_string(num_nodes) + ")");
    }
    for (std::size_t k = 0; k < features.size(); ++k)
      if (!std::isfinite(features[k]))
        detail::throw_logic_error(__func__, "edge " + std::to_string(k / edge_dim) + " has a non-finite feature");

    num_nodes_ = num_nodes;
    edge_dim_ = edge_dim;
    options_ = options;
    const std::size_t n = static_cast<std::size_t>(num_nodes);
    const std::size_t d = static_cast<std::size_t>(edge_dim);
    auto kept = [&](std::size_t e) { return !(options.add_self_loops && src[e] == dst[e]); };
    std::size_t m = 0;
    for (std::size_t e = 0; e < given; ++e) m += kept(e);
    const std::size_t total = m + (options.add_self_loops ? n : 0);

    // Counting sort by destination; stable, so parallel edges keep their input order.
    in_offsets_.assign(n + 1, 0);
    for (std::size_t e = 0; e < given; ++e)
      if (kept(e)) ++in_offsets_[static_cast<std::size_t>(dst[e]) + 1];
    if (options.add_self_loops)
      for (std::size_t v = 0; v < n; ++v) ++in_offsets_[v + 1];
    for (std::size_t v = 0; v < n; ++v) in_offsets_[v + 1] += in_offsets_[v];

    in_sources_.resize(total);
    in_destinations_.resize(total);
    edge_features_.resize(total * d);
    std::vector<offset_t> cursor(in_offsets_.begin(), in_offsets_.end() - 1);
    for (std::size_t e = 0; e < given; ++e) {
      if (!kept(e)) continue;
      const offset_t slot = cursor[static_cast<std::size_t>(dst[e])]++;
      in_sources_[slot] = src[e];
      in_destinations_[slot] = dst[e];
      std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(e * d), d,
                  edge_features_.begin() + static_cast<std::ptrdiff_t>(slot * d));
    }
    if (options.add_self_loops) {
      for (std::size_t v = 0; v < n; ++v) {
        const offset_t slot = cursor[v]++;  // the self-loop comes last among v's in-edges
        const offset_t first = in_offsets_[v];
        const offset_t real = slot - first;
        in_sources_[slot] = static_cast<index_t>(v);
        in_destinations_[slot] = static_cast<index_t>(v);
        for (std::size_t k = 0; k < d; ++k) {
          float value = options.fill_value;
          if (options.fill == self_loop_fill::mean) {
            double sum = 0.0;
            for (offset_t e = first; e < slot; ++e) sum += edge_features_[static_cast<std::size_t>(e) * d + k];
            value = real > 0 ? static_cast<float>(sum / static_cast<double>(real)) : 0.0f;
          }
          edge_features_[static_cast<std::size_t>(slot) * d + k] = value;
        }
      }
    }

    // Transpose: counting sort of the destination-ordered edges by source (stable).
    out_offsets_.assign(n + 1, 0);
    for (std::size_t e = 0; e < total; ++e) ++out_offsets_[static_cast<std::size_t>(in_sources_[e]) + 1];
    for (std::size_t v = 0; v < n; ++v) out_offsets_[v + 1] += out_offsets_[v];
    out_edge_ids_.resize(total);
    std::vector<offset_t> out_cursor(out_offsets_.begin(), out_offsets_.end() - 1);
    for (std::size_t e = 0; e < total; ++e)
      out_edge_ids_[out_cursor[static_cast<std::size_t>(in_sources_[e])]++] = static_cast<offset_t>(e);
  }

  index_t num_nodes_ = 0;
  int edge_dim_ = 0;
  graph_options options_;
  std::vector<offset_t> in_offsets_{0};
  std::vector<index_t> in_sources_;
  std::vector<index_t> in_destinations_;
  std::vector<float> edge_features_;
  std::vector<offset_t> out_offsets_{0};
  std::vector<offset_t> out_edge_ids_;
};

}  // namespace gatrec
