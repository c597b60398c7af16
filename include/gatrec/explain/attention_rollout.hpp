#pragma once

/// @file
/// @brief Attention rollout over a GAT stack: how much each node's input features flow into one
/// target node's final embedding, read from the attention weights of a forward pass.
///
/// Layer l maps h^{l-1} to h^l = LReLU(LN(Σ_j α_ij W h_j^{l-1})) + R(h_i^{l-1}). Rollout (Abnar &
/// Zuidema, "Quantifying Attention Flow in Transformers", 2020) linearises this as a mixing matrix
///
///     M_l = ρ_l I + (1 − ρ_l) Ā_l,       Ā_l[i, j] = Σ_{e=(j→i)} (1/H) Σ_h α_e^h
///
/// (heads averaged; Ā_l is row-stochastic for every node with in-edges because each head's
/// softmax sums to one over them) and multiplies the layers: R = M_L ··· M_1, so R[t, j] is the
/// share of h_t^L that traces back to x_j, summed over all paths of length ≤ L. Each row of R sums
/// to one.
///
/// The residual weight ρ: the attention output and the residual enter h with the same unit
/// coefficient and nothing in the model says which carries more, so ρ = 1/2 for every block with a
/// residual (Abnar & Zuidema's choice for the transformer's skip connection) and ρ = 0 for blocks
/// without one. Self-loops (the paper's graph has them) are ordinary in-edges of Ā. A node without
/// in-edges keeps its whole weight on itself when ρ > 0 (its row of M is renormalised to e_i); with
/// ρ = 0 its output is the bias alone and the weight reaching it is dropped.
///
/// For one target only row t of R is needed: a breadth-first walk over in-edges, L hops deep, with
/// one weight per reached node (R[t] = e_t M_L ··· M_1 evaluated left to right). Memory is O(N) for
/// two weight vectors and never an N×N matrix; time is O(edges reached). Nodes are visited in
/// ascending id and edges in CSR order, so results are deterministic.

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/graph/csr_graph.hpp"
#include "gatrec/models/gat_recommender.hpp"
#include "gatrec/nn/gat_model.hpp"

namespace gatrec {

/// A node and its rollout weight.
struct node_weight {
  index_t node = 0;
  double weight = 0.0;

