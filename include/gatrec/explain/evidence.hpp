#pragma once

/// @file
/// @brief The evidence behind one recommendation (user u, item i), read from what the trained
/// model computed: the items u liked that carry the most attention-rollout weight into the score,
/// the users whose ratings shape h_i, and the attributes the recommended item shares with the
/// cited items.
///
/// Which rated items to cite. The score s(u, i) = ⟨h_u, h_i⟩ is symmetric in its two embeddings,
/// so it is explained as a virtual output node that attends to h_u with weight w and to h_i with
/// weight 1 − w (w = 1/2: neither side is privileged by the model). A justification says "because
/// you rated c", so what it cites is the user's rating of c, the pair of edges c → u and u → c. The
/// default weight of c (evidence_weighting::rating_flow) is the rollout mass of that virtual node
/// that travels through those two edges:
///
///     weight(c) = w · F_u(c) + (1 − w) · F_i(c),
///     F_t(c) = Σ_l (1 − ρ_l) Σ_{e ∈ {c→u, u→c}} W_t^l[dst(e)] · ᾱ_e^l
///
/// with W_t^l the rollout weights of target t on the outputs of layer l (rollout_by_layer) and ᾱ^l
/// the head-mean attention of layer l (edge_flow). F_u(c) is mostly the direct attention of u to c
/// (and of c to u one layer down); F_i(c) is the share of h_i that reaches i through u's rating of
/// c (i ← v ← c ← u ...). Deleting the rating removes exactly these flows, which is what
/// explain/faithfulness.hpp measures. Other weightings (node rollouts R_u[c], R_i[c] mixed or
/// multiplied, or R_u[c] times the alignment of h_c with h_i) are kept for comparison; on ML-100K
/// u1 the rating flow cites the items whose deletion lowers s(u, i) most (gatrec-movielens
/// explain-faithfulness compares them).
/// Among the items u rated at or above a threshold ("liked"), the heaviest are cited.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/explain/attention_rollout.hpp"
#include "gatrec/explain/item_catalogue.hpp"
#include "gatrec/graph/bipartite_graph.hpp"
#include "gatrec/models/gat_recommender.hpp"

