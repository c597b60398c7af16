#pragma once

/// @file
/// @brief Reading and writing NumPy `.npy` files of float32 / float64 vectors.
///
/// Embeddings made in Python arrive as `.npy` files, so the format is read strictly: a file that
/// numpy itself would not read the same way is an error that names the file and the header field,
/// never a silently transposed or truncated matrix. Supported: format versions 1.0, 2.0 and 3.0;
/// dtypes `<f4` and `<f8` (`=` and `|` too, which mean native order, on little-endian hosts);
/// C and Fortran order; 1-d and 2-d shapes. Not supported (rejected with a message saying so):
/// big-endian data, any other dtype, structured dtypes, 0-d and 3-d+ arrays, pickled objects.
///
/// Layout (numpy's `lib/format.py` documents it): the magic "\x93NUMPY", one byte each of major and
/// minor version, the header length (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then
/// that many bytes of a Python dict literal padded with spaces and ended by "\n", then the data.

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"

namespace gatrec {

/// Element type of an `.npy` file.
enum class npy_dtype {
  float32,  ///< `<f4`
  float64,  ///< `<f8`
};

/// Size in bytes of one element of `dtype`.
inline std::size_t npy_itemsize(npy_dtype dtype) { return dtype == npy_dtype::float32 ? 4 : 8; }

/// The parsed header of an `.npy` file.
struct npy_header {
  int major_version = 1;               ///< 1, 2 or 3
  int minor_version = 0;               ///< always 0
  npy_dtype dtype = npy_dtype::float32;
  bool fortran_order = false;          ///< column-major data
  std::vector<std::size_t> shape;      ///< one or two extents
  std::size_t data_offset = 0;         ///< bytes before the first element

  /// Number of elements (product of the shape).
  std::size_t count() const {
    std::size_t n = 1;
    for (const std::size_t e : shape) n *= e;
    return n;
  }
  /// Rows of the matrix the array is read as: shape[0].
  std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
  /// Columns of the matrix the array is read as: shape[1], or 1 for a 1-d array.
  std::size_t cols() const { return shape.size() == 2 ? shape[1] : 1; }
};

namespace detail {

inline constexpr char npy_magic[] = "\x93NUMPY";
inline constexpr std::size_t npy_magic_size = 6;

inline bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

/// A cursor over the Python dict literal of an `.npy` header. Accepts exactly what numpy writes
/// and what a hand-written literal of the same grammar would be: string keys in single or double
/// quotes, values that are strings, True/False, or tuples of non-negative integers; spaces
/// anywhere between tokens; a trailing comma in the dict and in tuples.
class npy_dict_parser {
 public:
  npy_dict_parser(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r'))
      ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ >= text_.size();
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool accept(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* field, const char* what) {
    if (!accept(c)) fail(field, std::string("expected '") + c + "' " + what + ", found " + found());
  }

  std::string string_literal(const char* field) {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      fail(field, "expected a quoted string, found " + found());
    const char quote = text_[pos_++];
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') fail(field, "escape sequences are not supported in header strings");
      ++pos_;
    }
    if (pos_ >= text_.size()) fail(field, "unterminated string");
    return std::string(text_.substr(start, pos_++ - start));
  }

