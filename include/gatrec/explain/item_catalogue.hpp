#pragma once

/// @file
/// @brief What explanations say about items: a readable title ("The Usual Suspects (1995)"), and
/// the attributes a justification may cite (genres, tags), from the dataset and optionally from
/// the items' LLM profiles.

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/text_reader.hpp"
#include "gatrec/profiles/profile.hpp"

namespace gatrec {

/// One item as explanations name it.
struct catalogue_item {
  std::string title;                ///< display title with its year, e.g. "The Usual Suspects (1995)"
  std::vector<std::string> genres;  ///< genre names, as the dataset writes them
  std::vector<std::string> tags;    ///< descriptive tags (dataset tags, or the profile's "Tags")
};

namespace detail {

/// True for genre names that say nothing ("unknown" in ML-100K, "(no genres listed)" in the CSV releases).
inline bool is_placeholder_genre(std::string_view g) {
  g = trim(g);
  return g.empty() || g == "unknown" || g == "Unknown" || g.front() == '(';
}

}  // namespace detail

/// A title as people write it: MovieLens moves leading articles to the end ("Usual Suspects, The",
/// "Postino, Il", "Misérables, Les"); they are put back in front. A parenthesised alternative
/// title that follows ("Horseman on the Roof, The (Hussard sur le toit, Le)") is kept as it is.
/// The year is appended as " (YYYY)" when known.
/// @param title the title without its year (UTF-8)
/// @param year the release year, 0 when unknown
inline std::string display_title(std::string_view title, int year) {
  title = trim(title);
  std::string_view main = title, alternative;
  if (!title.empty() && title.back() == ')') {
    const std::size_t open = title.find(" (");
    if (open != std::string_view::npos && open > 0) {
      main = title.substr(0, open);
      alternative = title.substr(open);
    }
  }
  static constexpr std::array<std::string_view, 16> articles{"The", "A",   "An",  "La",  "Le",  "Les", "L'",  "Il",
                                                             "Das", "Der", "Die", "El",  "Los", "Las", "Lo",  "Det"};
  std::string out(main);
  const std::size_t comma = main.rfind(", ");
  if (comma != std::string_view::npos && comma > 0) {
    const std::string_view tail = main.substr(comma + 2);
    if (std::find(articles.begin(), articles.end(), tail) != articles.end())
      out = std::string(tail) + (tail.back() == '\'' ? "" : " ") + std::string(main.substr(0, comma));
  }
  out += alternative;
  if (year > 0) out += " (" + std::to_string(year) + ")";
  return out;
}

/// Titles, genres and tags of every item of a dataset, by item index.
class item_catalogue {
 public:
  item_catalogue() = default;

  /// From a dataset's item metadata. Items without metadata are named "item <raw id>"; placeholder
  /// genres ("unknown", "(no genres listed)") are dropped.
  explicit item_catalogue(const dataset& ds) {
    items_.resize(static_cast<std::size_t>(ds.num_items()));
    for (index_t i = 0; i < ds.num_items(); ++i) {
      catalogue_item& c = items_[static_cast<std::size_t>(i)];
      if (static_cast<std::size_t>(i) < ds.item_meta.size()) {
        const item_info& m = ds.item_meta[static_cast<std::size_t>(i)];
        c.title = display_title(m.title, m.year);
        for (const auto& g : m.genres)
          if (!detail::is_placeholder_genre(g)) c.genres.push_back(g);
        c.tags = m.tags;
      }
      if (c.title.empty()) c.title = "item " + std::to_string(ds.items.raw(i));
    }
  }

  /// From explicit entries (tests, other sources).
  explicit item_catalogue(std::vector<catalogue_item> items) : items_(std::move(items)) {}

  index_t size() const { return static_cast<index_t>(items_.size()); }

  /// Item i. @throw logic_error when i is out of range
  const catalogue_item& at(index_t i) const {
    GATREC_EXPECTS(i >= 0 && i < size(),
                   "item " + std::to_string(i) + " is outside the catalogue [0, " + std::to_string(size()) + ")");
    return items_[static_cast<std::size_t>(i)];
  }

  /// Replaces item i's tags. @throw logic_error when i is out of range
  void set_tags(index_t i, std::vector<std::string> tags) {
    at(i);
    items_[static_cast<std::size_t>(i)].tags = std::move(tags);
  }

  /// Takes the "Tags" attribute of each item's unified Markdown profile (PAPER.md step 1) as the
  /// item's tags, and its "Genre" attribute as genres for items the dataset gives none. Profiles of
  /// raw ids the dataset does not know are ignored.
  /// @param profiles Markdown profile texts by raw item id
  /// @param items the dataset's item id map
  /// @return the number of items whose profile was used
  std::size_t add_profiles(const std::map<raw_id_t, std::string>& profiles, const id_map& items) {
    std::size_t used = 0;
    for (const auto& [raw, text] : profiles) {
      const auto i = items.find(raw);
      if (!i || *i >= size() || text.empty()) continue;
      const profile p = profile::parse(text);
      catalogue_item& c = items_[static_cast<std::size_t>(*i)];
      c.tags = p.tags;
      if (c.genres.empty())
        for (const auto& g : p.genres)
          if (!detail::is_placeholder_genre(g)) c.genres.push_back(g);
      ++used;
    }
    return used;
  }

  /// Every display title, by item index (what the justification validator checks against).
  std::vector<std::string> titles() const {
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& c : items_) out.push_back(c.title);
    return out;
  }

 private:
  std::vector<catalogue_item> items_;
};

}  // namespace gatrec
