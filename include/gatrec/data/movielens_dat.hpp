#pragma once

/// @file
/// @brief MovieLens 1M and 10M: "::"-separated movies.dat, users.dat (1M only), ratings.dat and
/// tags.dat (10M only), latin-1 text.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>

#include "gatrec/core/error.hpp"
#include "gatrec/data/data_dir.hpp"
#include "gatrec/data/file_bytes.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/movie_title.hpp"
#include "gatrec/data/rating_records.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// Reads movies.dat (`id::Title (Year)::Genre|Genre`) into `ds.items` and `ds.item_meta`, in file
/// order. The id is what precedes the first "::" and the genres what follows the last, so a title
/// holding "::" or ending with ":" still parses. Text is converted to UTF-8 (latin-1 unless the
/// file already is valid UTF-8).
/// @param file the movies.dat file
/// @param ds the dataset to fill
/// @throw io_error when the file cannot be read
/// @throw parse_error for a malformed line, a duplicate id or an empty file
inline void read_movies_dat(const std::filesystem::path& file, dataset& ds) {
  const std::string name = file.string();
  const std::string text = to_utf8(read_file(file));
  line_reader lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    const std::size_t first = line.find("::");
    const std::size_t last = line.rfind("::");
    if (first == std::string_view::npos || last == first)
      throw parse_error(name, ln, "", "expected 'id::title::genres', found " + detail::quote(line, 60));
    const raw_id_t id = detail::parse_raw_id(line.substr(0, first), name, ln, "item_id");
    auto [title, year] = split_title_year(line.substr(first + 2, last - first - 2));
    item_info info;
    info.title = std::move(title);
    info.year = year;
    info.genres = split_genres(line.substr(last + 2));
    if (ds.items.contains(id)) throw parse_error(name, ln, "item_id", "duplicate item id " + std::to_string(id));
    ds.items.insert(id);
    ds.item_meta.push_back(std::move(info));
  }
  if (ds.items.empty()) throw parse_error(name, 0, "", "no movies (empty file)");
}

/// Reads ML-1M's users.dat (`id::gender::age::occupation::zip`) into `ds.users` and
/// `ds.user_meta`, in file order. Age is ML-1M's age-group code (1, 18, 25, 35, 45, 50, 56) and
/// occupation its code 0..20, kept as written.
/// @param file the users.dat file
/// @param ds the dataset to fill
/// @throw io_error when the file cannot be read
/// @throw parse_error for a malformed line, an unknown code, a duplicate id or an empty file
inline void read_users_dat(const std::filesystem::path& file, dataset& ds) {
  const std::string name = file.string();
  const std::string text = to_utf8(read_file(file));
  line_reader lines(text);
  std::string_view line;
  std::string_view f[6];
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    const std::size_t n = split_fields(line, "::", f, 6);
    if (n != 5)
      throw parse_error(name, ln, "", "expected 5 fields (id::gender::age::occupation::zip), found " +
                                          std::to_string(n) + ": " + detail::quote(line, 60));
    const raw_id_t id = detail::parse_raw_id(f[0], name, ln, "user_id");
    user_info info;
    info.gender = std::string(trim(f[1]));
    if (info.gender != "M" && info.gender != "F")
      throw parse_error(name, ln, "gender", "expected 'M' or 'F', found " + detail::quote(f[1]));
    info.age = parse_integer<int>(f[2], name, ln, "age");
    if (info.age != 1 && info.age != 18 && info.age != 25 && info.age != 35 && info.age != 45 && info.age != 50 &&
        info.age != 56)
      throw parse_error(name, ln, "age", "unknown ML-1M age group " + detail::quote(f[2]) +
                                             " (expected 1, 18, 25, 35, 45, 50 or 56)");
    const int occupation = parse_integer<int>(f[3], name, ln, "occupation");
    if (occupation < 0 || occupation > 20)
      throw parse_error(name, ln, "occupation", "unknown ML-1M occupation code " + detail::quote(f[3]) +
                                                    " (expected 0..20)");
    info.occupation = std::to_string(occupation);
    info.zip = std::string(trim(f[4]));
    if (ds.users.contains(id)) throw parse_error(name, ln, "user_id", "duplicate user id " + std::to_string(id));
    ds.users.insert(id);
    ds.user_meta.push_back(std::move(info));
  }
  if (ds.users.empty()) throw parse_error(name, 0, "", "no users (empty file)");
}

