#pragma once

/// @file
/// @brief Reading what a model answered to the re-ranking prompts, robustly: a permutation of
/// candidate ids, a choice between A and B, a 1-100 score. None of them throws; each says whether
/// the reply was usable and what had to be repaired.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatrec {

/// How a ranking was read from a reply.
enum class ranking_source {
  none,      ///< nothing usable
  brackets,  ///< "[3] > [1] > ..." (the asked-for form)
  titles,    ///< candidate titles, in the order they first appear
  numbers,   ///< bare numbers ("3 > 1 > 2"), the last resort
};

/// A ranking read from a reply, repaired into a full permutation.
struct ranking_parse {
  /// A permutation of 0..n-1, best first: the valid ids in the order the reply gives them, then the
  /// ids it left out in their original order. Empty when the reply was unusable.
  std::vector<int> order;
  ranking_source source = ranking_source::none;
  std::size_t valid = 0;       ///< distinct candidates the reply named
  std::size_t duplicates = 0;  ///< candidates named again (later mentions ignored)
  std::size_t unknown = 0;     ///< ids outside 1..n
  std::size_t missing = 0;     ///< candidates the reply left out (appended in original order)

  bool usable() const { return !order.empty(); }
  /// True when the ranking had to be repaired (anything but exactly the n ids, each once).
  bool repaired() const { return usable() && (duplicates > 0 || unknown > 0 || missing > 0); }
};

namespace detail {

inline bool rerank_word_char(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80;
}

inline bool rerank_digit(char c) { return c >= '0' && c <= '9'; }

inline std::string rerank_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// The first occurrence of `needle` in `hay` at or after `from` that is a whole word sequence (no
/// word character right before or after it) and does not overlap a `taken` byte; npos when none.
inline std::size_t find_whole(std::string_view hay, std::string_view needle, const std::vector<char>& taken,
                              std::size_t from = 0) {
  if (needle.empty()) return std::string_view::npos;
  for (std::size_t pos = hay.find(needle, from); pos != std::string_view::npos; pos = hay.find(needle, pos + 1)) {
    const std::size_t end = pos + needle.size();
    const bool left = pos == 0 || !rerank_word_char(hay[pos - 1]) || !rerank_word_char(needle.front());
    const bool right = end >= hay.size() || !rerank_word_char(hay[end]) || !rerank_word_char(needle.back());
    if (!left || !right) continue;
    if (std::any_of(taken.begin() + static_cast<std::ptrdiff_t>(pos), taken.begin() + static_cast<std::ptrdiff_t>(end),
                    [](char t) { return t != 0; }))
      continue;
    return pos;
  }
  return std::string_view::npos;
}

/// A number in a reply: its value and where it starts and ends.
struct reply_number {
  double value = 0;
  std::size_t begin = 0, end = 0;
  bool integer = true;
  bool bracketed = false;  ///< written "[k]"
};

/// Every number of `text` that stands alone (not glued to letters: "[3]", "3.", "85/100" count,
/// "se7en", "x2" do not), with an optional leading minus and decimal part.
inline std::vector<reply_number> reply_numbers(std::string_view text) {
  std::vector<reply_number> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!rerank_digit(text[i])) {
      ++i;
      continue;
    }
    std::size_t begin = i, end = i;
    while (end < text.size() && rerank_digit(text[end])) ++end;
    bool integer = true;
    if (end + 1 < text.size() && text[end] == '.' && rerank_digit(text[end + 1])) {
      integer = false;
      ++end;
      while (end < text.size() && rerank_digit(text[end])) ++end;
    }
    const bool glued_left = begin > 0 && rerank_word_char(text[begin - 1]);
    const bool glued_right = end < text.size() && rerank_word_char(text[end]);
    if (!glued_left && !glued_right) {
      reply_number n;
      n.value = std::stod(std::string(text.substr(begin, end - begin)));
      if (begin > 0 && text[begin - 1] == '-' && (begin == 1 || !rerank_word_char(text[begin - 2]))) {
        n.value = -n.value;
        --begin;
      }
      n.begin = begin;
      n.end = end;
      n.integer = integer;
      std::size_t l = begin, r = end;
      while (l > 0 && text[l - 1] == ' ') --l;
      while (r < text.size() && text[r] == ' ') ++r;
      n.bracketed = l > 0 && text[l - 1] == '[' && r < text.size() && text[r] == ']';
      out.push_back(n);
    }
    i = end;
  }
  return out;
}

}  // namespace detail

