#pragma once

/// @file
/// @brief The initial node features of a dataset: one vector per user and per item, in the
/// dataset's index order, looked up by raw id in embedding providers.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/embeddings/provider.hpp"

namespace gatrec {

/// Turns a raw dataset id into a provider key.
using id_key_function = std::function<std::string(raw_id_t)>;

/// The default key of a raw id: its decimal form ("42"), as tools/embed_profiles.py writes ids.
inline std::string decimal_key(raw_id_t raw) { return std::to_string(raw); }

/// The keys of every index of `ids`, in index order.
/// @param ids the id map
/// @param key how a raw id becomes a key (decimal by default)
inline std::vector<std::string> node_keys(const id_map& ids, const id_key_function& key = decimal_key) {
  std::vector<std::string> keys;
  keys.reserve(ids.raw_ids().size());
  for (const raw_id_t raw : ids.raw_ids()) keys.push_back(key(raw));
  return keys;
}

/// One matrix of node vectors, row i for index i of `ids`.
/// @param provider the vectors
/// @param ids the index <-> raw id map of the nodes
/// @param what the kind of node, for messages ("users", "items")
/// @param key how a raw id becomes a key
/// @return (ids.size() x provider.dim())
/// @throw missing_keys_error naming `what` and the first few raw ids without a vector
inline matrix<float> node_feature_matrix(const embedding_provider& provider, const id_map& ids,
                                         const std::string& what = "nodes", const id_key_function& key = decimal_key) {
  const std::vector<std::string> keys = node_keys(ids, key);
  lookup_result r = provider.try_lookup(keys);
  if (!r.complete())
    throw missing_keys_error(what + " from " + provider.description(), std::move(r.missing_keys), keys.size());
  return std::move(r.vectors);
}

/// User and item feature matrices of one dataset.
struct node_features {
  matrix<float> users;  ///< (num_users, dim), row u for user index u
  matrix<float> items;  ///< (num_items, dim), row i for item index i
};

/// Keys of user and item raw ids (they live in separate providers, so the same number may name
/// a user and an item).
struct node_feature_keys {
  id_key_function user = decimal_key;
  id_key_function item = decimal_key;
};

/// The user and item feature matrices, in dataset index order.
/// @param user_vectors vectors of users, keyed by user id
/// @param users the user id map (dataset::users)
/// @param item_vectors vectors of items, keyed by item id
/// @param items the item id map (dataset::items)
/// @param keys how raw ids become keys
/// @throw logic_error when users and items have different widths (a GAT layer needs one)
/// @throw missing_keys_error naming "users" or "items" and the first few missing ids
inline node_features build_node_features(const embedding_provider& user_vectors, const id_map& users,
                                         const embedding_provider& item_vectors, const id_map& items,
                                         const node_feature_keys& keys = {}) {
  GATREC_EXPECTS(user_vectors.dim() == item_vectors.dim(),
                 "user vectors have " + std::to_string(user_vectors.dim()) + " dimensions (" +
                     user_vectors.description() + ") but item vectors have " + std::to_string(item_vectors.dim()) +
                     " (" + item_vectors.description() + ")");
  node_features f;
  f.users = node_feature_matrix(user_vectors, users, "users", keys.user);
  f.items = node_feature_matrix(item_vectors, items, "items", keys.item);
  return f;
}

/// The user and item feature matrices of `data`; see the overload with id maps.
inline node_features build_node_features(const embedding_provider& user_vectors,
                                         const embedding_provider& item_vectors, const dataset& data,
                                         const node_feature_keys& keys = {}) {
  return build_node_features(user_vectors, data.users, item_vectors, data.items, keys);
}

}  // namespace gatrec