/// Reads a ratings.dat file (`user::item::rating::time`), such as ML-1M's full ratings.dat or a
/// subset of its lines.
/// @param file the ratings file
/// @param ds the dataset whose id maps resolve the ids (movies from read_movies_dat, users from
///        read_users_dat or added here)
/// @param options unknown-id policies (ML-10M has no users file: use unknown_ids::add for users)
///        and the rating scale (whole_stars for ML-1M, half_stars for ML-10M)
/// @return the ratings by index, in file order
/// @throw io_error when the file cannot be read
/// @throw parse_error for a malformed line, an unknown id (user_id / item_id), a rating off the
///        scale, or an empty file
inline rating_table read_ratings_dat(const std::filesystem::path& file, dataset& ds,
                                     const rating_read_options& options) {
  const std::string name = file.string();
  const file_bytes bytes(file);
  rating_table out = parse_rating_records(bytes.view(), name, 1, "::", ds, options);
  if (out.empty()) throw parse_error(name, 0, "", "no ratings (empty file)");
  return out;
}

/// Reads ML-10M's tags.dat (`user::item::tag::time`) into the items' distinct tags. The tag is
/// everything between the second and the last "::".
/// @throw io_error when the file cannot be read
/// @throw parse_error for a malformed line or an unknown movie id
inline void read_tags_dat(const std::filesystem::path& file, dataset& ds) {
  const std::string name = file.string();
  const std::string text = to_utf8(read_file(file));
  if (ds.item_meta.size() < static_cast<std::size_t>(ds.num_items()))
    ds.item_meta.resize(static_cast<std::size_t>(ds.num_items()));
  const id_lookup items(static_cast<const id_map&>(ds.items));
  std::unordered_set<std::string> seen;  // "item\ttag", to keep each item's tags distinct
  line_reader lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    const std::size_t s1 = line.find("::");
    const std::size_t s2 = s1 == std::string_view::npos ? s1 : line.find("::", s1 + 2);
    const std::size_t s3 = line.rfind("::");
    if (s2 == std::string_view::npos || s3 == s2)
      throw parse_error(name, ln, "", "expected 'user::item::tag::time', found " + detail::quote(line, 60));
    detail::parse_raw_id(line.substr(0, s1), name, ln, "user_id");
    const raw_id_t raw = detail::parse_raw_id(line.substr(s1 + 2, s2 - s1 - 2), name, ln, "item_id");
    parse_integer<std::int64_t>(line.substr(s3 + 2), name, ln, "timestamp");
    const index_t item = items.find(raw);
    if (item < 0) throw parse_error(name, ln, "item_id", "unknown item id " + std::to_string(raw));
    const std::string_view tag = trim(line.substr(s2 + 2, s3 - s2 - 2));
    if (tag.empty()) continue;
    if (seen.insert(std::to_string(item) + '\t' + std::string(tag)).second)
      ds.item_meta[static_cast<std::size_t>(item)].tags.emplace_back(tag);
  }
}

/// Loads MovieLens 1M or 10M from its folder. movies.dat and ratings.dat are required. With
/// users.dat (ML-1M) users come from it, in file order, every rating must name a known user, and
/// ratings are whole stars 1..5; without it (ML-10M) users are numbered in order of first
/// appearance in ratings.dat and ratings are half stars 0.5..5. tags.dat is read when present.
/// @param dir the dataset folder (ml-1m, ml-10M100K)
/// @throw io_error when a required file cannot be read
/// @throw parse_error for any malformed line (file, line and field named)
inline dataset load_movielens_dat(const std::filesystem::path& dir) {
  dataset ds;
  ds.name = detail::folder_name(dir);
  read_movies_dat(dir / "movies.dat", ds);
  const bool has_users = detail::is_file(dir / "users.dat");
  if (has_users) read_users_dat(dir / "users.dat", ds);
  const rating_read_options options{has_users ? unknown_ids::reject : unknown_ids::add, unknown_ids::reject,
                                    has_users ? whole_stars : half_stars};
  ds.min_rating = options.scale.min;
  ds.max_rating = options.scale.max;
  ds.ratings = read_ratings_dat(dir / "ratings.dat", ds, options);
  if (detail::is_file(dir / "tags.dat")) read_tags_dat(dir / "tags.dat", ds);
  return ds;
}

}  // namespace gatrec