/// Reads a ranking of n candidates from a reply. In order of preference it reads bracketed ids
/// "[k]" (k = 1..n), else candidate titles (case-insensitive, whole words, longest titles first so
/// that "Heat" inside "The Heat Is On" is not taken), else bare numbers 1..n (4-digit numbers
/// 1800-2100 are taken for years and skipped). Ids are kept in the order they appear, later
/// mentions of the same candidate are counted as duplicates, ids outside 1..n as unknown, and the
/// candidates never named are appended in their original order.
/// @param reply the model's text
/// @param titles the candidates' titles in label order (label k is titles[k - 1])
inline ranking_parse parse_ranking(std::string_view reply, const std::vector<std::string>& titles) {
  ranking_parse r;
  const int n = static_cast<int>(titles.size());
  if (n == 0) return r;
  std::vector<std::pair<std::size_t, int>> events;  // (position, candidate)
  const std::vector<detail::reply_number> numbers = detail::reply_numbers(reply);

  // 1. Bracketed ids.
  std::size_t bracket_unknown = 0;
  for (const auto& x : numbers) {
    if (!x.bracketed) continue;
    if (x.integer && x.value >= 1 && x.value <= n)
      events.emplace_back(x.begin, static_cast<int>(x.value) - 1);
    else
      ++bracket_unknown;
  }
  if (!events.empty()) {
    r.source = ranking_source::brackets;
    r.unknown = bracket_unknown;
  }
  // 2. Titles.
  if (events.empty()) {
    const std::string lower = detail::rerank_lower(reply);
    std::vector<char> taken(lower.size(), 0);
    std::vector<int> by_length(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) by_length[static_cast<std::size_t>(k)] = k;
    std::stable_sort(by_length.begin(), by_length.end(), [&](int a, int b) {
      return titles[static_cast<std::size_t>(a)].size() > titles[static_cast<std::size_t>(b)].size();
    });
    for (const int k : by_length) {
      const std::string t = detail::rerank_lower(titles[static_cast<std::size_t>(k)]);
      if (t.size() < 2) continue;
      bool first = true;
      for (std::size_t pos = detail::find_whole(lower, t, taken); pos != std::string_view::npos;
           pos = detail::find_whole(lower, t, taken, pos + t.size())) {
        std::fill(taken.begin() + static_cast<std::ptrdiff_t>(pos),
                  taken.begin() + static_cast<std::ptrdiff_t>(pos + t.size()), 1);
        events.emplace_back(pos, k);
        if (!first) break;  // one repeat is enough to count a duplicate
        first = false;
      }
    }
    if (!events.empty()) r.source = ranking_source::titles;
  }
  // 3. Bare numbers.
  if (events.empty()) {
    std::size_t unknown = 0;
    for (const auto& x : numbers) {
      const bool year = x.integer && x.value >= 1800 && x.value <= 2100 && n < 1800;
      if (year) continue;
      if (x.integer && x.value >= 1 && x.value <= n)
        events.emplace_back(x.begin, static_cast<int>(x.value) - 1);
      else
        ++unknown;
    }
    if (!events.empty()) {
      r.source = ranking_source::numbers;
      r.unknown = unknown;
    }
  }
  if (events.empty()) return r;

  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (const auto& e : events) {
    if (seen[static_cast<std::size_t>(e.second)]) {
      ++r.duplicates;
      continue;
    }
    seen[static_cast<std::size_t>(e.second)] = 1;
    r.order.push_back(e.second);
  }
  r.valid = r.order.size();
  for (int k = 0; k < n; ++k)
    if (!seen[static_cast<std::size_t>(k)]) {
      r.order.push_back(k);
      ++r.missing;
    }
  return r;
}