  bool boolean(const char* field) {
    skip_space();
    for (const auto& [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        const std::size_t after = pos_ + word.size();
        if (after < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[after])) || text_[after] == '_'))
          break;
        pos_ = after;
        return value;
      }
    }
    fail(field, "expected True or False, found " + found());
  }

  std::vector<std::size_t> shape_tuple(const char* field) {
    expect('(', field, "to open the shape tuple");
    std::vector<std::size_t> shape;
    for (;;) {
      if (accept(')')) break;
      shape.push_back(integer(field));
      if (accept(',')) continue;
      expect(')', field, "to close the shape tuple");
      // A 1-tuple needs its comma in Python: "(3)" is the integer 3, not a shape.
      if (shape.size() == 1) fail(field, "'(n)' is not a tuple; a 1-d shape is written '(n,)'");
      break;
    }
    return shape;
  }

  std::string found() {
    skip_space();
    if (pos_ >= text_.size()) return "the end of the header";
    std::string s = "'" + std::string(text_.substr(pos_, 12)) + "'";
    for (char& c : s)
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    return s;
  }

  [[noreturn]] void fail(const char* field, const std::string& what) { throw parse_error(file_, 0, field, what); }

 private:
  std::size_t integer(const char* field) {
    skip_space();
    const std::size_t start = pos_;
    std::size_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<std::size_t>(text_[pos_] - '0');
      if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10) fail(field, "dimension too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) fail(field, "expected a non-negative integer dimension, found " + found());
    // numpy writes "3" but Python 2 era files may say "3L".
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
    return value;
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t pos_ = 0;
};

inline npy_dtype parse_npy_descr(const std::string& descr, const std::string& file) {
  const auto fail = [&](const std::string& what) { throw parse_error(file, 0, "descr", what); };
  if (descr.size() != 3) fail("unsupported dtype '" + descr + "': only float32 ('<f4') and float64 ('<f8') are read");
  const char order = descr[0];
  const std::string_view type(descr.data() + 1, 2);
  npy_dtype dtype{};
  if (type == "f4") {
    dtype = npy_dtype::float32;
  } else if (type == "f8") {
    dtype = npy_dtype::float64;
  } else {
    fail("unsupported dtype '" + descr + "': only float32 ('<f4') and float64 ('<f8') are read; convert with "
         "a.astype('<f4')");
  }
  if (order == '>')
    fail("big-endian dtype '" + descr + "' is not supported; convert with a.astype('<" + std::string(type) + "')");
  if (order == '=' || order == '|') {
    // Both mean "native": unambiguous only when the reader's native order is the data's, and
    // numpy's is little-endian on every platform that wrote such a file in practice.
    if (!host_is_little_endian())
      fail("byte order '" + std::string(1, order) + "' (native) is ambiguous on a big-endian host");
  } else if (order != '<') {
    fail("unsupported byte-order character in dtype '" + descr + "'");
  }
  return dtype;
}

inline std::uint32_t load_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

inline std::uint64_t load_le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(load_le32(p)) | static_cast<std::uint64_t>(load_le32(p + 4)) << 32;
}

inline void store_le32(std::string& out, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) out += static_cast<char>((v >> (8 * k)) & 0xFFu);
}

}  // namespace detail

