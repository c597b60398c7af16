#pragma once

/// @file
/// @brief The CSV MovieLens releases (ml-latest, ml-latest-small, 20M, 25M, 32M): movies.csv,
/// ratings.csv, and links.csv / tags.csv when present. UTF-8, RFC 4180 quoting, one header line.
///
/// Errors name fields as every gatrec loader does (user_id, item_id, rating, timestamp, imdb_id,
/// tmdb_id), not by the file's camel-case column names, so callers match one set of names.

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/data/csv_reader.hpp"
#include "gatrec/data/data_dir.hpp"
#include "gatrec/data/file_bytes.hpp"
#include "gatrec/data/id_lookup.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/movie_title.hpp"
#include "gatrec/data/rating_records.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

namespace detail {

inline std::string join_names(std::initializer_list<const char*> names) {
  std::string out;
  for (const char* n : names) out += (out.empty() ? "" : ",") + std::string(n);
  return out;
}

/// Reads the header record and checks it names exactly the expected columns, so that a file with
/// reordered or renamed columns cannot be misread.
/// `fields` are the names errors use for the columns.
inline void expect_csv_header(csv_reader& csv, std::initializer_list<const char*> names,
                              std::initializer_list<const char*> fields) {
  if (!csv.next()) throw parse_error(csv.file(), 0, "", "empty file (expected the header " + join_names(names) + ")");
  bool ok = csv.size() == names.size();
  std::size_t k = 0;
  for (const char* n : names) {
    if (!ok) break;
    ok = trim(csv[k++]) == n;
  }
  if (!ok) {
    std::string found;
    for (std::size_t j = 0; j < csv.size(); ++j) found += (j ? "," : "") + std::string(csv[j]);
    throw parse_error(csv.file(), csv.line(), "header",
                      "expected " + quote(join_names(names), 80) + ", found " + quote(found, 80));
  }
  std::vector<std::string> field_names;
  for (const char* n : fields) field_names.emplace_back(n);
  csv.set_field_names(std::move(field_names));
}

inline void expect_field_count(const csv_reader& csv, std::size_t expected) {
  if (csv.size() != expected)
    throw parse_error(csv.file(), csv.line(), "",
                      "expected " + std::to_string(expected) + " fields, found " + std::to_string(csv.size()));
}

inline index_t known_item(const id_lookup& items, raw_id_t raw, const csv_reader& csv) {
  const index_t idx = items.find(raw);
  if (idx < 0) throw parse_error(csv.file(), csv.line(), "item_id", "unknown item id " + std::to_string(raw) + " (not in movies.csv)");
  return idx;
}

}  // namespace detail

/// Reads movies.csv (`movieId,title,genres`) into `ds.items` and `ds.item_meta`, in file order.
/// Titles are split from their year ("Babylon 5" has none); "(no genres listed)" gives no genres.
/// @throw io_error when the file cannot be read
/// @throw parse_error for a wrong header, a malformed record, a duplicate id or no movies
inline void read_movies_csv(const std::filesystem::path& file, dataset& ds) {
  const std::string text = to_utf8(read_file(file));
  csv_reader csv(text, file.string());
  detail::expect_csv_header(csv, {"movieId", "title", "genres"}, {"item_id", "title", "genres"});
  while (csv.next()) {
    detail::expect_field_count(csv, 3);
    const raw_id_t id = detail::parse_raw_id(csv[0], csv.file(), csv.line(), "item_id");
    auto [title, year] = split_title_year(csv[1]);
    item_info info;
    info.title = std::move(title);
    info.year = year;
    info.genres = split_genres(csv[2]);
    if (ds.items.contains(id))
      throw parse_error(csv.file(), csv.line(), "item_id", "duplicate movie id " + std::to_string(id));
    ds.items.insert(id);
    ds.item_meta.push_back(std::move(info));
  }
  if (ds.items.empty()) throw parse_error(csv.file(), 0, "", "no movies after the header");
}

/// Reads ratings.csv (`userId,movieId,rating,timestamp`). Numeric fields may be quoted.
/// @param file the ratings file
/// @param ds the dataset whose id maps resolve the ids
/// @param options by default users are added in order of first appearance, movies must be known
///        (from movies.csv), and ratings are half stars 0.5..5
/// @return the ratings by index, in file order
/// @throw io_error when the file cannot be read
/// @throw parse_error for a wrong header, a malformed line, an unknown id (user_id / item_id), a
///        rating off the scale, or no ratings
inline rating_table read_ratings_csv(const std::filesystem::path& file, dataset& ds,
                                     const rating_read_options& options = {unknown_ids::add, unknown_ids::reject,
                                                                           half_stars}) {
  const std::string name = file.string();
  const file_bytes bytes(file);
  const std::string_view text = bytes.view();
  // Numeric records never span lines, so the fast line-oriented reader handles the body; only the
  // header goes through the CSV reader.
  line_reader lines(text);
  std::string_view header;
  if (!lines.next(header)) throw parse_error(name, 0, "", "empty file (expected the header userId,movieId,rating,timestamp)");
  csv_reader head(header, name);
  detail::expect_csv_header(head, {"userId", "movieId", "rating", "timestamp"},
                            {"user_id", "item_id", "rating", "timestamp"});
  rating_table out = parse_rating_records(lines.rest(), name, lines.next_line_number(), ",", ds, options);
  if (out.empty()) throw parse_error(name, 0, "", "no ratings after the header");
  return out;
}