  friend bool operator==(const node_weight& a, const node_weight& b) {
    return a.node == b.node && a.weight == b.weight;
  }
};

/// Options of attention rollout.
struct rollout_options {
  /// ρ, the weight of the identity (residual) path in blocks that have a residual; 1 − ρ goes to
  /// the attention. Blocks without a residual always use ρ = 0.
  double residual_weight = 0.5;
  /// Nodes whose final weight is below this are left out of the result (0 keeps every reached node).
  double min_weight = 0.0;
};

/// The attention of one layer as rollout reads it.
template <class Scalar>
struct layer_attention {
  const std::vector<Scalar>* alpha = nullptr;  ///< (num_edges, heads), destination-CSR order
  int heads = 1;
  double self_weight = 0.5;  ///< ρ of this layer
};

namespace detail {

/// The head-mean attention of edge e in one layer.
template <class Scalar>
double mean_attention(const layer_attention<Scalar>& layer, offset_t e) {
  const Scalar* a = layer.alpha->data() + static_cast<std::size_t>(e) * static_cast<std::size_t>(layer.heads);
  double sum = 0.0;
  for (int h = 0; h < layer.heads; ++h) sum += static_cast<double>(a[h]);
  return sum / layer.heads;
}

template <class Scalar>
void check_rollout_inputs(const csr_graph& graph, const std::vector<layer_attention<Scalar>>& layers, index_t target) {
  const index_t n = graph.num_nodes();
  GATREC_EXPECTS(target >= 0 && target < n,
                 "target node " + std::to_string(target) + " is outside [0, " + std::to_string(n) + ")");
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& a = layers[l];
    GATREC_EXPECTS(a.alpha != nullptr && a.heads > 0, "layer " + std::to_string(l) + " has no attention weights");
    GATREC_EXPECTS(a.alpha->size() == static_cast<std::size_t>(graph.num_edges()) * static_cast<std::size_t>(a.heads),
                   "layer " + std::to_string(l) + " holds " + std::to_string(a.alpha->size()) +
                       " attention weights, the graph has " + std::to_string(graph.num_edges()) + " edges x " +
                       std::to_string(a.heads) + " heads (was the forward pass run on another graph?)");
    GATREC_EXPECTS(a.self_weight >= 0.0 && a.self_weight <= 1.0, "self_weight must lie in [0, 1]");
  }
}

/// The walk behind attention_rollout. When `by_layer` is given, (*by_layer)[l] receives the weights
/// on the outputs of layer l (sorted by node), before they are spread through that layer.
template <class Scalar>
std::vector<node_weight> rollout_walk(const csr_graph& graph, const std::vector<layer_attention<Scalar>>& layers,
                                      index_t target, std::vector<std::vector<node_weight>>* by_layer) {
  check_rollout_inputs(graph, layers, target);
  const auto& off = graph.in_offsets();
  const auto& src = graph.in_sources();
  const std::size_t nn = static_cast<std::size_t>(graph.num_nodes());
  std::vector<double> cur(nn, 0.0), next(nn, 0.0);
  std::vector<char> in_next(nn, 0);
  std::vector<index_t> nodes{target}, next_nodes;
  cur[static_cast<std::size_t>(target)] = 1.0;
  if (by_layer != nullptr) by_layer->assign(layers.size(), {});

  auto add = [&](index_t j, double w) {
    const auto k = static_cast<std::size_t>(j);
    if (!in_next[k]) {
      in_next[k] = 1;
      next_nodes.push_back(j);
    }
    next[k] += w;
  };
  for (std::size_t step = layers.size(); step-- > 0;) {
    const auto& layer = layers[step];
    const double rho = layer.self_weight;
    std::sort(nodes.begin(), nodes.end());
    if (by_layer != nullptr) {
      auto& record = (*by_layer)[step];
      record.reserve(nodes.size());
      for (const index_t i : nodes) record.push_back({i, cur[static_cast<std::size_t>(i)]});
    }
    next_nodes.clear();
    for (const index_t i : nodes) {
      const double w = cur[static_cast<std::size_t>(i)];
      const offset_t first = off[static_cast<std::size_t>(i)], last = off[static_cast<std::size_t>(i) + 1];
      if (first == last) {
        if (rho > 0.0) add(i, w);  // row of M renormalised to e_i
        continue;
      }
      if (rho > 0.0) add(i, rho * w);
      const double spread = (1.0 - rho) * w;
      if (spread == 0.0) continue;
      for (offset_t e = first; e < last; ++e) add(src[static_cast<std::size_t>(e)], spread * mean_attention(layer, e));
    }
    for (const index_t i : nodes) cur[static_cast<std::size_t>(i)] = 0.0;
    for (const index_t j : next_nodes) in_next[static_cast<std::size_t>(j)] = 0;
    std::swap(cur, next);
    std::swap(nodes, next_nodes);
  }
  std::vector<node_weight> out;
  out.reserve(nodes.size());
  for (const index_t j : nodes) out.push_back({j, cur[static_cast<std::size_t>(j)]});
  return out;
}

/// Weight of `node` in a list sorted by node id (0 when absent).
inline double weight_of(const std::vector<node_weight>& sorted_by_node, index_t node) {
  const auto it = std::lower_bound(sorted_by_node.begin(), sorted_by_node.end(), node,
                                   [](const node_weight& a, index_t n) { return a.node < n; });
  return it != sorted_by_node.end() && it->node == node ? it->weight : 0.0;
}

}  // namespace detail

/// Row `target` of the rollout R = M_L ··· M_1 (see the file comment).
/// @param graph the graph the attention weights were computed on
/// @param layers the layers from first (input side) to last
/// @param target the node whose final embedding is explained
/// @return (node, weight) for every reached node with weight >= opt.min_weight, heaviest first (ties by
///         ascending node id); the weights sum to one up to rounding when nothing is dropped
/// @throw logic_error when target is out of range, a layer has no or wrongly sized weights, or ρ
///        lies outside [0, 1]
template <class Scalar>
std::vector<node_weight> attention_rollout(const csr_graph& graph, const std::vector<layer_attention<Scalar>>& layers,
                                           index_t target, const rollout_options& opt = {}) {
  std::vector<node_weight> all = detail::rollout_walk(graph, layers, target, nullptr);
  std::vector<node_weight> out;
  out.reserve(all.size());
  for (const auto& x : all)
    if (opt.min_weight <= 0.0 || x.weight >= opt.min_weight) out.push_back(x);
  std::sort(out.begin(), out.end(), [](const node_weight& a, const node_weight& b) {
    return a.weight != b.weight ? a.weight > b.weight : a.node < b.node;
  });
  return out;
}

