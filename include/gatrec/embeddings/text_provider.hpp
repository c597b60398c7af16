#pragma once

/// @file
/// @brief Vectors from a delimited text file: one `key v1 v2 ... vd` line per vector, the key
/// separated from the values, and the values from each other, by spaces, tabs or a comma.
///
/// This covers GloVe-style files (`word 0.1 0.2`), TSV exports (`id<TAB>0.1<TAB>0.2`), CSV
/// exports without a header (`id,0.1,0.2`) and, with count_dim_header, word2vec / fastText `.vec`
/// files whose first line is `count dim`.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/text_reader.hpp"
#include "gatrec/embeddings/in_memory_provider.hpp"

namespace gatrec {

/// How a vector text file is read.
struct text_vector_options {
  /// The width every line must have; 0 takes it from the first vector line.
  index_t dim = 0;
  /// The first non-blank line is `count dim` (word2vec / fastText `.vec`), checked against the rest.
  bool count_dim_header = false;
};

/// Vectors and their keys, in file order.
struct keyed_vectors {
  matrix<float> vectors;           ///< (keys, dim)
  std::vector<std::string> keys;   ///< key of each row
};

namespace detail {

inline bool is_vector_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/// Splits a vector line into tokens at runs of blanks or at one comma with optional blanks
/// around it. Empty tokens (",," or a trailing comma) are returned as empty views so that the
/// caller can name the field.
inline void split_vector_line(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n && is_vector_space(line[i])) ++i;
  while (i < n) {
    const std::size_t start = i;
    while (i < n && !is_vector_space(line[i]) && line[i] != ',') ++i;
    out.push_back(line.substr(start, i - start));
    while (i < n && is_vector_space(line[i])) ++i;
    if (i < n && line[i] == ',') {
      ++i;
      while (i < n && is_vector_space(line[i])) ++i;
      if (i == n) out.push_back(line.substr(n));  // trailing comma: an empty last field
    }
  }
}

}  // namespace detail

/// Parses a vector text file held in memory. Blank lines are skipped.
/// @param text the file contents
/// @param file the file name for messages
/// @param options expected width and header
/// @return the vectors and keys, in file order
/// @throw parse_error naming file, line and field (`id`, `value N` with N 1-based, `header`) for
///        an empty field, a value that is not a finite number, a line whose width differs from
///        the expected one (naming the line that set it), a repeated key (naming its first line),
///        a header that disagrees with the file, or a file without vectors
inline keyed_vectors parse_text_vectors(std::string_view text, const std::string& file,
                                        const text_vector_options& options = {}) {
  GATREC_EXPECTS(options.dim >= 0, "negative dimension");
  std::vector<std::string_view> tokens;
  std::vector<float> values;
  keyed_vectors out;
  std::unordered_map<std::string_view, std::size_t> first_line;
  index_t dim = options.dim;
  std::size_t dim_line = 0;  // 0: dim came from the options
  std::size_t header_count = 0, header_line = 0;
  bool need_header = options.count_dim_header;
  line_reader lines(text);
  std::string_view line;
  std::string field;
  while (lines.next(line)) {
    if (is_blank(line)) continue;
    const std::size_t ln = lines.line_number();
    detail::split_vector_line(line, tokens);
    if (need_header) {
      if (tokens.size() != 2)
        throw parse_error(file, ln, "header", "expected a 'count dim' header line, found " + detail::quote(line));
      header_count = parse_integer<std::size_t>(tokens[0], file, ln, "header");
      const auto header_dim = parse_integer<index_t>(tokens[1], file, ln, "header");
      if (header_dim <= 0) throw parse_error(file, ln, "header", "dimension must be positive");
      if (dim != 0 && header_dim != dim)
        throw parse_error(file, ln, "header", "header says dimension " + std::to_string(header_dim) + ", expected " +
                                                  std::to_string(dim));
      dim = header_dim;
      dim_line = ln;
      header_line = ln;
      need_header = false;
      continue;
    }
    if (tokens[0].empty()) throw parse_error(file, ln, "id", "empty key");
    const auto width = static_cast<index_t>(tokens.size() - 1);
    if (width == 0) throw parse_error(file, ln, "", "key " + detail::quote(tokens[0]) + " has no values");
    if (dim == 0) {
      dim = width;
      dim_line = ln;
    } else if (width != dim) {
      throw parse_error(file, ln, "",
                        std::to_string(width) + " values, expected " + std::to_string(dim) +
                            (dim_line == 0 ? std::string(" (the requested dimension)")
                                           : " (as on line " + std::to_string(dim_line) + ")"));
    }
    const auto [it, inserted] = first_line.try_emplace(tokens[0], ln);
    if (!inserted)
      throw parse_error(file, ln, "id",
                        "duplicate key " + detail::quote(tokens[0]) + " (first on line " + std::to_string(it->second) +
                            ")");
    for (std::size_t k = 1; k < tokens.size(); ++k) {
      field = "value " + std::to_string(k);
      if (tokens[k].empty()) throw parse_error(file, ln, field, "empty value");
      values.push_back(parse_real<float>(tokens[k], file, ln, field.c_str()));
    }
    out.keys.emplace_back(tokens[0]);
  }
  if (need_header) throw parse_error(file, 0, "header", "empty file: no 'count dim' header");
  if (header_line != 0 && header_count != out.keys.size())
    throw parse_error(file, header_line, "header",
                      "header says " + std::to_string(header_count) + " vectors, the file has " +
                          std::to_string(out.keys.size()));
  if (out.keys.empty() && header_line == 0) throw parse_error(file, 0, "", "no vectors in the file");
  out.vectors = matrix<float>(static_cast<Eigen::Index>(out.keys.size()), dim);
  if (!values.empty()) std::copy(values.begin(), values.end(), out.vectors.data());
  return out;
}

/// Reads a vector text file; see parse_text_vectors.
/// @throw io_error when the file cannot be read; parse_error as parse_text_vectors
inline keyed_vectors read_text_vectors(const std::filesystem::path& path, const text_vector_options& options = {}) {
  return parse_text_vectors(read_file(path), path.string(), options);
}

/// An embedding_provider over a vector text file, read whole at construction.
class text_provider : public in_memory_provider {
 public:
  /// @param path the file
  /// @param options expected width and header
  /// @throw io_error, parse_error as read_text_vectors
  explicit text_provider(const std::filesystem::path& path, const text_vector_options& options = {})
      : text_provider(read_text_vectors(path, options), "vector text file '" + path.string() + "'") {}

 private:
  text_provider(keyed_vectors&& v, std::string description)
      : in_memory_provider(std::move(v.vectors), std::move(v.keys), std::move(description)) {}
};

}  // namespace gatrec
