#pragma once

/// @file
/// @brief A record-oriented RFC 4180 CSV reader over an in-memory text.
///
/// Records, not lines: a quoted field may hold separators, doubled quotes ("") and line breaks, as
/// the MovieLens CSV titles and the LLM profile files do. Errors still name the line where the bad
/// record starts, which is where a user will look.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// Reads CSV records one at a time. Fields are views into the text, except quoted fields with
/// doubled quotes, which are unescaped into the reader's own storage; all views stay valid until
/// the next call to next().
///
/// Accepted beyond RFC 4180: "\n" or "\r\n" line ends, a missing final line end, a UTF-8
/// byte-order mark, blank lines between records (skipped), and a quote inside an unquoted field
/// (kept literally, as Python's csv module does). Rejected: a quoted field that never closes, and
/// anything but a separator or a line end after a closing quote.
class csv_reader {
 public:
  /// @param text the whole file (not copied: it must outlive the reader)
  /// @param file the file name used in error messages
  /// @param separator the field separator
  csv_reader(std::string_view text, std::string file, char separator = ',')
      : text_(text), file_(std::move(file)), sep_(separator) {
    GATREC_EXPECTS(separator != '"' && separator != '\n' && separator != '\r', "invalid CSV separator");
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  /// Names the columns, so that errors say "field 'title'" rather than "field 'column 2'".
  void set_field_names(std::vector<std::string> names) { names_ = std::move(names); }

  /// Reads the next record.
  /// @return false at the end of the text
  /// @throw parse_error at the record's first line for an unterminated quoted field or stray bytes
  ///        after a closing quote
  bool next() {
    fields_.clear();
    std::size_t escaped = 0;  // quoted fields that needed unescaping, stored in scratch_
    for (;;) {  // skip blank lines
      if (pos_ >= text_.size()) return false;
      if (text_[pos_] == '\n') {
        ++pos_;
        ++next_line_;
      } else if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        pos_ += 2;
        ++next_line_;
      } else {
        break;
      }
    }
    record_line_ = next_line_;
    const std::size_t size = text_.size();
    // (field index, scratch index) of unescaped fields: their views are set once the record is
    // complete, because scratch_ may reallocate while it grows.
    std::vector<std::pair<std::size_t, std::size_t>>& fixups = fixups_;
    fixups.clear();
    for (;;) {
      if (pos_ < size && text_[pos_] == '"') {
        const std::size_t start = ++pos_;
        bool doubled = false;
        std::size_t stop = 0;
        for (;;) {
          const void* q = pos_ < size ? std::memchr(text_.data() + pos_, '"', size - pos_) : nullptr;
          if (q == nullptr)
            throw parse_error(file_, record_line_, field_name(fields_.size()),
                              "quoted field never closes (starts " + detail::quote(text_.substr(start, 30)) + ")");
          const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(q) - text_.data());
          next_line_ += static_cast<std::size_t>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                                            text_.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
          if (at + 1 < size && text_[at + 1] == '"') {
            doubled = true;
            pos_ = at + 2;
            continue;
          }
          stop = at;
          pos_ = at + 1;
          break;
        }
        const std::string_view raw = text_.substr(start, stop - start);
        if (doubled) {
          if (escaped == scratch_.size()) scratch_.emplace_back();
          std::string& s = scratch_[escaped];
          s.clear();
          for (std::size_t k = 0; k < raw.size(); ++k) {
            s += raw[k];
            if (raw[k] == '"') ++k;  // "" stands for one quote
          }
          fixups.emplace_back(fields_.size(), escaped++);
          fields_.emplace_back();
        } else {
          fields_.push_back(raw);
        }
        if (pos_ >= size) break;
        const char c = text_[pos_];
        if (c == sep_) {
          ++pos_;
          continue;
        }
        if (c == '\n') {
          ++pos_;
          ++next_line_;
          break;
        }
        if (c == '\r' && (pos_ + 1 == size || text_[pos_ + 1] == '\n')) {
          pos_ += pos_ + 1 == size ? 1 : 2;
          ++next_line_;
          break;
        }
        throw parse_error(file_, record_line_, field_name(fields_.size() - 1),
                          "unexpected text after a closing quote: " + detail::quote(text_.substr(pos_, 20)));
      }
      const std::size_t start = pos_;
      while (pos_ < size && text_[pos_] != sep_ && text_[pos_] != '\n') ++pos_;
      std::size_t stop = pos_;
      const bool at_newline = pos_ < size && text_[pos_] == '\n';
      if ((at_newline || pos_ == size) && stop > start && text_[stop - 1] == '\r') --stop;
      fields_.push_back(text_.substr(start, stop - start));
      if (pos_ < size && text_[pos_] == sep_) {
        ++pos_;
        continue;
      }
      if (at_newline) {
        ++pos_;
        ++next_line_;
      }
      break;
    }
    for (const auto& [field, s] : fixups) fields_[field] = scratch_[s];
    return true;
  }

  /// The fields of the current record.
  const std::vector<std::string_view>& fields() const { return fields_; }
  std::size_t size() const { return fields_.size(); }
  std::string_view operator[](std::size_t k) const { return fields_[k]; }
  /// The 1-based line on which the current record starts.
  std::size_t line() const { return record_line_; }
  /// The file name given at construction.
  const std::string& file() const { return file_; }
  /// The name of column `k` (from set_field_names), or "column k+1".
  std::string field_name(std::size_t k) const {
    if (k < names_.size()) return names_[k];
    return "column " + std::to_string(k + 1);
  }

 private:
  std::string_view text_;
  std::string file_;
  char sep_;
  std::size_t pos_ = 0;
  std::size_t next_line_ = 1;
  std::size_t record_line_ = 0;
  std::vector<std::string_view> fields_;
  std::vector<std::string> scratch_;
  std::vector<std::pair<std::size_t, std::size_t>> fixups_;
  std::vector<std::string> names_;
};

}  // namespace gatrec
