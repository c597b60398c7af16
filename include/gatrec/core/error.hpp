#pragma once

/// @file
/// @brief The exceptions gatrec throws at its public boundary, and the checks that raise them.
///
/// Library code never calls exit() and never prints: every failure becomes one of these types, with
/// a message that names what was wrong and where (file, line and field for parsers).

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace gatrec {

/// Base of every gatrec exception.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller broke a precondition: wrong shape, out-of-range argument, inconsistent options.
class logic_error : public error {
 public:
  using error::error;
};

/// A file could not be opened, read or written.
class io_error : public error {
 public:
  using error::error;
};

/// Input data is malformed. Carries the file, the 1-based line (0 when not line-oriented) and the
/// field, so that a user can find the offending byte.
class parse_error : public error {
 public:
  parse_error(std::string file, std::size_t line, std::string field, const std::string& what)
      : error(format(file, line, field, what)),
        file_(std::move(file)),
        line_(line),
        field_(std::move(field)) {}

  /// The file being read.
  const std::string& file() const noexcept { return file_; }
  /// The 1-based line number, or 0 for formats without lines (binary headers, whole-file checks).
  std::size_t line() const noexcept { return line_; }
  /// The field that failed (for example "rating" or "user_id"); empty when the line as a whole is bad.
  const std::string& field() const noexcept { return field_; }

 private:
  static std::string format(const std::string& file, std::size_t line, const std::string& field,
                            const std::string& what) {
    std::string msg = file;
    if (line > 0) msg += ":" + std::to_string(line);
    if (!field.empty()) msg += ": field '" + field + "'";
    msg += ": " + what;
    return msg;
  }

  std::string file_;
  std::size_t line_;
  std::string field_;
};

namespace detail {
[[noreturn]] inline void throw_logic_error(const char* function, const std::string& what) {
  throw logic_error(std::string(function) + ": " + what);
}
}  // namespace detail

}  // namespace gatrec

/// Throws gatrec::logic_error naming the calling function when a precondition does not hold.
#define GATREC_EXPECTS(condition, message)                                       \
  do {                                                                           \
    if (!(condition)) ::gatrec::detail::throw_logic_error(__func__, (message));  \
  } while (0)
