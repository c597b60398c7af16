#pragma once

/// @file
/// @brief Deterministic profiles built from metadata alone, for when no LLM is configured and
/// for the items and users an LLM profile file lacks.
///
/// They follow the unified schema (profile.hpp) so that they can be embedded next to LLM-written
/// profiles: an item profile states title, year and genres (plus an overview when one is known);
/// a user profile summarises the user's training ratings the way the paper's prompt feeds them to
/// the LLM: liked (rating >= 4) and disliked (rating <= 2) movies, most recent first, as the
/// authors' code orders them, and genre counts.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/profiles/profile.hpp"

namespace gatrec {

/// A MovieLens title with a trailing article moved to the front: "Usual Suspects, The" becomes
/// "The Usual Suspects" (as the LLM profiles write it). Titles without one are returned as is.
inline std::string natural_title(std::string_view title) {
  static constexpr std::string_view articles[] = {"The", "A", "An", "Les", "La", "Le", "Il", "El", "Das", "Der", "Die"};
  const std::size_t comma = title.rfind(", ");
  if (comma == std::string_view::npos) return std::string(title);
  const std::string_view tail = title.substr(comma + 2);
  if (std::find(std::begin(articles), std::end(articles), tail) == std::end(articles)) {
    // French elision: "Homme, L'" -> "L'Homme".
    if (tail == "L'") return std::string(tail) + std::string(title.substr(0, comma));
    return std::string(title);
  }
  return std::string(tail) + " " + std::string(title.substr(0, comma));
}

/// "The Usual Suspects (1995)", or the natural title alone when the year is unknown.
inline std::string display_title(const item_info& info) {
  std::string out = natural_title(info.title);
  if (info.year > 0) out += " (" + std::to_string(info.year) + ")";
  return out;
}

namespace detail {

inline bool is_unknown_genre(const std::string& g) { return g == "unknown" || g == "(no genres listed)"; }

/// "a, b and c".
inline std::string and_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k > 0) out += k + 1 == items.size() ? " and " : ", ";
    out += items[k];
  }
  return out;
}

inline std::string format_rating(float r) {
  if (std::floor(r) == r) return std::to_string(static_cast<long long>(r));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(r));
  return buf;
}

/// Genres by decreasing count, ties by name: a deterministic order.
inline std::vector<std::string> genres_by_count(const std::map<std::string, std::size_t>& counts) {
  std::vector<std::pair<std::string, std::size_t>> v(counts.begin(), counts.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> out;
  for (auto& [g, n] : v) out.push_back(g);
  return out;
}

}  // namespace detail

/// The template profile of one item.
/// @param info title (without year), year (0 when unknown) and genres
/// @param overview a plot summary when one is known (for example TMDB's); empty otherwise
/// @return a profile with title, an overview (the given one, or a sentence stating year and
///         genres), the genres (without "unknown") and the decade as a tag
inline profile item_template_profile(const item_info& info, std::string_view overview = {}) {
  profile p;
  p.title = natural_title(info.title);
  for (const std::string& g : info.genres)
    if (!detail::is_unknown_genre(g)) p.genres.push_back(g);
  const std::string_view given = detail::profile_trim(overview);
  if (!given.empty()) {
    p.overview = std::string(given);
  } else {
    std::vector<std::string> lower;
    for (const std::string& g : p.genres) lower.push_back(detail::lower_ascii(g));
    std::string what;
    if (info.year > 0) what += std::to_string(info.year) + " ";
    if (!lower.empty()) what += detail::and_list(lower) + " ";
    what += "film";
    const bool vowel = std::string_view("aeiou").find(what[0]) != std::string_view::npos;
    p.overview = p.title + " is " + (vowel ? "an " : "a ") + what + ".";
  }
  if (info.year > 0) p.tags.push_back(std::to_string(info.year / 10 * 10) + "s");
  return p;
}

/// An item in the authors' older "integrated text" format:
/// `Movie title: <title> (<year>)` / `Genre: a, b` / `Overview: ...` (the last line only when an
/// overview is known). The title is written as the dataset writes it, as the authors did.
inline std::string integrated_item_text(const item_info& info, std::string_view overview = {}) {
  std::string out = "Movie title: " + info.title;
  if (info.year > 0) out += " (" + std::to_string(info.year) + ")";
  std::vector<std::string> genres;
  for (const std::string& g : info.genres)
    if (!detail::is_unknown_genre(g)) genres.push_back(g);
  out += "\nGenre: " + detail::join(genres, ", ");
  const std::string_view given = detail::profile_trim(overview);
  if (!given.empty()) out += "\nOverview: " + std::string(given);
  return out;
}