namespace gatrec {

/// How a rated item's two rollout weights combine into its evidence weight.
enum class evidence_weighting {
  /// w R_u[c] + (1 - w) R_i[c]: the node rollout of the virtual score node (every path that ends
  /// at c, whether or not it uses the user's rating of c).
  mixture,
  /// R_u[c] R_i[c]: with the rollout read as a linear mix, h_u ~ sum_c R_u[c] x_c and h_i ~ sum_c
  /// R_i[c] x_c, the score's term that c alone accounts for is R_u[c] R_i[c] |x_c|^2; an item must
  /// feed both embeddings to count (w is not used).
  shared,
  /// R_u[c] (a_c - a_bar), a_c = <h_c, h_i> and a_bar the R_u-weighted mean of a over u's rated
  /// items: to first order, the drop of s(u, i) when c's message leaves u's aggregation and its
  /// share R_u[c] is spread over the rest, with each item's final embedding standing for its message
  /// and h_i for the direction that raises the score. Rollout into h_u weighed by the value it carries.
  aligned,
  /// w F_u(c) + (1 - w) F_i(c), F_t(c) the rollout mass of h_t that flows through the edges between u
  /// and c (c → u and u → c) summed over layers (edge_flow): exactly the part of both rollouts that
  /// the user's rating of c carries, and what deleting that rating takes away. The default.
  rating_flow,
};

/// Per-item quantities (by item index) that some weightings read besides the two node rollouts.
struct item_signals {
  std::function<double(index_t)> alignment;     ///< <h_c, h_i> (evidence_weighting::aligned)
  std::function<double(index_t)> flow_to_user;  ///< F_u(c) (evidence_weighting::rating_flow)
  std::function<double(index_t)> flow_to_item;  ///< F_i(c) (evidence_weighting::rating_flow)
};

/// What to gather as evidence.
struct evidence_options {
  std::size_t max_items = 2;       ///< rated items to cite
  std::size_t max_users = 5;       ///< contributing users to list
  std::size_t max_tags = 3;        ///< shared tags to keep
  float like_threshold = 4.0f;     ///< only items u rated at least this are cited
  evidence_weighting weighting = evidence_weighting::rating_flow;  ///< how rated items are weighed
  double user_side_weight = 0.5;   ///< w: the share of the virtual score node's attention on h_u
  /// mixture and rating_flow: divide each side's values by their sum over the user's rated items
  /// before mixing, so that h_u's and h_i's rankings of the user's ratings count equally (the raw
  /// h_u side is far larger: u is an endpoint of every rating edge, i of none).
  bool normalize_sides = false;
  rollout_options rollout;         ///< residual weight of the rollout
};

/// A rated item cited as evidence.
struct cited_item {
  index_t item = 0;      ///< item index
  float rating = 0.0f;   ///< u's rating of it (the edge feature of the graph)
  double to_user = 0.0;  ///< R_u[c]: rollout weight into h_u
  double to_item = 0.0;  ///< R_i[c]: rollout weight into h_i
  double alignment = 0.0;     ///< aligned weighting: <h_c, h_i> - R_u-weighted mean over u's rated items
  double flow_to_user = 0.0;  ///< rating_flow weighting: F_u(c)
  double flow_to_item = 0.0;  ///< rating_flow weighting: F_i(c)
  double weight = 0.0;   ///< the evidence weight (evidence_weighting)
};

/// A user who rated the recommended item and shapes its embedding.
struct contributing_user {
  index_t user = 0;      ///< user index
  float rating = 0.0f;   ///< that user's rating of the recommended item
  double weight = 0.0;   ///< R_i[v]
};

/// An attribute of the recommended item that cited items have too.
struct shared_attribute {
  std::string name;            ///< as the recommended item's attributes write it
  std::vector<index_t> items;  ///< the cited items that have it, in citation order
};

/// Everything a justification may say about (user, item).
struct evidence {
  index_t user = 0;
  index_t item = 0;
  double score = 0.0;                       ///< s(u, i) = <h_u, h_i>
  std::vector<cited_item> items;            ///< cited liked items, heaviest first
  std::vector<contributing_user> users;     ///< users who rated i, heaviest first
  std::vector<shared_attribute> genres;     ///< genres of i shared with cited items, most shared first
  std::vector<shared_attribute> tags;       ///< same for tags
  index_t rated_items = 0;                  ///< items u rated in the model's graph
  index_t liked_items = 0;                  ///< of which rated at least like_threshold
  index_t item_raters = 0;                  ///< users who rated i in the model's graph
  float like_threshold = 4.0f;              ///< the threshold used
};

namespace detail {

/// Rollout weights looked up by node (binary search over a copy sorted by node id).
class rollout_lookup {
 public:
  explicit rollout_lookup(std::vector<node_weight> w) : w_(std::move(w)) {
    std::sort(w_.begin(), w_.end(), [](const node_weight& a, const node_weight& b) { return a.node < b.node; });
  }
  double operator()(index_t node) const {
    const auto it = std::lower_bound(w_.begin(), w_.end(), node,
                                     [](const node_weight& a, index_t n) { return a.node < n; });
    return it != w_.end() && it->node == node ? it->weight : 0.0;
  }

