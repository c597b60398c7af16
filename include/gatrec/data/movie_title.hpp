#pragma once

/// @file
/// @brief Splitting a MovieLens title such as "American President, The (1995)" into the title and
/// its year, and genre lists such as "Animation|Children's|Comedy".

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gatrec/data/text_reader.hpp"

namespace gatrec {

/// A title with its year taken off.
struct title_year {
  std::string title;  ///< without the trailing "(year)"; the whole trimmed title when there is none
  int year = 0;       ///< 0 when the title carries no year
};

namespace detail {
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline int four_digits(std::string_view s) {
  return (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
}
}  // namespace detail

/// Splits off a trailing "(YYYY)", or a year range "(YYYY-YYYY)", "(YYYY–YYYY)" or "(YYYY-)" as
/// the CSV releases write for TV series (the first year is kept). Anything else after the year,
/// such as ML-100K's "(1995) (V)", leaves the title whole with year 0, and so does a title that is
/// nothing but a year.
/// @param title the title as the dataset writes it (UTF-8)
inline title_year split_title_year(std::string_view title) {
  title = trim(title);
  title_year out{std::string(title), 0};
  if (title.size() < 6 || title.back() != ')') return out;
  const std::size_t open = title.rfind('(');
  if (open == std::string_view::npos) return out;
  std::string_view inside = title.substr(open + 1, title.size() - open - 2);
  if (inside.size() < 4) return out;
  for (std::size_t k = 0; k < 4; ++k)
    if (!detail::is_digit(inside[k])) return out;
  std::string_view tail = inside.substr(4);
  if (!tail.empty()) {
    // A range: an ASCII hyphen or an en dash (UTF-8 E2 80 93), then nothing or four digits.
    if (tail.front() == '-') {
      tail.remove_prefix(1);
    } else if (tail.substr(0, 3) == "\xE2\x80\x93") {
      tail.remove_prefix(3);
    } else {
      return out;
    }
    tail = trim(tail);
    if (!tail.empty()) {
      if (tail.size() != 4) return out;
      for (const char c : tail)
        if (!detail::is_digit(c)) return out;
    }
  }
  const std::string_view name = trim(title.substr(0, open));
  if (name.empty()) return out;
  out.title = std::string(name);
  out.year = detail::four_digits(inside);
  return out;
}

/// Splits a "|"-separated genre list; "(no genres listed)" and an empty list give no genres.
inline std::vector<std::string> split_genres(std::string_view genres) {
  std::vector<std::string> out;
  genres = trim(genres);
  if (genres.empty() || genres == "(no genres listed)") return out;
  for (const auto g : split_fields(genres, "|")) {
    const auto name = trim(g);
    if (!name.empty()) out.emplace_back(name);
  }
  return out;
}

}  // namespace gatrec
