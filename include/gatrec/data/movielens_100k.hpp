#pragma once

/// @file
/// @brief MovieLens 100K: u.user, u.item (latin-1), u.genre, u.data and the official folds
/// u1..u5 / ua / ub.

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "gatrec/core/error.hpp"
#include "gatrec/data/data_dir.hpp"
#include "gatrec/data/file_bytes.hpp"
#include "gatrec/data/id_lookup.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/movie_title.hpp"
#include "gatrec/data/rating_records.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// The 19 ML-100K genres, in the order of u.genre and of u.item's genre flags.
inline constexpr std::array<std::string_view, 19> movielens_100k_genres = {
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western"};

/// The official ML-100K folds: u1..u5 (five disjoint 20% test sets) and ua / ub (10 test ratings
/// per user).
inline constexpr std::array<std::string_view, 7> movielens_100k_folds = {"u1", "u2", "u3", "u4",
                                                                         "u5", "ua", "ub"};

namespace detail {

/// Checks u.genre against the hard-coded list, so that a different genre order cannot silently
/// relabel every item.
inline void check_u_genre(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::string text = read_file(path);
  line_reader lines(text);
  std::string_view line;
  std::size_t seen = 0;
  std::string_view f[3];
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    if (split_fields(line, '|', f, 3) != 2)
      throw parse_error(file, ln, "", "expected 'name|index', found " + quote(line));
    const auto index = parse_integer<int>(f[1], file, ln, "genre_index");
    if (index < 0 || static_cast<std::size_t>(index) >= movielens_100k_genres.size() ||
        trim(f[0]) != movielens_100k_genres[static_cast<std::size_t>(index)])
      throw parse_error(file, ln, "genre",
                        quote(line) + " differs from the documented ML-100K genre list (" +
                            (index >= 0 && static_cast<std::size_t>(index) < movielens_100k_genres.size()
                                 ? "index " + std::to_string(index) + " is '" +
                                       std::string(movielens_100k_genres[static_cast<std::size_t>(index)]) + "'"
                                 : std::string("index out of range")) +
                            ")");
    ++seen;
  }
  if (seen != movielens_100k_genres.size())
    throw parse_error(file, 0, "", "expected " + std::to_string(movielens_100k_genres.size()) + " genres, found " +
                                       std::to_string(seen));
}

inline void read_u_user(const std::filesystem::path& path, dataset& ds) {
  const std::string file = path.string();
  const std::string text = to_utf8(read_file(path));
  line_reader lines(text);
  std::string_view line;
  std::string_view f[6];
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    const std::size_t n = split_fields(line, '|', f, 6);
    if (n != 5)
      throw parse_error(file, ln, "", "expected 5 fields (id|age|gender|occupation|zip), found " + std::to_string(n) +
                                          ": " + quote(line, 60));
    const raw_id_t id = parse_raw_id(f[0], file, ln, "user_id");
    user_info info;
    info.age = parse_integer<int>(f[1], file, ln, "age");
    if (info.age < 0 || info.age > 150) throw parse_error(file, ln, "age", "implausible age " + quote(f[1]));
    info.gender = std::string(trim(f[2]));
    if (info.gender != "M" && info.gender != "F")
      throw parse_error(file, ln, "gender", "expected 'M' or 'F', found " + quote(f[2]));
    info.occupation = std::string(trim(f[3]));
    info.zip = std::string(trim(f[4]));
    if (ds.users.contains(id)) throw parse_error(file, ln, "user_id", "duplicate user id " + std::to_string(id));
    ds.users.insert(id);
    ds.user_meta.push_back(std::move(info));
  }
  if (ds.users.empty()) throw parse_error(file, 0, "", "no users (empty file)");
}