 private:
  std::vector<node_weight> w_;
};

/// Sorts entries by key and merges parallel edges (same key) into one with the highest rating.
template <class Entry, class Key>
void merge_parallel(std::vector<Entry>& v, Key key) {
  std::sort(v.begin(), v.end(), [&](const Entry& a, const Entry& b) { return key(a) < key(b); });
  std::size_t out = 0;
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (out > 0 && key(v[out - 1]) == key(v[k])) {
      v[out - 1].rating = std::max(v[out - 1].rating, v[k].rating);
      continue;
    }
    v[out++] = v[k];
  }
  v.resize(out);
}

/// True when two attribute names are equal ignoring ASCII case and outer blanks.
inline bool same_attribute(std::string_view a, std::string_view b) {
  a = trim(a);
  b = trim(b);
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto x = static_cast<unsigned char>(a[k]), y = static_cast<unsigned char>(b[k]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

/// The attributes of the recommended item that cited items have, most shared first (stable).
inline std::vector<shared_attribute> shared_attributes(const std::vector<std::string>& of_item,
                                                       const std::vector<cited_item>& cited,
                                                       const item_catalogue& catalogue, bool tags) {
  std::vector<shared_attribute> out;
  for (const auto& name : of_item) {
    shared_attribute s;
    s.name = name;
    for (const auto& c : cited) {
      const auto& theirs = tags ? catalogue.at(c.item).tags : catalogue.at(c.item).genres;
      if (std::any_of(theirs.begin(), theirs.end(), [&](const std::string& t) { return same_attribute(t, name); }))
        s.items.push_back(c.item);
    }
    const bool repeated = std::any_of(out.begin(), out.end(), [&](const shared_attribute& o) {
      return same_attribute(o.name, name);
    });
    if (!s.items.empty() && !repeated) out.push_back(std::move(s));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const shared_attribute& a, const shared_attribute& b) { return a.items.size() > b.items.size(); });
  return out;
}

}  // namespace detail

/// Every item `user` rated in the graph with its evidence weight (opt.weighting), heaviest first
/// (ties: higher rating, then lower index). A parallel edge counts once, with its highest rating.
/// @param graph the graph the model ran on (its edge feature 0 is the rating)
/// @param user_rollout rollout of the user's node
/// @param item_rollout rollout of the recommended item's node
/// @param user user index
/// @param opt the weighting and w (other fields unused)
/// @param signals what the aligned and rating_flow weightings read (unused by the others)
/// @throw logic_error on an out-of-range user, a graph without edge features, w outside [0, 1],
///        or a weighting whose signals are missing
inline std::vector<cited_item> weigh_rated_items(const bipartite_graph& graph, const std::vector<node_weight>& user_rollout,
                                                 const std::vector<node_weight>& item_rollout, index_t user,
                                                 const evidence_options& opt,
                                                 const item_signals& signals = {}) {
  const double user_side_weight = opt.user_side_weight;
  GATREC_EXPECTS(user >= 0 && user < graph.num_users(),
                 "user " + std::to_string(user) + " is outside [0, " + std::to_string(graph.num_users()) + ")");
  GATREC_EXPECTS(graph.graph().edge_dim() >= 1, "the graph has no rating edge feature");
  GATREC_EXPECTS(user_side_weight >= 0.0 && user_side_weight <= 1.0, "user_side_weight must lie in [0, 1]");
  const csr_graph& g = graph.graph();
  const auto& off = g.in_offsets();
  const auto& src = g.in_sources();
  const auto& feat = g.edge_features();
  const auto d = static_cast<std::size_t>(g.edge_dim());
  const detail::rollout_lookup to_user(user_rollout), to_item(item_rollout);
  const index_t un = graph.user_node(user);
  std::vector<cited_item> rated;
  for (offset_t e = off[static_cast<std::size_t>(un)]; e < off[static_cast<std::size_t>(un) + 1]; ++e) {
    const index_t v = src[static_cast<std::size_t>(e)];
    if (graph.is_user_node(v)) continue;  // the self-loop
    cited_item x;
    x.item = v - graph.num_users();
    x.rating = feat[static_cast<std::size_t>(e) * d];
    rated.push_back(x);
  }
  detail::merge_parallel(rated, [](const cited_item& x) { return x.item; });
  const double w = user_side_weight;
  for (auto& x : rated) {
    x.to_user = to_user(graph.item_node(x.item));
    x.to_item = to_item(graph.item_node(x.item));
    x.weight = opt.weighting == evidence_weighting::shared ? x.to_user * x.to_item
                                                           : w * x.to_user + (1.0 - w) * x.to_item;
  }
  if (opt.weighting == evidence_weighting::aligned) {
    GATREC_EXPECTS(static_cast<bool>(signals.alignment), "the aligned weighting needs the items' alignment <h_c, h_i>");
    double mass = 0.0, mean = 0.0;
    for (auto& x : rated) {
      x.alignment = signals.alignment(x.item);
      mass += x.to_user;
      mean += x.to_user * x.alignment;
    }
    mean = mass > 0.0 ? mean / mass : 0.0;
    for (auto& x : rated) {
      x.alignment -= mean;
      x.weight = x.to_user * x.alignment;
    }
  }
  if (opt.weighting == evidence_weighting::rating_flow) {
    GATREC_EXPECTS(signals.flow_to_user && signals.flow_to_item, "the rating_flow weighting needs the edge flows");
    for (auto& x : rated) {
      x.flow_to_user = signals.flow_to_user(x.item);
      x.flow_to_item = signals.flow_to_item(x.item);
    }
  }
  const bool by_flow = opt.weighting == evidence_weighting::rating_flow;
  if (opt.weighting == evidence_weighting::mixture || by_flow) {
    double su = 1.0, si = 1.0;
    if (opt.normalize_sides) {
      su = si = 0.0;
      for (const auto& x : rated) {
        su += by_flow ? x.flow_to_user : x.to_user;
        si += by_flow ? x.flow_to_item : x.to_item;
      }
      if (su <= 0.0) su = 1.0;
      if (si <= 0.0) si = 1.0;
    }
    for (auto& x : rated)
      x.weight = by_flow ? w * x.flow_to_user / su + (1.0 - w) * x.flow_to_item / si
                         : w * x.to_user / su + (1.0 - w) * x.to_item / si;
  }
  std::sort(rated.begin(), rated.end(), [](const cited_item& a, const cited_item& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    if (a.rating != b.rating) return a.rating > b.rating;
    return a.item < b.item;
  });
  return rated;
}

/// Gathers the evidence for (user, item) from two rollouts.
/// @param graph the graph the model ran on (its edge feature 0 is the rating)
/// @param user_rollout rollout of the user's node (attention_rollout)
/// @param item_rollout rollout of the item's node
/// @param user user index
/// @param item item index
/// @param score the model's s(user, item)
/// @param catalogue titles and attributes by item index
/// @param signals what the aligned and rating_flow weightings read (unused by the others)
/// @throw logic_error on out-of-range indices, a graph without edge features, a catalogue of
///        another size, or user_side_weight outside [0, 1]
inline evidence gather_evidence(const bipartite_graph& graph, const std::vector<node_weight>& user_rollout,
                                const std::vector<node_weight>& item_rollout, index_t user, index_t item, double score,
                                const item_catalogue& catalogue, const evidence_options& opt = {},
                                const item_signals& signals = {}) {
  GATREC_EXPECTS(user >= 0 && user < graph.num_users(),
                 "user " + std::to_string(user) + " is outside [0, " + std::to_string(graph.num_users()) + ")");
  GATREC_EXPECTS(item >= 0 && item < graph.num_items(),
                 "item " + std::to_string(item) + " is outside [0, " + std::to_string(graph.num_items()) + ")");
  GATREC_EXPECTS(catalogue.size() == graph.num_items(), "the catalogue has " + std::to_string(catalogue.size()) +
                                                            " items, the graph " + std::to_string(graph.num_items()));
  GATREC_EXPECTS(graph.graph().edge_dim() >= 1, "the graph has no rating edge feature");
  GATREC_EXPECTS(opt.user_side_weight >= 0.0 && opt.user_side_weight <= 1.0, "user_side_weight must lie in [0, 1]");
  const csr_graph& g = graph.graph();
  const auto& off = g.in_offsets();
  const auto& src = g.in_sources();
  const auto& feat = g.edge_features();
  const auto d = static_cast<std::size_t>(g.edge_dim());
  const detail::rollout_lookup to_item(item_rollout);

  evidence ev;
  ev.user = user;
  ev.item = item;
  ev.score = score;
  ev.like_threshold = opt.like_threshold;

  std::vector<cited_item> rated = weigh_rated_items(graph, user_rollout, item_rollout, user, opt, signals);
  ev.rated_items = static_cast<index_t>(rated.size());
  std::vector<cited_item> liked;
  for (const auto& x : rated)
    if (x.rating >= opt.like_threshold) liked.push_back(x);
  ev.liked_items = static_cast<index_t>(liked.size());
  if (liked.size() > opt.max_items) liked.resize(opt.max_items);
  ev.items = std::move(liked);

  // Users who rated i.
  const index_t in = graph.item_node(item);
  for (offset_t e = off[static_cast<std::size_t>(in)]; e < off[static_cast<std::size_t>(in) + 1]; ++e) {
    const index_t v = src[static_cast<std::size_t>(e)];
    if (!graph.is_user_node(v)) continue;
    ev.users.push_back({v, feat[static_cast<std::size_t>(e) * d], 0.0});
  }
  detail::merge_parallel(ev.users, [](const contributing_user& x) { return x.user; });
  for (auto& x : ev.users) x.weight = to_item(graph.user_node(x.user));
  ev.item_raters = static_cast<index_t>(ev.users.size());
  std::sort(ev.users.begin(), ev.users.end(), [](const contributing_user& a, const contributing_user& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    if (a.rating != b.rating) return a.rating > b.rating;
    return a.user < b.user;
  });
  if (ev.users.size() > opt.max_users) ev.users.resize(opt.max_users);

  const catalogue_item& it = catalogue.at(item);
  ev.genres = detail::shared_attributes(it.genres, ev.items, catalogue, false);
  ev.tags = detail::shared_attributes(it.tags, ev.items, catalogue, true);
  if (ev.tags.size() > opt.max_tags) ev.tags.resize(opt.max_tags);
  return ev;
}

/// s(user, item) = <h_u, h_i> from a recommender's last forward pass, in double precision.
/// @throw logic_error when no forward pass has run or an index is out of range
template <class Scalar>
double embedding_score(const gat_recommender<Scalar>& model, index_t user, index_t item) {
  GATREC_EXPECTS(!model.context().outputs.empty(), "run model.forward(run_mode{}) first");
  GATREC_EXPECTS(!model.options().normalize_output,
                 "explanations read the encoder's raw output; models with normalize_output are not supported");
  const auto& h = model.context().outputs.back();
  GATREC_EXPECTS(user >= 0 && user < model.num_users() && item >= 0 && item < model.num_items(),
                 "user or item index out of range");
  return h.row(model.graph().user_node(user)).template cast<double>().dot(
      h.row(model.graph().item_node(item)).template cast<double>());
}

/// The signals of item_signals for (user, item) from a recommender's last forward pass, computed
/// when `weighting` needs them: <h_c, h_i> reads the final embeddings; the edge flows walk both
/// rollouts layer by layer. The returned functions refer to the model (and copies of `layers`): they
/// are valid until its next forward pass.
template <class Scalar>
item_signals recommender_signals(const gat_recommender<Scalar>& model, const std::vector<layer_attention<Scalar>>& layers,
                                 index_t user, index_t item, evidence_weighting weighting) {
  GATREC_EXPECTS(!model.context().outputs.empty(), "run model.forward(run_mode{}) first");
  GATREC_EXPECTS(!model.options().normalize_output,
                 "explanations read the encoder's raw output; models with normalize_output are not supported");
  GATREC_EXPECTS(user >= 0 && user < model.num_users() && item >= 0 && item < model.num_items(),
                 "user or item index out of range");
  item_signals s;
  const bipartite_graph* g = &model.graph();
  if (weighting == evidence_weighting::aligned) {
    const matrix<Scalar>* h = &model.context().outputs.back();
    const index_t target = g->item_node(item);
    s.alignment = [h, target, g](index_t c) {
      return h->row(g->item_node(c)).template cast<double>().dot(h->row(target).template cast<double>());
    };
  }
  if (weighting == evidence_weighting::rating_flow) {
    const index_t un = g->user_node(user);
    const auto flow_into = [&](index_t target) -> std::function<double(index_t)> {
      auto by_layer = std::make_shared<const std::vector<std::vector<node_weight>>>(
          rollout_by_layer(g->graph(), layers, target));
      return [g, layers, by_layer, un](index_t c) {
        const index_t cn = g->item_node(c);
        std::vector<offset_t> edges = g->graph().edge_ids(cn, un);
        for (const offset_t e : g->graph().edge_ids(un, cn)) edges.push_back(e);
        return edge_flow(g->graph(), layers, *by_layer, edges);
      };
    };
    s.flow_to_user = flow_into(un);
    s.flow_to_item = flow_into(g->item_node(item));
  }
  return s;
}

/// The evidence for recommending `item` to `user`, from a trained recommender's last forward pass
/// (call model.forward(run_mode{}) first).
/// @throw logic_error as gather_evidence and attention_rollout
template <class Scalar>
evidence explain_recommendation(gat_recommender<Scalar>& model, index_t user, index_t item,
                                const item_catalogue& catalogue, const evidence_options& opt = {}) {
  GATREC_EXPECTS(user >= 0 && user < model.num_users() && item >= 0 && item < model.num_items(),
                 "user or item index out of range");
  const auto& bg = model.graph();
  const auto layers = rollout_layers(model.encoder(), model.context(), bg.graph(), opt.rollout);
  const auto ru = attention_rollout(bg.graph(), layers, bg.user_node(user), opt.rollout);
  const auto ri = attention_rollout(bg.graph(), layers, bg.item_node(item), opt.rollout);
  return gather_evidence(bg, ru, ri, user, item, embedding_score(model, user, item), catalogue, opt,
                         recommender_signals(model, layers, user, item, opt.weighting));
}

}  // namespace gatrec