/// The rollout of `target` layer by layer: entry l holds the weights on the outputs of layer l
/// (e_t M_L ··· M_{l+2}; entry L-1 is {target: 1}), sorted by node id. Through layer l an edge
/// e = (j → i) carries the flow (1 − ρ_l) · weight_l[i] · (1/H) Σ_h α_e^h of the target's rollout.
/// @throw logic_error as attention_rollout
template <class Scalar>
std::vector<std::vector<node_weight>> rollout_by_layer(const csr_graph& graph,
                                                       const std::vector<layer_attention<Scalar>>& layers, index_t target) {
  std::vector<std::vector<node_weight>> by_layer;
  detail::rollout_walk(graph, layers, target, &by_layer);
  return by_layer;
}

/// The rollout mass of a target that flows through `edges`, summed over layers: what removing those
/// edges takes out of the target's rollout (to first order: the softmax of the destinations
/// renormalises over the remaining edges).
/// @param by_layer rollout_by_layer of the target on the same graph and layers
/// @param edges edge ids in the destination CSR (each counted once per occurrence)
/// @throw logic_error when by_layer does not match the layers or an edge id is out of range
template <class Scalar>
double edge_flow(const csr_graph& graph, const std::vector<layer_attention<Scalar>>& layers,
                 const std::vector<std::vector<node_weight>>& by_layer, const std::vector<offset_t>& edges) {
  GATREC_EXPECTS(by_layer.size() == layers.size(), "by_layer holds " + std::to_string(by_layer.size()) +
                                                       " layers, expected " + std::to_string(layers.size()));
  const auto& dst = graph.in_destinations();
  double flow = 0.0;
  for (const offset_t e : edges) {
    GATREC_EXPECTS(e >= 0 && e < graph.num_edges(), "edge id " + std::to_string(e) + " is out of range");
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const double w = detail::weight_of(by_layer[l], dst[static_cast<std::size_t>(e)]);
      if (w != 0.0) flow += (1.0 - layers[l].self_weight) * w * detail::mean_attention(layers[l], e);
    }
  }
  return flow;
}

/// The rollout layers of an encoder after a forward pass on `graph`.
/// @throw logic_error when ctx was not filled by a forward pass of this model on `graph`, or by a
///        training-mode pass with attention dropout (its weights are not the model's attention)
template <class Scalar>
std::vector<layer_attention<Scalar>> rollout_layers(const gat_model<Scalar>& model,
                                                    const typename gat_model<Scalar>::context& ctx,
                                                    const csr_graph& graph, const rollout_options& opt = {}) {
  GATREC_EXPECTS(ctx.blocks.size() == model.num_layers(), "no forward pass has filled this context");
  GATREC_EXPECTS(opt.residual_weight >= 0.0 && opt.residual_weight <= 1.0, "residual_weight must lie in [0, 1]");
  std::vector<layer_attention<Scalar>> layers;
  for (std::size_t l = 0; l < model.num_layers(); ++l) {
    const auto& block = model.block(l);
    const auto& bctx = ctx.blocks[l];
    const bool gat = block.options().form == attention_form::gat;
    const csr_graph* seen = gat ? bctx.gat.graph : bctx.gatv2.graph;
    const run_mode& mode = gat ? bctx.gat.mode : bctx.gatv2.mode;
    GATREC_EXPECTS(seen == &graph, "layer " + std::to_string(l) + " was last run on another graph");
    GATREC_EXPECTS(!mode.training || block.options().attention.dropout <= 0.0,
                   "layer " + std::to_string(l) + " was last run in training mode with attention dropout; "
                   "run forward(run_mode{}) first");
    layer_attention<Scalar> a;
    a.alpha = &block.attention_weights(bctx);
    a.heads = block.options().attention.heads;
    a.self_weight = block.options().residual ? opt.residual_weight : 0.0;
    layers.push_back(a);
  }
  return layers;
}

/// Rollout of `target` through an encoder's last forward pass on `graph`; see the overload above.
template <class Scalar>
std::vector<node_weight> attention_rollout(const gat_model<Scalar>& model, const typename gat_model<Scalar>::context& ctx,
                                           const csr_graph& graph, index_t target, const rollout_options& opt = {}) {
  return attention_rollout(graph, rollout_layers(model, ctx, graph, opt), target, opt);
}

/// Rollout of `target` (a node id: users 0..U-1, items U..U+I-1) in a trained recommender, from its
/// last forward pass (call model.forward(run_mode{}) first).
template <class Scalar>
std::vector<node_weight> attention_rollout(gat_recommender<Scalar>& model, index_t target,
                                           const rollout_options& opt = {}) {
  return attention_rollout(model.encoder(), model.context(), model.graph().graph(), target, opt);
}

}  // namespace gatrec
