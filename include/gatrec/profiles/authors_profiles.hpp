#pragma once

/// @file
/// @brief Readers for the paper authors' published LLM profiles of ML-100K
/// (`llm-profiles/ml-100k/` in the shared data; see its README):
///
/// - `items_unified_profiles.csv`: u.item columns joined with TMDB fields; `movie_id` is the
///   ML-100K item id (`id` is TMDB's), `movie_info` the unified Markdown profile, `previous_info`
///   the older "integrated text" (`Movie title: / Genre: / Overview:`). 1,591 of 1,682 items.
/// - `users_unified_profiles.csv`: `user_id,user_profile` (unified Markdown, from u1.base only).
/// - `users_summary_profiles.csv`: `user_id,summary` (older free-text summaries, from u1.base).
///
/// The files are RFC 4180 CSV with quoted fields spanning many lines, doubled quotes, commas and
/// UTF-8 text; they are read with gatrec's record-oriented csv_reader.

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/csv_reader.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// Profile texts by raw id, in id order. Texts are trimmed of outer blanks; an empty text means
/// the file has a row for the id but no profile (one ML-100K user).
using profile_texts = std::map<raw_id_t, std::string>;

/// Reads an id column and any number of text columns from a CSV file with a header row.
/// @param text the file contents
/// @param file the file name for messages
/// @param id_column the header name of the integer id column
/// @param text_columns the header names of the text columns
/// @return one profile_texts per text column, in the order asked
/// @throw parse_error naming the file (line 1 and the column) when a column is missing or appears
///        twice in the header; naming the record's first line and the field for a wrong field
///        count, a bad or repeated id, or text that is not UTF-8
inline std::vector<profile_texts> parse_profile_csv(std::string_view text, const std::string& file,
                                                    const std::string& id_column,
                                                    const std::vector<std::string>& text_columns) {
  csv_reader csv(text, file);
  if (!csv.next()) throw parse_error(file, 0, "", "empty file: no header row");
  std::vector<std::string> header(csv.fields().begin(), csv.fields().end());
  const auto find_column = [&](const std::string& name) {
    std::size_t found = header.size();
    for (std::size_t k = 0; k < header.size(); ++k) {
      if (header[k] != name) continue;
      if (found != header.size()) throw parse_error(file, 1, name, "column '" + name + "' appears twice in the header");
      found = k;
    }
    if (found == header.size()) {
      std::string names;
      for (std::size_t k = 0; k < header.size() && k < 12; ++k) names += (k ? ", " : "") + header[k];
      if (header.size() > 12) names += ", ...";
      throw parse_error(file, 1, name, "no column '" + name + "' in the header (" + names + ")");
    }
    return found;
  };
  const std::size_t id_at = find_column(id_column);
  std::vector<std::size_t> text_at;
  for (const std::string& c : text_columns) text_at.push_back(find_column(c));
  csv.set_field_names(header);

  std::vector<profile_texts> out(text_columns.size());
  std::map<raw_id_t, std::size_t> first_line;
  while (csv.next()) {
    const std::size_t line = csv.line();
    if (csv.size() != header.size())
      throw parse_error(file, line, "",
                        "record has " + std::to_string(csv.size()) + " fields, the header " + std::to_string(header.size()));
    const auto id = parse_integer<raw_id_t>(csv[id_at], file, line, id_column.c_str());
    const auto [it, inserted] = first_line.try_emplace(id, line);
    if (!inserted)
      throw parse_error(file, line, id_column,
                        "duplicate id " + std::to_string(id) + " (first on line " + std::to_string(it->second) + ")");
    for (std::size_t c = 0; c < text_at.size(); ++c) {
      const std::string_view value = csv[text_at[c]];
      if (!is_valid_utf8(value)) throw parse_error(file, line, text_columns[c], "text is not valid UTF-8");
      out[c].emplace(id, std::string(trim(value)));
    }
  }
  return out;
}

/// Reads an id column and text columns from a CSV file; see parse_profile_csv.
/// @throw io_error when the file cannot be read
inline std::vector<profile_texts> read_profile_csv(const std::filesystem::path& path, const std::string& id_column,
                                                   const std::vector<std::string>& text_columns) {
  return parse_profile_csv(read_file(path), path.string(), id_column, text_columns);
}

/// The authors' item profiles, both variants.
struct authors_item_profiles {
  profile_texts unified;     ///< `movie_info`: unified Markdown profile
  profile_texts integrated;  ///< `previous_info`: "Movie title: / Genre: / Overview:" text
};

/// Reads `items_unified_profiles.csv` (ids from `movie_id`, the ML-100K item id).
inline authors_item_profiles read_authors_item_profiles(const std::filesystem::path& path) {
  auto cols = read_profile_csv(path, "movie_id", {"movie_info", "previous_info"});
  return {std::move(cols[0]), std::move(cols[1])};
}

/// Reads `users_unified_profiles.csv` (`user_id,user_profile`).
inline profile_texts read_authors_user_profiles(const std::filesystem::path& path) {
  return std::move(read_profile_csv(path, "user_id", {"user_profile"})[0]);
}

/// Reads `users_summary_profiles.csv` (`user_id,summary`).
inline profile_texts read_authors_user_summaries(const std::filesystem::path& path) {
  return std::move(read_profile_csv(path, "user_id", {"summary"})[0]);
}

}  // namespace gatrec
