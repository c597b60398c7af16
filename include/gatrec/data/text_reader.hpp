#pragma once

/// @file
/// @brief The text layer under every dataset loader: whole-file reads, line iteration with 1-based
/// line numbers, field splitting, number parsing with std::from_chars, text encodings, and the
/// parse errors that name file, line and field.
///
/// Loaders read a file into memory once and then only slice it with string_view: MovieLens files
/// are at most a few hundred megabytes, and slicing a buffer is several times faster than
/// std::getline on a stream.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "gatrec/core/error.hpp"

namespace gatrec {

/// Reads a whole file into memory, bytes unchanged.
/// @param path the file to read
/// @return the file's contents
/// @throw io_error naming the path when it does not exist, is a directory, or cannot be read
inline std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw io_error("cannot read '" + path.string() + "': it is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw io_error("cannot open '" + path.string() + "': " + std::strerror(errno));
  std::string data;
  std::size_t used = 0;
  // One read of the size the file reports, then small chunks until EOF: special files report 0
  // and a file may grow while it is read. Growing the big buffer would copy it.
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size > 0) {
    data.resize(static_cast<std::size_t>(size));
    used = std::fread(data.data(), 1, data.size(), f);
  }
  if (used == data.size()) {
    char chunk[1 << 16];
    for (;;) {
      const std::size_t got = std::fread(chunk, 1, sizeof chunk, f);
      data.append(chunk, got);
      if (got < sizeof chunk) break;
    }
    used = data.size();
  }
  const bool failed = std::ferror(f) != 0;
  const int saved = errno;
  std::fclose(f);
  if (failed) throw io_error("cannot read '" + path.string() + "': " + std::strerror(saved));
  data.resize(used);
  return data;
}

namespace detail {

/// `text` in single quotes for an error message: at most `max_chars` bytes (then "..."), and
/// control or non-ASCII bytes written as \xNN so that garbled input stays readable.
inline std::string quote(std::string_view text, std::size_t max_chars = 40) {
  std::string out = "'";
  const std::size_t n = std::min(text.size(), max_chars);
  for (std::size_t k = 0; k < n; ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    if (c < 0x20 || c >= 0x7F || c == '\\') {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (text.size() > max_chars) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

inline bool is_space_or_tab(char c) { return c == ' ' || c == '\t'; }

}  // namespace detail

/// `text` without leading and trailing spaces, tabs, carriage returns and newlines.
inline std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

/// True when `line` holds nothing but spaces, tabs and carriage returns.
inline bool is_blank(std::string_view line) { return trim(line).empty(); }

/// Iterates over the lines of an in-memory text, tracking 1-based line numbers. Lines end at "\n";
/// a "\r" before it is dropped, a missing final newline is accepted, and a UTF-8 byte-order mark at
/// the very start is skipped. Blank lines are returned too: callers decide whether they matter.
class line_reader {
 public:
  /// @param text the text (not copied: it must outlive the reader)
  /// @param first_line the number of the first line of `text` (when it is the rest of a file)
  explicit line_reader(std::string_view text, std::size_t first_line = 1)
      : text_(text), next_line_(first_line) {
    if (first_line == 1 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  /// Moves to the next line.
  /// @param line receives the line without its terminator
  /// @return false when the text is exhausted
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    const char* begin = text_.data() + pos_;
    const std::size_t left = text_.size() - pos_;
    const void* nl = std::memchr(begin, '\n', left);
    std::size_t len = nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - begin) : left;
    pos_ += nl != nullptr ? len + 1 : len;
    if (len > 0 && begin[len - 1] == '\r') --len;
    line = std::string_view(begin, len);
    line_ = next_line_++;
    return true;
  }

  /// The 1-based number of the line last returned by next() (0 before the first call).
  std::size_t line_number() const { return line_; }
  /// The number the next line will have.
  std::size_t next_line_number() const { return next_line_; }
  /// The text not yet returned.
  std::string_view rest() const { return text_.substr(std::min(pos_, text_.size())); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 0;
  std::size_t next_line_ = 1;
};

/// Number of lines in `text` as line_reader would return them (a missing final newline counts).
inline std::size_t count_lines(std::string_view text) {
  if (text.empty()) return 0;
  // Eight bytes at a time: std::count is not vectorised at -O2, and this runs over whole files.
  constexpr std::uint64_t ones = 0x0101010101010101ull, low7 = 0x7F7F7F7F7F7F7F7Full;
  constexpr std::uint64_t newlines = ones * '\n', highs = ones * 0x80;
  std::size_t n = 0, k = 0;
  for (; k + 8 <= text.size(); k += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + k, 8);
    const std::uint64_t x = w ^ newlines;                  // a zero byte where there was a newline
    const std::uint64_t nonzero = ((x & low7) + low7) | x;  // high bit set exactly for non-zero bytes
    n += static_cast<std::size_t>(__builtin_popcountll(~nonzero & highs));
  }
  for (; k < text.size(); ++k) n += text[k] == '\n';
  return text.back() == '\n' ? n : n + 1;
}

/// Splits `line` at every `separator` into `out[0..max_fields)`.
/// @param line the text to split (an empty line is one empty field)
/// @param separator the one-character separator
/// @param out receives up to `max_fields` views into `line`
/// @param max_fields capacity of `out`
/// @return the number of fields in the line, which may exceed `max_fields` (callers report it)
inline std::size_t split_fields(std::string_view line, char separator, std::string_view* out,
                                std::size_t max_fields) {
  std::size_t count = 0;
  const char* p = line.data();
  const char* const end = p + line.size();
  for (;;) {
    const char* q = p;
    while (q != end && *q != separator) ++q;  // fields are short: a plain loop beats memchr here
    if (count < max_fields) out[count] = std::string_view(p, static_cast<std::size_t>(q - p));
    ++count;
    if (q == end) return count;
    p = q + 1;
  }
}

/// Splits `line` at every occurrence of a multi-character `separator` (such as "::").
/// @copydetails split_fields(std::string_view, char, std::string_view*, std::size_t)
/// @throw logic_error when `separator` is empty
inline std::size_t split_fields(std::string_view line, std::string_view separator, std::string_view* out,
                                std::size_t max_fields) {
  GATREC_EXPECTS(!separator.empty(), "empty separator");
  if (separator.size() == 1) return split_fields(line, separator[0], out, max_fields);
  std::size_t count = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = line.find(separator, start);
    const std::size_t stop = at == std::string_view::npos ? line.size() : at;
    if (count < max_fields) out[count] = line.substr(start, stop - start);
    ++count;
    if (at == std::string_view::npos) return count;
    start = at + separator.size();
  }
}

/// Splits `line` at every occurrence of `separator` into a vector of views into `line`.
/// @throw logic_error when `separator` is empty
inline std::vector<std::string_view> split_fields(std::string_view line, std::string_view separator) {
  GATREC_EXPECTS(!separator.empty(), "empty separator");
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = line.find(separator, start);
    if (at == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, at - start));
    start = at + separator.size();
  }
}

