#pragma once

/// @file
/// @brief Ratings as structure-of-arrays, and the maps between raw dataset ids and indices.

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// A bijection between raw ids (as written in a dataset file) and contiguous indices 0..size()-1,
/// in order of first insertion.
class id_map {
 public:
  /// Returns the index of `raw`, adding it at the end when it is new.
  index_t insert(raw_id_t raw) {
    auto [it, inserted] = to_index_.try_emplace(raw, static_cast<index_t>(to_raw_.size()));
    if (inserted) to_raw_.push_back(raw);
    return it->second;
  }

  /// The index of `raw`, if known.
  std::optional<index_t> find(raw_id_t raw) const {
    auto it = to_index_.find(raw);
    if (it == to_index_.end()) return std::nullopt;
    return it->second;
  }

  /// True when `raw` is known.
  bool contains(raw_id_t raw) const { return to_index_.count(raw) != 0; }

  /// The index of `raw`. @throw logic_error when `raw` is unknown.
  index_t at(raw_id_t raw) const {
    auto it = to_index_.find(raw);
    if (it == to_index_.end()) detail::throw_logic_error(__func__, "unknown id " + std::to_string(raw));
    return it->second;
  }

  /// The raw id of index `i`. @throw logic_error when out of range.
  raw_id_t raw(index_t i) const {
    if (i < 0 || static_cast<std::size_t>(i) >= to_raw_.size())
      detail::throw_logic_error(__func__, "index " + std::to_string(i) + " out of range [0, " +
                                              std::to_string(to_raw_.size()) + ")");
    return to_raw_[static_cast<std::size_t>(i)];
  }

  index_t size() const { return static_cast<index_t>(to_raw_.size()); }
  bool empty() const { return to_raw_.empty(); }
  void reserve(std::size_t n) {
    to_raw_.reserve(n);
    to_index_.reserve(n);
  }
  /// All raw ids, in index order.
  const std::vector<raw_id_t>& raw_ids() const { return to_raw_; }

 private:
  std::vector<raw_id_t> to_raw_;
  std::unordered_map<raw_id_t, index_t> to_index_;
};

/// A list of (user, item, rating, timestamp) records by index, stored as parallel arrays.
/// Implicit-feedback data uses rating 1 and timestamp 0.
struct rating_table {
  std::vector<index_t> user;
  std::vector<index_t> item;
  std::vector<float> rating;
  std::vector<std::int64_t> timestamp;

  std::size_t size() const { return user.size(); }
  bool empty() const { return user.empty(); }
  void reserve(std::size_t n) {
    user.reserve(n);
    item.reserve(n);
    rating.reserve(n);
    timestamp.reserve(n);
  }
  void push_back(index_t u, index_t i, float r, std::int64_t t = 0) {
    user.push_back(u);
    item.push_back(i);
    rating.push_back(r);
    timestamp.push_back(t);
  }
  void clear() {
    user.clear();
    item.clear();
    rating.clear();
    timestamp.clear();
  }
};

/// What is known of an item besides its ratings.
struct item_info {
  std::string title;                ///< UTF-8, without the "(year)" suffix when it could be split off
  int year = 0;                     ///< release year, 0 when unknown
  std::vector<std::string> genres;  ///< genre names
  std::string release_date;         ///< as the source writes it (ML-100K "01-Jan-1995"), or empty
  std::string imdb_url;             ///< ML-100K's IMDb link, or empty
  std::string imdb_id;              ///< IMDb number as links.csv writes it (leading zeros kept), or empty
  std::int64_t tmdb_id = 0;         ///< TMDB id from links.csv, 0 when unknown
  std::vector<std::string> tags;    ///< distinct user tags (tags.csv, tags.dat), in order of first use
};

/// What is known of a user besides their ratings (MovieLens 100K / 1M demographics).
struct user_info {
  int age = 0;              ///< age (ML-100K) or age-group code (ML-1M); 0 when unknown
  std::string gender;       ///< "M", "F" or empty
  std::string occupation;   ///< name (ML-100K) or code (ML-1M)
  std::string zip;
};

/// A whole dataset: id maps for users and items, their metadata (by index; may be empty), and all
/// ratings the source provides.
struct dataset {
  std::string name;
  id_map users;
  id_map items;
  std::vector<user_info> user_meta;  ///< by user index, or empty
  std::vector<item_info> item_meta;  ///< by item index, or empty
  rating_table ratings;              ///< every rating of the source (may be empty for split-only sources)
  float min_rating = 1.0f;           ///< valid rating range of the source, for checks
  float max_rating = 5.0f;

  index_t num_users() const { return users.size(); }
  index_t num_items() const { return items.size(); }
};

/// Train / validation / test ratings over one dataset's index space.
struct split {
  rating_table train;
  rating_table validation;
  rating_table test;
};

}  // namespace gatrec