/// Parses and validates the header of an in-memory `.npy` file, including that the data that
/// follows has exactly the size the shape implies.
/// @param bytes the whole file
/// @param file the file name for error messages
/// @return the header
/// @throw parse_error naming `file` and the field (`magic`, `version`, `header_len`, `header`,
///        `descr`, `fortran_order`, `shape`, `data`) for every deviation from the format
inline npy_header parse_npy_header(std::string_view bytes, const std::string& file) {
  const auto fail = [&](const char* field, const std::string& what) { throw parse_error(file, 0, field, what); };
  if (bytes.size() < detail::npy_magic_size || bytes.substr(0, detail::npy_magic_size) !=
                                                   std::string_view(detail::npy_magic, detail::npy_magic_size))
    fail("magic", "not a NumPy .npy file (the first 6 bytes are not \\x93NUMPY)");
  if (bytes.size() < 8) fail("version", "file ends inside the version bytes");
  npy_header header;
  header.major_version = static_cast<unsigned char>(bytes[6]);
  header.minor_version = static_cast<unsigned char>(bytes[7]);
  if (header.major_version < 1 || header.major_version > 3 || header.minor_version != 0)
    fail("version", "unsupported format version " + std::to_string(header.major_version) + "." +
                        std::to_string(header.minor_version) + " (1.0, 2.0 and 3.0 are read)");
  const std::size_t len_size = header.major_version == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_size) fail("header_len", "file ends inside the header length");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + 8;
  const std::size_t header_len = len_size == 2 ? (static_cast<std::size_t>(p[0]) | static_cast<std::size_t>(p[1]) << 8)
                                               : static_cast<std::size_t>(detail::load_le32(p));
  header.data_offset = 8 + len_size + header_len;
  if (header.data_offset > bytes.size())
    fail("header_len", "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                           std::to_string(bytes.size()) + " bytes)");
  const std::string_view text = bytes.substr(8 + len_size, header_len);
  // Versions 1 and 2 are latin-1, 3 is UTF-8; a valid header of ours is pure ASCII either way.
  for (const char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) fail("header", "non-ASCII byte in the header dict");

  detail::npy_dict_parser dict(text, file);
  dict.expect('{', "header", "at the start of the header dict");
  bool seen_descr = false, seen_order = false, seen_shape = false;
  while (!dict.accept('}')) {
    const std::string key = dict.string_literal("header");
    dict.expect(':', "header", "after a dict key");
    bool* seen = nullptr;
    if (key == "descr") {
      seen = &seen_descr;
      if (dict.peek('[')) dict.fail("descr", "structured dtypes are not supported");
      header.dtype = detail::parse_npy_descr(dict.string_literal("descr"), file);
    } else if (key == "fortran_order") {
      seen = &seen_order;
      header.fortran_order = dict.boolean("fortran_order");
    } else if (key == "shape") {
      seen = &seen_shape;
      header.shape = dict.shape_tuple("shape");
    } else {
      dict.fail("header", "unexpected key '" + key + "' (only descr, fortran_order and shape are allowed)");
    }
    // Checked after parsing the value so that the message names a complete duplicate.
    if (*seen) dict.fail(key.c_str(), "key '" + key + "' appears twice");
    *seen = true;
    if (dict.accept(',')) continue;
    dict.expect('}', "header", "after a dict value");
    break;
  }
  if (!dict.at_end()) fail("header", "unexpected text after the header dict: " + dict.found());
  if (!seen_descr) fail("descr", "key 'descr' is missing from the header");
  if (!seen_order) fail("fortran_order", "key 'fortran_order' is missing from the header");
  if (!seen_shape) fail("shape", "key 'shape' is missing from the header");
  if (header.shape.empty() || header.shape.size() > 2)
    fail("shape", std::to_string(header.shape.size()) + "-d arrays are not supported (1-d or 2-d only)");

  const std::size_t itemsize = npy_itemsize(header.dtype);
  std::size_t count = 1;
  for (const std::size_t e : header.shape) {
    if (e != 0 && count > std::numeric_limits<std::size_t>::max() / itemsize / e)
      fail("shape", "shape is too large to address");
    count *= e;
  }
  if (header.shape.size() == 2 &&
      (header.shape[0] > static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max()) ||
       header.shape[1] > static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max())))
    fail("shape", "shape is too large for a matrix");
  const std::size_t expected = count * itemsize;
  const std::size_t actual = bytes.size() - header.data_offset;
  if (actual != expected) {
    std::string shape = "(";
    for (std::size_t k = 0; k < header.shape.size(); ++k) shape += (k ? ", " : "") + std::to_string(header.shape[k]);
    shape += header.shape.size() == 1 ? ",)" : ")";
    fail("data", std::string(actual < expected ? "data truncated" : "unexpected bytes after the data") +
                     ": shape " + shape + " of " + std::to_string(itemsize) + "-byte values needs " +
                     std::to_string(expected) + " bytes, the file has " + std::to_string(actual));
  }
  return header;
}

