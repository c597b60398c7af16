#pragma once

/// @file
/// @brief Ranked lists as CSV with raw dataset ids: `user_id,movie_id,recommendation_rank`, one row per
/// recommendation, ranks starting at 1.
///
/// The reader locates its three columns by header name and ignores any others, so it reads both
/// this writer's files and the paper authors' (`,user_id,movie_id,recommendation_rank,module_source`,
/// whose first column is a row index).

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <istream>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
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

namespace detail {

/// Splits one CSV record into fields. Double-quoted fields may hold commas and "" for a quote;
/// recommendation files never need more (no field spans lines).
inline bool split_csv_record(const std::string& line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t c = 0; c < line.size(); ++c) {
    const char ch = line[c];
    if (quoted) {
      if (ch == '"') {
        if (c + 1 < line.size() && line[c + 1] == '"') {
          field += '"';
          ++c;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += ch;
    }
  }
  fields.push_back(std::move(field));
  return !quoted;  // false: an unterminated quote
}

inline std::string trim_spaces(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

/// Parses a whole field as a decimal integer, or throws parse_error naming it.
inline std::int64_t parse_integer_field(const std::string& text, const std::string& file, std::size_t line,
                                        const std::string& field) {
  const std::string s = trim_spaces(text);
  std::int64_t value = 0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (s.empty() || ec != std::errc() || end != last)
    throw parse_error(file, line, field, "expected an integer, got '" + text + "'");
  return value;
}

}  // namespace detail

/// Reads recommendation lists written by write_recommendations_csv or by the paper's code.
///
/// The header must name the columns `user_id`, `movie_id` (or `item_id`) and `recommendation_rank`
/// (or `rank`); other columns are ignored. Rows may come in any order. Every user's ranks must be
/// exactly 1..n with no repeated item; users without rows get empty lists, and the width of the
/// result is the longest list.
/// @param in source stream
/// @param name the file name to quote in errors
/// @param users map from raw user id to index; the result has users.size() rows
/// @param items map from raw item id to index
/// @throw parse_error (file, line, field) on a missing column, a malformed or out-of-range number, an
///        unknown id, a repeated or missing rank, or a repeated item
inline ranked_lists read_recommendations_csv(std::istream& in, const std::string& name, const id_map& users,
                                             const id_map& items) {
  std::string line;
  std::vector<std::string> fields;
  std::size_t line_no = 0;
  auto next_line = [&]() -> bool {
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!detail::trim_spaces(line).empty()) return true;  // blank lines carry nothing
    }
    return false;
  };

  if (!next_line()) throw parse_error(name, 1, "", "empty file: expected a header naming user_id, movie_id, recommendation_rank");
  if (!detail::split_csv_record(line, fields)) throw parse_error(name, line_no, "", "unterminated quote in the header");
  const std::size_t num_columns = fields.size();
  auto column = [&](std::initializer_list<const char*> names) -> std::ptrdiff_t {
    for (std::size_t c = 0; c < fields.size(); ++c)
      for (const char* n : names)
        if (detail::trim_spaces(fields[c]) == n) return static_cast<std::ptrdiff_t>(c);
    return -1;
  };
  const std::ptrdiff_t user_col = column({"user_id"});
  const std::ptrdiff_t item_col = column({"movie_id", "item_id"});
  const std::ptrdiff_t rank_col = column({"recommendation_rank", "rank"});
  if (user_col < 0) throw parse_error(name, line_no, "user_id", "the header has no 'user_id' column");
  if (item_col < 0) throw parse_error(name, line_no, "movie_id", "the header has no 'movie_id' or 'item_id' column");
  if (rank_col < 0)
    throw parse_error(name, line_no, "recommendation_rank", "the header has no 'recommendation_rank' or 'rank' column");
  const std::string user_field = detail::trim_spaces(fields[static_cast<std::size_t>(user_col)]);
  const std::string item_field = detail::trim_spaces(fields[static_cast<std::size_t>(item_col)]);
  const std::string rank_field = detail::trim_spaces(fields[static_cast<std::size_t>(rank_col)]);

  struct row {
    index_t user;
    std::int64_t rank;
    index_t item;
    std::size_t line;
  };
  std::vector<row> rows;
  while (next_line()) {
    if (!detail::split_csv_record(line, fields)) throw parse_error(name, line_no, "", "unterminated quote");
    if (fields.size() != num_columns)
      throw parse_error(name, line_no, "", "expected " + std::to_string(num_columns) + " fields as in the header, got " +
                                               std::to_string(fields.size()));
    const std::int64_t raw_user = detail::parse_integer_field(fields[static_cast<std::size_t>(user_col)], name, line_no, user_field);
    const std::int64_t raw_item = detail::parse_integer_field(fields[static_cast<std::size_t>(item_col)], name, line_no, item_field);
    const std::int64_t rank = detail::parse_integer_field(fields[static_cast<std::size_t>(rank_col)], name, line_no, rank_field);
    const auto u = users.find(raw_user);
    if (!u) throw parse_error(name, line_no, user_field, "unknown user id " + std::to_string(raw_user));
    const auto i = items.find(raw_item);
    if (!i) throw parse_error(name, line_no, item_field, "unknown item id " + std::to_string(raw_item));
    if (rank < 1) throw parse_error(name, line_no, rank_field, "rank " + std::to_string(rank) + " is below 1");
    rows.push_back(row{*u, rank, *i, line_no});
  }
  if (in.bad()) throw io_error("error reading " + name);

  // Sorting by (user, rank, line) puts a repeated rank next to its first occurrence, so the error
  // names the later line.
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
      throw parse_error(name, rows[r].line, rank_field,
                        rows[r].rank < expected ? who + " has rank " + std::to_string(rows[r].rank) + " twice"
                                                : who + " has no rank " + std::to_string(expected) +
                                                      " before rank " + std::to_string(rows[r].rank));
    }
    width = std::max(width, rows[r].rank);
  }
  ranked_lists lists(users.size(), static_cast<int>(width));
  std::vector<std::size_t> first_line(static_cast<std::size_t>(items.size()), 0);
  std::vector<index_t> owner(static_cast<std::size_t>(items.size()), ranked_lists::none);
  for (const row& r : rows) {
    auto& seen_by = owner[static_cast<std::size_t>(r.item)];
    if (seen_by == r.user)
      throw parse_error(name, std::max(r.line, first_line[static_cast<std::size_t>(r.item)]), item_field,
                        "user " + std::to_string(users.raw(r.user)) + " is recommended item " +
                            std::to_string(items.raw(r.item)) + " twice (lines " +
                            std::to_string(std::min(r.line, first_line[static_cast<std::size_t>(r.item)])) + " and " +
                            std::to_string(std::max(r.line, first_line[static_cast<std::size_t>(r.item)])) + ")");
    seen_by = r.user;
    first_line[static_cast<std::size_t>(r.item)] = r.line;
    lists.row(r.user)[r.rank - 1] = r.item;
  }
  return lists;
}

/// Reads recommendation lists from a file (see the stream overload).
/// @throw io_error when the file cannot be opened; parse_error on malformed content
inline ranked_lists read_recommendations_csv(const std::filesystem::path& file, const id_map& users,
                                             const id_map& items) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw io_error("cannot open " + file.string());
  return read_recommendations_csv(in, file.string(), users, items);
}

}  // namespace gatrec