/// How template user profiles summarise ratings.
struct user_template_options {
  float liked_min_rating = 4.0f;     ///< ratings >= this are likes (the paper: 4)
  float disliked_max_rating = 2.0f;  ///< ratings <= this are dislikes (the paper: 2)
  /// Liked and disliked titles listed (each), most recent first. The authors' LLM saw two batches
  /// of five of each.
  std::size_t max_titles = 10;
};

namespace detail {

/// One user's profile from their ratings, given as positions into `train`.
inline profile user_profile_from_rows(const rating_table& train, std::vector<std::size_t> rows,
                                      const std::vector<item_info>& items, const user_template_options& o) {
  // Most recent first; ties keep the table order, so the result is deterministic.
  std::stable_sort(rows.begin(), rows.end(),
                   [&](std::size_t a, std::size_t b) { return train.timestamp[a] > train.timestamp[b]; });
  std::map<std::string, std::size_t> liked_genres, disliked_genres;
  std::vector<std::string> liked_titles, disliked_titles;
  std::size_t liked = 0, disliked = 0;
  for (const std::size_t r : rows) {
    const auto item = static_cast<std::size_t>(train.item[r]);
    GATREC_EXPECTS(item < items.size(), "rating of item index " + std::to_string(item) + " but only " +
                                            std::to_string(items.size()) + " items have metadata");
    const item_info& info = items[item];
    const float rating = train.rating[r];
    if (rating >= o.liked_min_rating) {
      ++liked;
      if (liked_titles.size() < o.max_titles) liked_titles.push_back(display_title(info));
      for (const std::string& g : info.genres)
        if (!is_unknown_genre(g)) ++liked_genres[g];
    } else if (rating <= o.disliked_max_rating) {
      ++disliked;
      if (disliked_titles.size() < o.max_titles) disliked_titles.push_back(display_title(info));
      for (const std::string& g : info.genres)
        if (!is_unknown_genre(g)) ++disliked_genres[g];
    }
  }
  profile p;
  if (rows.empty()) {
    p.overview = "This user has no training ratings.";
    return p;
  }
  p.genres = genres_by_count(liked_genres);
  p.overview = "This user rated " + std::to_string(rows.size()) + (rows.size() == 1 ? " movie" : " movies") +
               ", liking " + std::to_string(liked) + " (rating " + format_rating(o.liked_min_rating) +
               " or higher) and disliking " + std::to_string(disliked) + " (rating " +
               format_rating(o.disliked_max_rating) + " or lower).";
  if (!p.genres.empty()) {
    std::vector<std::string> top(p.genres.begin(), p.genres.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(3, p.genres.size())));
    p.overview += " Most liked genres: " + and_list(top) + ".";
  }
  if (!liked_titles.empty()) p.description = "Recently liked: " + join(liked_titles, "; ") + ".";
  if (!disliked_titles.empty()) {
    if (!p.description.empty()) p.description += "\n\n";
    p.description += "Recently disliked: " + join(disliked_titles, "; ") + ".";
  }
  // A genre is disliked when it appears more often among dislikes than among likes.
  std::map<std::string, std::size_t> net;
  for (const auto& [g, n] : disliked_genres) {
    const auto it = liked_genres.find(g);
    const std::size_t l = it == liked_genres.end() ? 0 : it->second;
    if (n > l) net[g] = n;
  }
  p.dislikes = genres_by_count(net);
  return p;
}

}  // namespace detail

/// Template profiles of every user from their training ratings.
/// @param train training ratings only (never test ratings: profiles are model inputs)
/// @param num_users users are 0..num_users-1; users without ratings get a one-line profile
/// @param items metadata by item index (dataset::item_meta)
/// @param options thresholds and list lengths
/// @return one profile per user index, without a title (the authors' user profiles have none)
/// @throw logic_error when a rating names a user or item outside the given ranges
inline std::vector<profile> user_template_profiles(const rating_table& train, index_t num_users,
                                                   const std::vector<item_info>& items,
                                                   const user_template_options& options = {}) {
  GATREC_EXPECTS(num_users >= 0, "negative user count");
  std::vector<std::vector<std::size_t>> rows(static_cast<std::size_t>(num_users));
  for (std::size_t r = 0; r < train.size(); ++r) {
    const index_t u = train.user[r];
    GATREC_EXPECTS(u >= 0 && u < num_users, "rating of user index " + std::to_string(u) + " outside [0, " +
                                                std::to_string(num_users) + ")");
    rows[static_cast<std::size_t>(u)].push_back(r);
  }
  std::vector<profile> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(detail::user_profile_from_rows(train, std::move(r), items, options));
  return out;
}

/// The template profile of one user; see user_template_profiles.
inline profile user_template_profile(const rating_table& train, index_t user, const std::vector<item_info>& items,
                                     const user_template_options& options = {}) {
  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < train.size(); ++r)
    if (train.user[r] == user) rows.push_back(r);
  return detail::user_profile_from_rows(train, std::move(rows), items, options);
}

}  // namespace gatrec
