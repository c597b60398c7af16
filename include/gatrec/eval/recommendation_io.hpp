#pragma once

/// @file
/// @brief Ranked lists as CSV with raw dataset ids: `user_id,movie_id,recommendation_rank`, one row per
/// recommendation, ranks starting at 1.
///
/// The reader locates its three columns by header name and ignores any others, so it reads both
/// this writer's files and the paper authors' (`,user_id,movie_id,recommendation_rank,module_source`,
/// whose first column is a row index).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/csv_reader.hpp"
#include "gatrec/data/id_lookup.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/text_reader.hpp"
#include "gatrec/eval/ranked_lists.hpp"

namespace gatrec {

/// Writes every user's first `top_n` recommendations (all of them when top_n is 0) as CSV with the
/// header `user_id,movie_id,recommendation_rank`, users in index order, ranks from 1. Users with an
/// empty list write no row.
/// @param out destination stream
/// @param lists ranked lists by index
/// @param users map from user index to raw id (one entry per row of `lists`)
/// @param items map from item index to raw id
/// @param top_n number of ranks to write per user; 0 = the whole width
/// @throw logic_error when the maps do not cover the lists or top_n is negative
/// @throw io_error when the stream fails
inline void write_recommendations_csv(std::ostream& out, const ranked_lists& lists, const id_map& users,
                                      const id_map& items, int top_n = 0) {
  GATREC_EXPECTS(top_n >= 0, "negative top_n " + std::to_string(top_n));
  GATREC_EXPECTS(users.size() == lists.num_users, "the user map has " + std::to_string(users.size()) +
                                                      " ids, the lists " + std::to_string(lists.num_users) + " users");
  const int n = top_n == 0 ? lists.k : std::min(top_n, lists.k);
  out << "user_id,movie_id,recommendation_rank\n";
  std::string line;
  for (index_t u = 0; u < lists.num_users; ++u) {
    const list_view list = lists.list(u).first(n);
    for (int p = 0; p < list.size(); ++p) {
      line = std::to_string(users.raw(u));
      line += ',';
      line += std::to_string(items.raw(list[p]));
      line += ',';
      line += std::to_string(p + 1);
      line += '\n';
      out << line;
    }
  }
  out.flush();
  if (!out) throw io_error("write_recommendations_csv: the output stream failed");
}

/// Writes recommendations to a file (see the stream overload).
/// @throw io_error when the file cannot be created or written
inline void write_recommendations_csv(const std::filesystem::path& file, const ranked_lists& lists,
                                      const id_map& users, const id_map& items, int top_n = 0) {
  std::ofstream out(file, std::ios::binary);
  if (!out) throw io_error("cannot create " + file.string());
  write_recommendations_csv(out, lists, users, items, top_n);
  out.close();
  if (!out) throw io_error("error writing " + file.string());
}

/// Parses recommendation lists from CSV text written by write_recommendations_csv or by the
/// paper's code.
///
/// The header must name the columns `user_id`, `movie_id` (or `item_id`) and `recommendation_rank`
/// (or `rank`); other columns are ignored. Rows may come in any order. Every user's ranks must be
/// exactly 1..n with no repeated item; users without rows get empty lists, and the width of the
/// result is the longest list.
/// @param text the whole file (RFC 4180 CSV; quoted fields, CRLF and a byte-order mark are accepted)
/// @param file the file name to quote in errors
/// @param users map from raw user id to index; the result has users.size() rows
/// @param items map from raw item id to index
/// @throw parse_error (file, line, field) on a missing column, a malformed or out-of-range number, an
///        unknown id, a repeated or missing rank, or a repeated item
inline ranked_lists parse_recommendations_csv(std::string_view text, const std::string& file, const id_map& users,
                                              const id_map& items) {
  csv_reader csv(text, file);
  if (!csv.next())
    throw parse_error(file, 0, "", "empty file (expected a header naming user_id, movie_id, recommendation_rank)");
  std::vector<std::string> names;
  for (std::size_t c = 0; c < csv.size(); ++c) names.emplace_back(trim(csv[c]));
  auto column = [&](std::initializer_list<const char*> wanted) -> std::size_t {
    for (std::size_t c = 0; c < names.size(); ++c)
      for (const char* w : wanted)
        if (names[c] == w) return c;
    return names.size();
  };
  const std::size_t num_columns = names.size();
  const std::size_t user_col = column({"user_id"});
  const std::size_t item_col = column({"movie_id", "item_id"});
  const std::size_t rank_col = column({"recommendation_rank", "rank"});
  if (user_col == num_columns) throw parse_error(file, csv.line(), "header", "no 'user_id' column");
  if (item_col == num_columns) throw parse_error(file, csv.line(), "header", "no 'movie_id' or 'item_id' column");
  if (rank_col == num_columns)
    throw parse_error(file, csv.line(), "header", "no 'recommendation_rank' or 'rank' column");
  const std::string user_field = names[user_col], item_field = names[item_col], rank_field = names[rank_col];
  csv.set_field_names(names);

  const id_lookup user_index(users), item_index(items);
  struct row {
    index_t user;
    std::int64_t rank;
    index_t item;
    std::size_t line;
  };
  std::vector<row> rows;
  while (csv.next()) {
    if (csv.size() != num_columns)
      throw parse_error(file, csv.line(), "",
                        "expected " + std::to_string(num_columns) + " fields as in the header, found " +
                            std::to_string(csv.size()));
    const auto raw_user = parse_integer<raw_id_t>(csv[user_col], file, csv.line(), user_field.c_str());
    const auto raw_item = parse_integer<raw_id_t>(csv[item_col], file, csv.line(), item_field.c_str());
    const auto rank = parse_integer<std::int64_t>(csv[rank_col], file, csv.line(), rank_field.c_str());
    const index_t u = user_index.find(raw_user);
    if (u < 0) throw parse_error(file, csv.line(), user_field, "unknown user id " + std::to_string(raw_user));
    const index_t i = item_index.find(raw_item);
    if (i < 0) throw parse_error(file, csv.line(), item_field, "unknown item id " + std::to_string(raw_item));
    if (rank < 1) throw parse_error(file, csv.line(), rank_field, "rank " + std::to_string(rank) + " is below 1");
    rows.push_back(row{u, rank, i, csv.line()});
  }

  // Sorting by (user, rank, line) puts a repeated rank right after its first occurrence, so the
  // error names the later line.
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    if (a.user != b.user) return a.user < b.user;
    if (a.rank != b.rank) return a.rank < b.rank;
    return a.line < b.line;
  });
  std::int64_t width = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const bool first_of_user = r == 0 || rows[r - 1].user != rows[r].user;
    const std::int64_t expected = first_of_user ? 1 : rows[r - 1].rank + 1;
    if (rows[r].rank != expected) {
      const std::string who = "user " + std::to_string(users.raw(rows[r].user));
      throw parse_error(file, rows[r].line, rank_field,
                        rows[r].rank < expected
                            ? who + " has rank " + std::to_string(rows[r].rank) + " twice"
                            : who + " has no rank " + std::to_string(expected) + " before rank " +
                                  std::to_string(rows[r].rank));
    }
    width = std::max(width, rows[r].rank);
  }

  ranked_lists lists(users.size(), static_cast<int>(width));
  // Item -> (last user that listed it, on which line): users come in order, so one slot per item
  // detects a repeat within a user.
  std::vector<index_t> owner(static_cast<std::size_t>(items.size()), ranked_lists::none);
  std::vector<std::size_t> owner_line(static_cast<std::size_t>(items.size()), 0);
  for (const row& r : rows) {
    const auto slot = static_cast<std::size_t>(r.item);
    if (owner[slot] == r.user) {
      const std::size_t first = std::min(r.line, owner_line[slot]), later = std::max(r.line, owner_line[slot]);
      throw parse_error(file, later, item_field,
                        "user " + std::to_string(users.raw(r.user)) + " is recommended item " +
                            std::to_string(items.raw(r.item)) + " twice (lines " + std::to_string(first) + " and " +
                            std::to_string(later) + ")");
    }
    owner[slot] = r.user;
    owner_line[slot] = r.line;
    lists.row(r.user)[r.rank - 1] = r.item;
  }
  return lists;
}

/// Reads recommendation lists from a file (see parse_recommendations_csv).
/// @throw io_error when the file cannot be read; parse_error on malformed content
inline ranked_lists read_recommendations_csv(const std::filesystem::path& file, const id_map& users,
                                             const id_map& items) {
  const std::string text = read_file(file);
  return parse_recommendations_csv(text, file.string(), users, items);
}

}  // namespace gatrec