inline void read_u_item(const std::filesystem::path& path, dataset& ds) {
  const std::string file = path.string();
  const std::string text = to_utf8(read_file(path));  // u.item is latin-1
  constexpr std::size_t num_fields = 5 + movielens_100k_genres.size();
  line_reader lines(text);
  std::string_view line;
  std::string_view f[num_fields + 1];
  std::string genre_field;
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    const std::size_t n = split_fields(line, '|', f, num_fields + 1);
    if (n != num_fields)
      throw parse_error(file, ln, "", "expected " + std::to_string(num_fields) +
                                          " fields (id|title|release date|video date|IMDb URL|19 genre flags), found " +
                                          std::to_string(n) + ": " + quote(line, 60));
    const raw_id_t id = parse_raw_id(f[0], file, ln, "item_id");
    auto [title, year] = split_title_year(f[1]);
    item_info info;
    info.title = std::move(title);
    info.release_date = std::string(trim(f[2]));
    info.imdb_url = std::string(trim(f[4]));
    const std::string_view date = info.release_date;  // "01-Jan-1995"
    if (year == 0 && date.size() >= 4 && std::all_of(date.end() - 4, date.end(), is_digit))
      year = four_digits(date.substr(date.size() - 4));
    info.year = year;
    for (std::size_t g = 0; g < movielens_100k_genres.size(); ++g) {
      const std::string_view flag = trim(f[5 + g]);
      if (flag == "1") {
        info.genres.emplace_back(movielens_100k_genres[g]);
      } else if (flag != "0") {
        genre_field = "genre:";
        genre_field += movielens_100k_genres[g];
        throw parse_error(file, ln, genre_field, "expected a 0/1 genre flag, found " + quote(f[5 + g]));
      }
    }
    if (ds.items.contains(id)) throw parse_error(file, ln, "item_id", "duplicate item id " + std::to_string(id));
    ds.items.insert(id);
    ds.item_meta.push_back(std::move(info));
  }
  if (ds.items.empty()) throw parse_error(file, 0, "", "no items (empty file)");
}

}  // namespace detail

/// Reads an ML-100K ratings file (u.data, uN.base, uN.test): `user TAB item TAB rating TAB time`,
/// whole stars 1..5, every id known to `ds`.
/// @param file the ratings file
/// @param ds the dataset whose users and items the ids must name (from load_movielens_100k)
/// @return the ratings by index, in file order
/// @throw io_error when the file cannot be read
/// @throw parse_error for a malformed line, an unknown id (field user_id / item_id), a rating off
///        the scale, or an empty file
inline rating_table read_movielens_100k_ratings(const std::filesystem::path& file, const dataset& ds) {
  const std::string name = file.string();
  const file_bytes bytes(file);
  rating_table out = parse_known_rating_records(bytes.view(), name, 1, "\t", ds, whole_stars);
  if (out.empty()) throw parse_error(name, 0, "", "no ratings (empty file)");
  return out;
}

/// Loads MovieLens 100K from its folder: users from u.user (indices in file order, demographics in
/// user_meta), items from u.item (indices in file order; titles converted to UTF-8 and split from
/// their year, which falls back to the release date; genre names from the flags), all ratings
/// from u.data. u.genre, when present, must match movielens_100k_genres.
/// @param dir the ml-100k folder
/// @throw io_error when a required file cannot be read
/// @throw parse_error for any malformed line (file, line and field named)
inline dataset load_movielens_100k(const std::filesystem::path& dir) {
  dataset ds;
  ds.name = "ml-100k";
  ds.min_rating = 1.0f;
  ds.max_rating = 5.0f;
  if (detail::is_file(dir / "u.genre")) detail::check_u_genre(dir / "u.genre");
  detail::read_u_user(dir / "u.user", ds);
  detail::read_u_item(dir / "u.item", ds);
  ds.ratings = read_movielens_100k_ratings(dir / "u.data", ds);
  return ds;
}

/// Loads one official ML-100K fold: train from `<fold>.base`, test from `<fold>.test`, no
/// validation (carve one from train with carve_validation).
/// @param dir the ml-100k folder
/// @param fold one of u1, u2, u3, u4, u5, ua, ub
/// @param ds the dataset from load_movielens_100k(dir), whose indices the split uses
/// @throw logic_error for any other fold name, or an empty dataset
/// @throw io_error, parse_error as read_movielens_100k_ratings
inline split load_movielens_100k_fold(const std::filesystem::path& dir, const std::string& fold, const dataset& ds) {
  GATREC_EXPECTS(std::find(movielens_100k_folds.begin(), movielens_100k_folds.end(), fold) != movielens_100k_folds.end(),
                 "unknown ML-100K fold '" + fold + "' (expected u1, u2, u3, u4, u5, ua or ub)");
  GATREC_EXPECTS(ds.num_users() > 0 && ds.num_items() > 0, "the dataset has no users or items; load it first");
  split s;
  s.train = read_movielens_100k_ratings(dir / (fold + ".base"), ds);
  s.test = read_movielens_100k_ratings(dir / (fold + ".test"), ds);
  return s;
}

}  // namespace gatrec
