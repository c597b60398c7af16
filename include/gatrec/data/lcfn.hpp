#pragma once

/// @file
/// @brief The implicit-feedback format of LCFN, LightGCN, UltraGCN and SimpleX: one line per user,
/// `user item item ...`, 0-based ids already remapped, no ratings or times.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/data/data_dir.hpp"
#include "gatrec/data/file_bytes.hpp"
#include "gatrec/data/id_lookup.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/rating_records.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// What load_lcfn does with a test interaction whose user or item never occurs in the training
/// file (a cold-start id the model has no training signal for).
enum class unseen_ids {
  reject,  ///< parse_error naming the field (the published splits have none, so one means a mix-up)
  extend,  ///< give the id a new index after all training ids (a cold-start node with no train edges)
  drop,    ///< leave the interaction out of the test set and count it in lcfn_data::dropped_test
};

/// An LCFN-format dataset with its split.
struct lcfn_data {
  dataset data;               ///< id maps and every kept interaction (train, then test)
  split parts;                ///< train and test; validation empty (see carve_validation)
  std::size_t dropped_test = 0;  ///< test interactions left out under unseen_ids::drop
};

namespace detail {

/// One LCFN file as raw ids: the users by line, and for each interaction its line's user.
struct lcfn_raw {
  std::vector<raw_id_t> line_users;  // every user with a line, in file order
  std::vector<raw_id_t> user;        // (interactions)
  std::vector<raw_id_t> item;        // (interactions)
  std::vector<std::size_t> line;     // (interactions) 1-based line, for errors after the parse
};

inline lcfn_raw read_lcfn_raw(const std::filesystem::path& path) {
  const std::string file = path.string();
  const file_bytes bytes(path);
  const std::string_view text = bytes.view();
  lcfn_raw out;
  std::unordered_map<raw_id_t, std::size_t> user_line;
  std::vector<std::string_view> words;
  std::vector<raw_id_t> items;
  line_reader lines(text);
  std::string_view line;
  while (lines.next(line)) {
    split_whitespace(line, words);
    if (words.empty()) continue;  // blank
    const std::size_t ln = lines.line_number();
    const raw_id_t u = parse_raw_id(words[0], file, ln, "user_id");
    const auto [it, fresh] = user_line.try_emplace(u, ln);
    if (!fresh)
      throw parse_error(file, ln, "user_id",
                        "user " + std::to_string(u) + " already has a line (line " + std::to_string(it->second) + ")");
    out.line_users.push_back(u);
    items.clear();
    for (std::size_t k = 1; k < words.size(); ++k) items.push_back(parse_raw_id(words[k], file, ln, "item_id"));
    // A repeated item would count twice in training and in every metric: refuse it.
    std::vector<raw_id_t> sorted = items;
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end())
      throw parse_error(file, ln, "item_id", "item " + std::to_string(*dup) + " listed twice for user " + std::to_string(u));
    for (const raw_id_t i : items) {
      out.user.push_back(u);
      out.item.push_back(i);
      out.line.push_back(ln);
    }
  }
  if (out.line_users.empty()) throw parse_error(file, 0, "", "no users (empty file)");
  return out;
}

}  // namespace detail

/// Loads an LCFN-format split. Users are those with a line in the training file (a line with no
/// items is a user without training interactions); items those listed in it. Indices follow
/// ascending raw id, so for the usual dense 0-based files index == raw id. Every interaction has
/// rating 1 and timestamp 0; dataset::ratings holds train followed by the kept test interactions.
/// @param train_file the training file
/// @param test_file the test file in the same format, or an empty path for none
/// @param unseen what to do with test users or items absent from the training file
/// @throw io_error when a file cannot be read
/// @throw parse_error for a malformed id, a user with two lines, an item repeated on one line, an
///        empty training file, or (unseen_ids::reject) an unseen test id
inline lcfn_data load_lcfn(const std::filesystem::path& train_file, const std::filesystem::path& test_file = {},
                           unseen_ids unseen = unseen_ids::reject) {
  lcfn_data out;
  dataset& ds = out.data;
  ds.name = detail::folder_name(train_file.parent_path());
  if (ds.name.empty()) ds.name = "lcfn";
  ds.min_rating = 1.0f;
  ds.max_rating = 1.0f;

  const detail::lcfn_raw train = detail::read_lcfn_raw(train_file);
  {
    std::vector<raw_id_t> users = train.line_users, items = train.item;
    std::sort(users.begin(), users.end());
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    ds.users.reserve(users.size());
    ds.items.reserve(items.size());
    for (const raw_id_t u : users) ds.users.insert(u);
    for (const raw_id_t i : items) ds.items.insert(i);
  }
  id_lookup users(ds.users), items(ds.items);
  out.parts.train.reserve(train.user.size());
  for (std::size_t k = 0; k < train.user.size(); ++k)
    out.parts.train.push_back(users.find(train.user[k]), items.find(train.item[k]), 1.0f, 0);

  if (!test_file.empty()) {
    const std::string file = test_file.string();
    const detail::lcfn_raw test = detail::read_lcfn_raw(test_file);
    // New ids are numbered after all training ids, in ascending order, whatever their file order.
    std::vector<raw_id_t> new_users, new_items;
    for (std::size_t k = 0; k < test.user.size(); ++k) {
      const bool user_known = users.find(test.user[k]) >= 0;
      const bool item_known = items.find(test.item[k]) >= 0;
      if (user_known && item_known) continue;
      if (unseen == unseen_ids::reject) {
        const bool bad_user = !user_known;
        throw parse_error(file, test.line[k], bad_user ? "user_id" : "item_id",
                          std::string(bad_user ? "user " : "item ") +
                              std::to_string(bad_user ? test.user[k] : test.item[k]) +
                              " does not occur in the training file " + train_file.string());
      }
      if (unseen == unseen_ids::extend) {
        if (!user_known) new_users.push_back(test.user[k]);
        if (!item_known) new_items.push_back(test.item[k]);
      }
    }
    for (auto* v : {&new_users, &new_items}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    for (const raw_id_t u : new_users) users.insert(u);
    for (const raw_id_t i : new_items) items.insert(i);
    out.parts.test.reserve(test.user.size());
    for (std::size_t k = 0; k < test.user.size(); ++k) {
      const index_t u = users.find(test.user[k]), i = items.find(test.item[k]);
      if (u < 0 || i < 0) {
        ++out.dropped_test;
        continue;
      }
      out.parts.test.push_back(u, i, 1.0f, 0);
    }
  }

  ds.ratings = out.parts.train;
  for (std::size_t k = 0; k < out.parts.test.size(); ++k)
    ds.ratings.push_back(out.parts.test.user[k], out.parts.test.item[k], 1.0f, 0);
  return out;
}

}  // namespace gatrec
