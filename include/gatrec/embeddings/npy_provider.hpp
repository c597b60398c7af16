#pragma once

/// @file
/// @brief Vectors from an `.npy` matrix plus a row-id file (one key per line, the key of each
/// row), as tools/embed_profiles.py writes them.

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/data/text_reader.hpp"
#include "gatrec/embeddings/in_memory_provider.hpp"
#include "gatrec/embeddings/npy.hpp"

namespace gatrec {

/// Parses a row-id list: one key per line, surrounding spaces, tabs and "\r" ignored, a final
/// newline optional.
/// @param text the file contents
/// @param file the file name for messages
/// @return the keys in line order
/// @throw parse_error (field `id`) naming the line of an empty key, or of a key seen before (with
///        the line where it first appeared)
inline std::vector<std::string> parse_row_ids(std::string_view text, const std::string& file) {
  std::vector<std::string> ids;
  std::unordered_map<std::string_view, std::size_t> first_line;
  line_reader lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const std::string_view id = trim(line);
    if (id.empty()) throw parse_error(file, lines.line_number(), "id", "empty line where a row id was expected");
    const auto [it, inserted] = first_line.try_emplace(id, lines.line_number());
    if (!inserted)
      throw parse_error(file, lines.line_number(), "id",
                        "duplicate id " + detail::quote(id) + " (first on line " + std::to_string(it->second) + ")");
    ids.emplace_back(id);
  }
  return ids;
}

/// Reads a row-id file; see parse_row_ids.
/// @throw io_error when the file cannot be read; parse_error as parse_row_ids
inline std::vector<std::string> read_row_ids(const std::filesystem::path& path) {
  return parse_row_ids(read_file(path), path.string());
}

/// Writes a row-id file, one key per line.
/// @throw logic_error when a key is empty, repeats, has surrounding blanks or holds a line break
///        (it would not read back as itself)
/// @throw io_error when the file cannot be written
inline void write_row_ids(const std::filesystem::path& path, const std::vector<std::string>& ids) {
  std::string text;
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const std::string& id = ids[k];
    GATREC_EXPECTS(!id.empty() && trim(id) == id && id.find('\n') == std::string::npos,
                   "row id " + std::to_string(k) + " " + detail::quote(id) + " would not read back as itself");
    GATREC_EXPECTS(seen.try_emplace(id, k).second, "duplicate row id " + detail::quote(id));
    text += id;
    text += '\n';
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw io_error("cannot create '" + path.string() + "'");
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) throw io_error("cannot write '" + path.string() + "'");
}

/// Vectors from `<name>.npy` (rows x dim, float32 or float64, read as float) and `<name>.ids`
/// (the key of each row).
class npy_provider : public in_memory_provider {
 public:
  /// @param npy_path the matrix; a 1-d array is a single column
  /// @param ids_path the row ids, as many as the matrix has rows
  /// @throw io_error when a file cannot be read
  /// @throw parse_error for a malformed `.npy` file (see parse_npy), a malformed id file (see
  ///        parse_row_ids), or when the id count and the row count differ
  npy_provider(const std::filesystem::path& npy_path, const std::filesystem::path& ids_path)
      : npy_provider(load(npy_path, ids_path), "npy '" + npy_path.string() + "' with ids '" +
                                                         ids_path.string() + "'") {}

 private:
  // Builds the base from one (vectors, keys) pair, checked against each other first.
  struct loaded {
    matrix<float> vectors;
    std::vector<std::string> keys;
  };
  npy_provider(loaded&& l, std::string description)
      : in_memory_provider(std::move(l.vectors), std::move(l.keys), std::move(description)) {}

  static loaded load(const std::filesystem::path& npy_path, const std::filesystem::path& ids_path) {
    loaded l{read_npy<float>(npy_path), read_row_ids(ids_path)};
    if (static_cast<std::size_t>(l.vectors.rows()) != l.keys.size())
      throw parse_error(ids_path.string(), 0, "",
                        std::to_string(l.keys.size()) + " ids, but '" + npy_path.string() + "' has " +
                            std::to_string(l.vectors.rows()) + " rows");
    return l;
  }
};

}  // namespace gatrec
