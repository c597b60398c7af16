#pragma once

/// @file
/// @brief The user-item graph: nodes 0..U-1 are users, U..U+I-1 items, every rating an edge in both
/// directions carrying the rating as a 1-d edge feature.

#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/graph/csr_graph.hpp"

namespace gatrec {

/// A bipartite user-item graph over a csr_graph.
class bipartite_graph {
 public:
  bipartite_graph() = default;

  /// Builds the graph from ratings by index.
  /// @throw logic_error when a rating names a user or item outside the given counts
  bipartite_graph(index_t num_users, index_t num_items, const rating_table& ratings,
                  const graph_options& options = {})
      : num_users_(num_users), num_items_(num_items) {
    GATREC_EXPECTS(num_users >= 0 && num_items >= 0, "negative user or item count");
    const std::size_t m = ratings.size();
    std::vector<index_t> src, dst;
    std::vector<float> feat;
    src.reserve(2 * m);
    dst.reserve(2 * m);
    feat.reserve(2 * m);
    for (std::size_t k = 0; k < m; ++k) {
      const index_t u = ratings.user[k], i = ratings.item[k];
      if (u < 0 || u >= num_users)
        detail::throw_logic_error(__func__, "rating " + std::to_string(k) + " has user index " +
                                                std::to_string(u) + " outside [0, " + std::to_string(num_users) + ")");
      if (i < 0 || i >= num_items)
        detail::throw_logic_error(__func__, "rating " + std::to_string(k) + " has item index " +
                                                std::to_string(i) + " outside [0, " + std::to_string(num_items) + ")");
      const index_t item_node = num_users + i;
      src.push_back(u);  // user -> item
      dst.push_back(item_node);
      feat.push_back(ratings.rating[k]);
      src.push_back(item_node);  // item -> user
      dst.push_back(u);
      feat.push_back(ratings.rating[k]);
    }
    graph_ = csr_graph(num_users + num_items, src, dst, feat, 1, options);
  }

  index_t num_users() const { return num_users_; }
  index_t num_items() const { return num_items_; }
  index_t num_nodes() const { return graph_.num_nodes(); }
  offset_t num_edges() const { return graph_.num_edges(); }

  /// Node id of user u.
  index_t user_node(index_t u) const { return u; }
  /// Node id of item i.
  index_t item_node(index_t i) const { return num_users_ + i; }
  bool is_user_node(index_t v) const { return v < num_users_; }

  /// The underlying directed graph (what attention layers consume).
  const csr_graph& graph() const { return graph_; }

 private:
  index_t num_users_ = 0;
  index_t num_items_ = 0;
  csr_graph graph_;
};

}  // namespace gatrec