/// Reads "which would the user prefer, A or B": 0 for A, 1 for B, nullopt when the reply does not
/// say. Accepted, in order: a reply whose first word is "A" or "B" (upper case: a lower-case "a" is
/// the article) not followed by "or"/"and", or "Movie/Option/Answer A"; else exactly one of the
/// standalone words "A" and "B" (both: no answer); else exactly one of the two titles.
inline std::optional<int> parse_choice(std::string_view reply, std::string_view title_a, std::string_view title_b) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < reply.size();) {
    if (!detail::rerank_word_char(reply[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < reply.size() && detail::rerank_word_char(reply[j])) ++j;
    words.push_back(reply.substr(i, j - i));
    i = j;
  }
  const auto letter = [](std::string_view w) -> std::optional<int> {
    if (w == "A") return 0;
    if (w == "B") return 1;
    return std::nullopt;
  };
  bool saw[2] = {false, false};
  for (const auto w : words)
    if (const auto l = letter(w)) saw[*l] = true;
  if (!words.empty()) {
    // "A or B", "A and B ...": both letters named together say nothing.
    const bool joined = words.size() > 1 && (words[1] == "or" || words[1] == "and");
    if (const auto l = letter(words[0]); l && !joined) return l;
    const std::string w0 = detail::rerank_lower(words[0]);
    if (words.size() > 1 && (w0 == "movie" || w0 == "option" || w0 == "answer"))
      if (const auto l = letter(words[1])) return l;
  }
  if (saw[0] != saw[1]) return saw[0] ? 0 : 1;
  if (saw[0] && saw[1]) return std::nullopt;
  const std::string lower = detail::rerank_lower(reply);
  const std::vector<char> none(lower.size(), 0);
  const std::string la = detail::rerank_lower(title_a), lb = detail::rerank_lower(title_b);
  const bool in_a = la.size() >= 2 && detail::find_whole(lower, la, none) != std::string_view::npos;
  const bool in_b = lb.size() >= 2 && detail::find_whole(lower, lb, none) != std::string_view::npos;
  if (in_a != in_b) return in_a ? 0 : 1;
  return std::nullopt;
}

/// A 1-100 score read from a reply.
struct score_parse {
  std::optional<double> value;  ///< the score, when a number in [1, 100] was found
  bool found_number = false;    ///< a number was found (out of range when value is empty)
};

/// Reads the first standalone number of a reply ("85", "Score: 85", "85/100", "72.5"), skipping a
/// repeated scale ("on a scale from 1 to 100, 70" gives 70). A number outside [1, 100] makes the
/// reply unusable (found_number set, no value); so does a reply without a number.
inline score_parse parse_score(std::string_view reply) {
  score_parse s;
  const std::vector<detail::reply_number> numbers = detail::reply_numbers(reply);
  for (std::size_t k = 0; k < numbers.size(); ++k) {
    const auto& x = numbers[k];
    if (x.value == 1 && k + 1 < numbers.size() && numbers[k + 1].value == 100) {
      // "1 to 100", "1-100", "1 and 100": the scale, not a score.
      std::string between = detail::rerank_lower(reply.substr(x.end, numbers[k + 1].begin - x.end));
      between.erase(std::remove(between.begin(), between.end(), ' '), between.end());
      if (between == "to" || between == "-" || between == "and" || between == "\xE2\x80\x93") {
        ++k;
        continue;
      }
    }
    s.found_number = true;
    if (x.value >= 1 && x.value <= 100) s.value = x.value;
    return s;
  }
  return s;
}

}  // namespace gatrec