/// Reads links.csv (`movieId,imdbId,tmdbId`; tmdbId may be empty) into the items' imdb_id and
/// tmdb_id.
/// @throw io_error when the file cannot be read
/// @throw parse_error for a wrong header, a malformed record or an unknown movie id
inline void read_links_csv(const std::filesystem::path& file, dataset& ds) {
  const std::string text = read_file(file);
  csv_reader csv(text, file.string());
  detail::expect_csv_header(csv, {"movieId", "imdbId", "tmdbId"}, {"item_id", "imdb_id", "tmdb_id"});
  if (ds.item_meta.size() < static_cast<std::size_t>(ds.num_items()))
    ds.item_meta.resize(static_cast<std::size_t>(ds.num_items()));
  const id_lookup items(static_cast<const id_map&>(ds.items));
  while (csv.next()) {
    detail::expect_field_count(csv, 3);
    const raw_id_t raw = detail::parse_raw_id(csv[0], csv.file(), csv.line(), "item_id");
    item_info& info = ds.item_meta[static_cast<std::size_t>(detail::known_item(items, raw, csv))];
    const std::string_view imdb = trim(csv[1]);
    if (!imdb.empty()) {
      detail::parse_raw_id(imdb, csv.file(), csv.line(), "imdb_id");  // digits only; kept as written
      info.imdb_id = std::string(imdb);
    }
    const std::string_view tmdb = trim(csv[2]);
    info.tmdb_id = tmdb.empty() ? 0 : detail::parse_raw_id(tmdb, csv.file(), csv.line(), "tmdb_id");
  }
}

/// Reads tags.csv (`userId,movieId,tag,timestamp`) into the items' distinct tags, in order of first
/// use. Tag users need not have rated anything, so they are checked but not added to `ds.users`.
/// @throw io_error when the file cannot be read
/// @throw parse_error for a wrong header, a malformed record or an unknown movie id
inline void read_tags_csv(const std::filesystem::path& file, dataset& ds) {
  const std::string text = to_utf8(read_file(file));
  csv_reader csv(text, file.string());
  detail::expect_csv_header(csv, {"userId", "movieId", "tag", "timestamp"},
                            {"user_id", "item_id", "tag", "timestamp"});
  if (ds.item_meta.size() < static_cast<std::size_t>(ds.num_items()))
    ds.item_meta.resize(static_cast<std::size_t>(ds.num_items()));
  const id_lookup items(static_cast<const id_map&>(ds.items));
  std::unordered_set<std::string> seen;  // "item\ttag"
  while (csv.next()) {
    detail::expect_field_count(csv, 4);
    detail::parse_raw_id(csv[0], csv.file(), csv.line(), "user_id");
    const raw_id_t raw = detail::parse_raw_id(csv[1], csv.file(), csv.line(), "item_id");
    parse_integer<std::int64_t>(csv[3], csv.file(), csv.line(), "timestamp");
    const index_t item = detail::known_item(items, raw, csv);
    const std::string_view tag = trim(csv[2]);
    if (tag.empty()) continue;
    if (seen.insert(std::to_string(item) + '\t' + std::string(tag)).second)
      ds.item_meta[static_cast<std::size_t>(item)].tags.emplace_back(tag);
  }
}

/// Loads a CSV MovieLens release from its folder: items from movies.csv (indices in file order;
/// movies nobody rated are kept), users in order of first appearance in ratings.csv, every rating
/// naming a known movie, half stars 0.5..5; links.csv and tags.csv enrich item_meta when present.
/// @param dir the dataset folder (ml-latest-small, ml-25m, ...)
/// @throw io_error when movies.csv or ratings.csv cannot be read
/// @throw parse_error for any malformed record (file, line and field named)
inline dataset load_movielens_csv(const std::filesystem::path& dir) {
  dataset ds;
  ds.name = detail::folder_name(dir);
  ds.min_rating = half_stars.min;
  ds.max_rating = half_stars.max;
  read_movies_csv(dir / "movies.csv", ds);
  ds.ratings = read_ratings_csv(dir / "ratings.csv", ds);
  if (detail::is_file(dir / "links.csv")) read_links_csv(dir / "links.csv", ds);
  if (detail::is_file(dir / "tags.csv")) read_tags_csv(dir / "tags.csv", ds);
  return ds;
}

}  // namespace gatrec
