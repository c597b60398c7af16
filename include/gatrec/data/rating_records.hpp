#pragma once

/// @file
/// @brief The `user SEP item SEP rating SEP timestamp` record shared by ML-100K (tab), ML-1M/10M
/// ("::") and the CSV releases (","): one parser, checked ids and rating values.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/id_lookup.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// The values a rating may take: min, min + step, ..., max.
struct rating_scale {
  float min = 1.0f;
  float max = 5.0f;
  float step = 1.0f;  ///< 0 accepts any value in [min, max]
};

/// Whole stars 1..5: ML-100K and ML-1M.
inline constexpr rating_scale whole_stars{1.0f, 5.0f, 1.0f};
/// Half stars 0.5..5: ML-10M and the CSV releases (latest, 20M, 25M, 32M).
inline constexpr rating_scale half_stars{0.5f, 5.0f, 0.5f};

/// What a ratings reader does with an id its dataset does not know yet.
enum class unknown_ids {
  reject,  ///< parse_error naming the field (the id must come from a users/items file)
  add,     ///< append it to the id map, in order of first appearance
};

/// How to read a ratings file.
struct rating_read_options {
  unknown_ids users = unknown_ids::reject;
  unknown_ids items = unknown_ids::reject;
  rating_scale scale = whole_stars;
};

/// Checks a rating against a scale.
/// @param value the parsed rating
/// @param scale the allowed values
/// @param text the field as written, quoted in the error
/// @param file,line where the field is
/// @throw parse_error (field "rating") when the value is off the scale
inline void check_rating(float value, const rating_scale& scale, std::string_view text, const std::string& file,
                         std::size_t line) {
  if (!(value >= scale.min && value <= scale.max))
    throw parse_error(file, line, "rating",
                      "rating " + detail::quote(text) + " outside [" + std::to_string(scale.min) + ", " +
                          std::to_string(scale.max) + "]");
  if (scale.step > 0.0f) {
    // steps >= 0 here, so adding 0.5 and truncating rounds it without a libm call.
    const float steps = (value - scale.min) / scale.step;
    const float nearest = static_cast<float>(static_cast<std::int64_t>(steps + 0.5f));
    if (std::fabs(steps - nearest) > 1e-4f)
      throw parse_error(file, line, "rating",
                        "rating " + detail::quote(text) + " is not a multiple of " + std::to_string(scale.step));
  }
}

namespace detail {

/// A numeric CSV field may be quoted ("3.5"); the quotes carry no meaning for a number.
inline std::string_view unquote_number(std::string_view field) {
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') return field.substr(1, field.size() - 2);
  return field;
}

inline raw_id_t parse_raw_id(std::string_view text, const std::string& file, std::size_t line, const char* field) {
  const auto raw = parse_integer<raw_id_t>(text, file, line, field);
  if (raw < 0) throw parse_error(file, line, field, "negative id " + quote(text));
  return raw;
}

[[noreturn]] inline void unknown_id(const char* what, raw_id_t raw, const std::string& file, std::size_t line,
                                    const char* field) {
  throw parse_error(file, line, field,
                    std::string("unknown ") + what + " id " + std::to_string(raw) + " (not among the dataset's " + what +
                        "s)");
}

inline index_t resolve_id(id_lookup& lookup, unknown_ids policy, raw_id_t raw, const char* what,
                          const std::string& file, std::size_t line, const char* field) {
  const index_t idx = policy == unknown_ids::add ? lookup.insert(raw) : lookup.find(raw);
  if (idx < 0) unknown_id(what, raw, file, line, field);
  return idx;
}

inline rating_table parse_rating_lines(std::string_view text, const std::string& file, std::size_t first_line,
                                       std::string_view separator, id_lookup& users, id_lookup& items,
                                       const rating_read_options& options) {
  GATREC_EXPECTS(!separator.empty(), "empty separator");
  rating_table out;
  out.reserve(count_lines(text));
  const bool csv = separator == ",";
  const bool one_char = separator.size() == 1;
  line_reader lines(text, first_line);
  std::string_view line;
  std::string_view f[5];
  while (lines.next(line)) {
    const std::size_t ln = lines.line_number();
    const std::size_t n = one_char ? split_fields(line, separator[0], f, 5) : split_fields(line, separator, f, 5);
    if (n != 4) {
      if (is_blank(line)) continue;
      throw parse_error(file, ln, "", "expected 4 fields (user, item, rating, timestamp) separated by " +
                                          quote(separator) + ", found " + std::to_string(n) + ": " + quote(line, 60));
    }
    if (csv)
      for (auto& v : f) v = unquote_number(v);
    const raw_id_t u = parse_raw_id(f[0], file, ln, "user_id");
    const raw_id_t i = parse_raw_id(f[1], file, ln, "item_id");
    const auto r = parse_real<float>(f[2], file, ln, "rating");
    check_rating(r, options.scale, f[2], file, ln);
    const auto t = parse_integer<std::int64_t>(f[3], file, ln, "timestamp");
    const index_t ui = resolve_id(users, options.users, u, "user", file, ln, "user_id");
    const index_t ii = resolve_id(items, options.items, i, "item", file, ln, "item_id");
    out.push_back(ui, ii, r, t);
  }
  return out;
}

}  // namespace detail

/// Parses rating records, one per line: `user SEP item SEP rating SEP timestamp`. Blank lines are
/// skipped; every other line must have exactly four fields. Ids must be non-negative integers;
/// ratings finite and on the scale; timestamps 64-bit integers.
/// @param text the records (the file's contents, or its rest after a header line)
/// @param file the file name for errors
/// @param first_line the line number of the first line of `text`
/// @param separator "\t", "::" or ","; with "," numeric fields may be quoted
/// @param ds the dataset whose id maps resolve (and, with unknown_ids::add, receive) the ids; its
///        non-empty user_meta / item_meta get a default entry for each added id
/// @param options unknown-id policies and the rating scale
/// @return the ratings by index, in file order
/// @throw parse_error naming file, line and field for any malformed record
inline rating_table parse_rating_records(std::string_view text, const std::string& file, std::size_t first_line,
                                         std::string_view separator, dataset& ds,
                                         const rating_read_options& options) {
  id_lookup users(ds.users), items(ds.items);
  rating_table out = detail::parse_rating_lines(text, file, first_line, separator, users, items, options);
  // Added ids get empty metadata, so that user_meta / item_meta stay empty or one per index.
  if (!ds.user_meta.empty()) ds.user_meta.resize(static_cast<std::size_t>(ds.num_users()));
  if (!ds.item_meta.empty()) ds.item_meta.resize(static_cast<std::size_t>(ds.num_items()));
  return out;
}

/// Parses rating records whose ids must all be known to `ds` (which is left unchanged).
/// @copydetails parse_rating_records(std::string_view, const std::string&, std::size_t, std::string_view, dataset&, const rating_read_options&)
inline rating_table parse_known_rating_records(std::string_view text, const std::string& file, std::size_t first_line,
                                               std::string_view separator, const dataset& ds,
                                               const rating_scale& scale) {
  id_lookup users(ds.users), items(ds.items);
  return detail::parse_rating_lines(text, file, first_line, separator, users, items,
                                    {unknown_ids::reject, unknown_ids::reject, scale});
}

}  // namespace gatrec