/// Splits `line` at runs of spaces and tabs, ignoring leading and trailing ones.
/// @param line the text to split
/// @param out cleared, then receives the non-empty words as views into `line`
inline void split_whitespace(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t k = 0;
  while (k < line.size()) {
    while (k < line.size() && detail::is_space_or_tab(line[k])) ++k;
    const std::size_t start = k;
    while (k < line.size() && !detail::is_space_or_tab(line[k])) ++k;
    if (k > start) out.push_back(line.substr(start, k - start));
  }
}

namespace detail {

// The slow paths of parse_integer / parse_real: padded fields, and the diagnosis of bad ones. Kept
// out of line so that the hot path (a clean number) stays small enough to inline.
template <class Int>
Int parse_integer_slow(std::string_view text, const std::string& file, std::size_t line, const char* field) {
  text = trim(text);
  if (text.empty()) throw parse_error(file, line, field, "empty value where an integer was expected");
  Int value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range)
    throw parse_error(file, line, field, "integer out of range: " + quote(text));
  if (ec != std::errc() || ptr != end) throw parse_error(file, line, field, "not an integer: " + quote(text));
  return value;
}

template <class Real>
Real parse_real_slow(std::string_view text, const std::string& file, std::size_t line, const char* field) {
  text = trim(text);
  if (text.empty()) throw parse_error(file, line, field, "empty value where a number was expected");
  Real value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range)
    throw parse_error(file, line, field, "number out of range: " + quote(text));
  if (ec != std::errc() || ptr != end) throw parse_error(file, line, field, "not a number: " + quote(text));
  if (!std::isfinite(value)) throw parse_error(file, line, field, "not a finite number: " + quote(text));
  return value;
}

}  // namespace detail

/// Parses an integer field that must hold nothing else (surrounding spaces and tabs are ignored).
/// @tparam Int the integer type; values outside its range are errors
/// @param text the field
/// @param file,line,field where the field is, for the error
/// @throw parse_error naming file, line and field, quoting `text`, when the field is empty, is not
///        an integer, or is out of range
template <class Int>
Int parse_integer(std::string_view text, const std::string& file, std::size_t line, const char* field) {
  static_assert(std::is_integral_v<Int>, "parse_integer needs an integer type");
  Int value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end) return value;
  return detail::parse_integer_slow<Int>(text, file, line, field);
}

/// Parses a finite floating-point field (surrounding spaces and tabs are ignored). NaN and
/// infinities are rejected: no dataset value may be one.
/// @tparam Real float or double
/// @param text the field
/// @param file,line,field where the field is, for the error
/// @throw parse_error naming file, line and field, quoting `text`, when the field is empty, is not
///        a number, is out of range, or is not finite
template <class Real>
Real parse_real(std::string_view text, const std::string& file, std::size_t line, const char* field) {
  static_assert(std::is_floating_point_v<Real>, "parse_real needs a floating-point type");
  Real value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc() && ptr == end && std::isfinite(value)) return value;
  return detail::parse_real_slow<Real>(text, file, line, field);
}

/// Converts ISO-8859-1 (latin-1) bytes to UTF-8: every byte is its own code point.
/// @param text latin-1 bytes
/// @return the same text in UTF-8 (unchanged when it is pure ASCII)
inline std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

/// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
inline bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p != end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // excludes UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k)
      if ((p[k] & 0xC0) != 0x80) return false;
    p += len;
  }
  return true;
}

/// Text of unknown encoding as UTF-8: kept when it already is valid UTF-8, otherwise read as
/// latin-1. MovieLens ships latin-1 (ML-100K, ML-1M, ML-10M) and UTF-8 (the CSV releases), and
/// re-encoded copies of the older sets circulate; a latin-1 title is almost never valid UTF-8.
inline std::string to_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  return latin1_to_utf8(text);
}

}  // namespace gatrec