/// Decodes an in-memory `.npy` file into a row-major matrix. A 1-d array of n values becomes an
/// (n x 1) matrix (numpy's leading axis is the row axis). Values are converted to `Scalar`.
/// @tparam Scalar float or double
/// @param bytes the whole file
/// @param file the file name for error messages
/// @return the (shape[0] x shape[1]) matrix
/// @throw parse_error for a malformed header (see parse_npy_header), and in field `data` naming the
///        0-based row and column of the first NaN or infinity, or of a float64 value out of the
///        range of `Scalar`
template <class Scalar = float>
matrix<Scalar> parse_npy(std::string_view bytes, const std::string& file) {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "parse_npy reads float or double");
  const npy_header header = parse_npy_header(bytes, file);
  const auto rows = static_cast<Eigen::Index>(header.rows());
  const auto cols = static_cast<Eigen::Index>(header.cols());
  matrix<Scalar> out(rows, cols);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data()) + header.data_offset;
  const bool column_major = header.fortran_order && header.shape.size() == 2;
  const std::size_t itemsize = npy_itemsize(header.dtype);
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) {
      const auto flat = static_cast<std::size_t>(column_major ? c * rows + r : r * cols + c);
      const unsigned char* p = data + flat * itemsize;
      double value = 0;
      if (header.dtype == npy_dtype::float32) {
        const std::uint32_t bits = detail::load_le32(p);
        float f = 0;
        std::memcpy(&f, &bits, 4);
        value = f;
      } else {
        const std::uint64_t bits = detail::load_le64(p);
        std::memcpy(&value, &bits, 8);
      }
      const auto converted = static_cast<Scalar>(value);
      if (!std::isfinite(converted)) {
        const std::string where = "row " + std::to_string(r) + ", column " + std::to_string(c) + " (0-based)";
        if (std::isnan(value)) throw parse_error(file, 0, "data", "NaN at " + where);
        if (std::isinf(value)) throw parse_error(file, 0, "data", "infinite value at " + where);
        throw parse_error(file, 0, "data", "value out of float range at " + where);
      }
      out(r, c) = converted;
    }
  }
  return out;
}

/// Reads an `.npy` file into a row-major matrix; see parse_npy.
/// @throw io_error when the file cannot be read; parse_error when it is malformed
template <class Scalar = float>
matrix<Scalar> read_npy(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw io_error("cannot open '" + path.string() + "': " + std::strerror(errno));
  std::string bytes;
  char buffer[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw io_error("cannot read '" + path.string() + "'");
  return parse_npy<Scalar>(bytes, path.string());
}

/// Encodes a matrix as an `.npy` file: float32, little-endian, C order, 2-d shape, format 1.0
/// (2.0 only if the header would not fit, which cannot happen for 2-d shapes). The header is
/// padded so that the data starts at a multiple of 64 bytes, as numpy does.
/// @param values the matrix to encode (any Eigen expression convertible to matrix<float>)
/// @return the file contents
inline std::string to_npy_bytes(const matrix<float>& values) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(values.rows()) + ", " +
                     std::to_string(values.cols()) + "), }";
  const std::size_t prefix = detail::npy_magic_size + 2 + 2;
  const std::size_t unpadded = prefix + dict.size() + 1;  // + "\n"
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::string out(detail::npy_magic, detail::npy_magic_size);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xFF);
  out += static_cast<char>((dict.size() >> 8) & 0xFF);
  out += dict;
  out.reserve(out.size() + static_cast<std::size_t>(values.size()) * 4);
  for (Eigen::Index r = 0; r < values.rows(); ++r) {
    for (Eigen::Index c = 0; c < values.cols(); ++c) {
      std::uint32_t bits = 0;
      const float v = values(r, c);
      std::memcpy(&bits, &v, 4);
      detail::store_le32(out, bits);
    }
  }
  return out;
}

/// Writes a matrix as an `.npy` file (float32, C order); see to_npy_bytes. The file is written
/// in full or not at all: a temporary beside it is renamed into place.
/// @throw io_error when the file cannot be written
inline void write_npy(const std::filesystem::path& path, const matrix<float>& values) {
  const std::string bytes = to_npy_bytes(values);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) throw io_error("cannot create '" + tmp.string() + "': " + std::strerror(errno));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!ok || !closed) {
    std::filesystem::remove(tmp, ec);
    throw io_error("cannot write '" + path.string() + "'");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw io_error("cannot move '" + tmp.string() + "' to '" + path.string() + "': " + ec.message());
  }
}

}  // namespace gatrec
