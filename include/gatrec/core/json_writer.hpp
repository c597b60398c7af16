#pragma once

/// @file
/// @brief Writing JSON strings and flat JSON objects (one per line for JSON Lines), without a
/// JSON library: the core stays dependency-free beyond Eigen.
///
/// Strings are UTF-8 in and UTF-8 out: valid multi-byte sequences pass through unchanged, `"`
/// and `\` are escaped, control characters (U+0000..U+001F) become `\n`, `\t`, ... or `\u00XX`.
/// Invalid UTF-8 is refused rather than written, since a JSON reader would reject the file or,
/// worse, decode it differently.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "gatrec/core/error.hpp"

namespace gatrec {

namespace detail {

/// Length of the valid UTF-8 sequence starting at text[pos], or 0 when it is not valid (overlong
/// forms, UTF-16 surrogates, code points past U+10FFFF, truncated sequences).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[pos + k]); };
  const unsigned c = byte(0);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos < len) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((byte(k) & 0xC0) != 0x80) return 0;
  return len;
}

}  // namespace detail

/// Appends `text` to `out` as a quoted JSON string.
/// @param out the buffer to append to
/// @param text UTF-8 text
/// @throw logic_error naming the byte offset of the first invalid UTF-8 sequence
inline void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  std::size_t k = 0;
  while (k < text.size()) {
    const auto c = static_cast<unsigned char>(text[k]);
    if (c >= 0x80) {
      const std::size_t len = detail::utf8_sequence_length(text, k);
      GATREC_EXPECTS(len != 0, "invalid UTF-8 at byte " + std::to_string(k) + " of a string to be written as JSON");
      out.append(text.data() + k, len);
      k += len;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++k;
  }
  out += '"';
}

/// `text` as a quoted JSON string; see append_json_string.
inline std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

/// Builds one flat JSON object, members in insertion order: `{"kind":"item","id":"1"}`.
/// Keys are not checked for uniqueness; the caller writes each once.
class json_object {
 public:
  /// Adds a string member.
  json_object& add(std::string_view key, std::string_view value) {
    begin_member(key);
    append_json_string(text_, value);
    return *this;
  }
  /// Adds a string member (a C string is text, not a boolean).
  json_object& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  /// Adds an integer member.
  json_object& add(std::string_view key, std::int64_t value) {
    begin_member(key);
    text_ += std::to_string(value);
    return *this;
  }
  json_object& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  /// Adds a number member, written so that it reads back to the same double.
  /// @throw logic_error for NaN or infinity, which JSON cannot represent
  json_object& add(std::string_view key, double value) {
    GATREC_EXPECTS(std::isfinite(value), "JSON has no NaN or infinity (member '" + std::string(key) + "')");
    begin_member(key);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    text_ += buf;
    return *this;
  }
  /// Adds a boolean member.
  json_object& add(std::string_view key, bool value) {
    begin_member(key);
    text_ += value ? "true" : "false";
    return *this;
  }
  /// Adds a member whose value is already JSON text (a nested object or array), unchecked.
  json_object& add_raw(std::string_view key, std::string_view json) {
    begin_member(key);
    text_ += json;
    return *this;
  }

  /// The object's text, without a trailing newline.
  std::string str() const { return text_ + "}"; }

 private:
  void begin_member(std::string_view key) {
    if (text_.size() > 1) text_ += ',';
    append_json_string(text_, key);
    text_ += ':';
  }

  std::string text_ = "{";
};

}  // namespace gatrec
