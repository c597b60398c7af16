#pragma once

/// @file
/// @brief The unified Markdown profile shared by items and users (PAPER.md, pipeline step 1):
///
///     # <title>                      (items only)
///     ## Overview
///     <2-3 sentences>
///     ## Attributes
///     - **Genre**: A, B
///     - **Tags**: x, y
///     ## Description
///     <one paragraph>
///     ## Dislikes:
///     - keyword
///
/// render() writes it; parse() reads it back and also reads what real LLMs wrote, which varies:
/// "## Dislikes" with or without the colon, dislikes as a bullet list or one comma-separated
/// line, "**Genre:**" inside the bold, Markdown hard breaks (two trailing spaces), and outputs cut
/// off mid-heading ("## Dis", "##"). Nothing is dropped: headings and attributes that are not part
/// of the schema are kept in other_sections and other_attributes.

#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatrec {

/// A Markdown section that is not part of the schema, or text before the first section.
struct profile_section {
  std::string heading;  ///< the heading text after the hashes ("" for text before any heading)
  std::string body;     ///< its text, outer blank lines removed

  friend bool operator==(const profile_section& a, const profile_section& b) {
    return a.heading == b.heading && a.body == b.body;
  }
  friend bool operator!=(const profile_section& a, const profile_section& b) { return !(a == b); }
};

/// One item or user profile in the unified schema.
struct profile {
  std::string title;                 ///< the "# " heading; empty for users
  std::string overview;              ///< "## Overview" text
  std::vector<std::string> genres;   ///< "- **Genre**:" list
  std::vector<std::string> tags;     ///< "- **Tags**:" list
  /// Other "- **Key**: value" lines of the Attributes section, as (key, value).
  std::vector<std::pair<std::string, std::string>> other_attributes;
  std::string description;           ///< "## Description" text
  std::vector<std::string> dislikes; ///< "## Dislikes" keywords
  /// Sections the schema does not have, in order, including text before the first "##" heading.
  std::vector<profile_section> other_sections;

  /// True when nothing at all is set.
  bool empty() const {
    return title.empty() && overview.empty() && genres.empty() && tags.empty() && other_attributes.empty() &&
           description.empty() && dislikes.empty() && other_sections.empty();
  }

  /// The profile as Markdown: the sections in schema order, empty ones left out, a blank line
  /// between sections, no trailing newline. Dislikes are a bullet list under "## Dislikes:", the
  /// heading the authors' LLM outputs use (all 1,591 item profiles and 907 of 943 user profiles).
  std::string render() const;

  /// Reads a profile from Markdown; never fails (text it cannot place goes to other_sections).
  /// parse(p.render()) == p for every profile whose fields have no outer blanks, whose list
  /// entries have no commas or line breaks, and whose other headings are not schema names.
  /// A text with no "#" heading at all (a free-text summary) becomes the description.
  static profile parse(std::string_view markdown);

  friend bool operator==(const profile& a, const profile& b) {
    return a.title == b.title && a.overview == b.overview && a.genres == b.genres && a.tags == b.tags &&
           a.other_attributes == b.other_attributes && a.description == b.description &&
           a.dislikes == b.dislikes && a.other_sections == b.other_sections;
  }
  friend bool operator!=(const profile& a, const profile& b) { return !(a == b); }
};

namespace detail {

inline std::string_view profile_trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Splits "a, b ,c," into {"a", "b", "c"}: entries trimmed, empty ones dropped.
inline std::vector<std::string> split_comma_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    const std::string_view item = profile_trim(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

inline std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k) out += separator;
    out += items[k];
  }
  return out;
}

/// The trimmed text after a list marker ("- ", "* ", "+ ", "1. ", "1) "), setting `is_item`; a
/// line without a marker is returned trimmed with `is_item` false.
inline std::string_view strip_list_marker(std::string_view line, bool& is_item) {
  line = profile_trim(line);
  is_item = false;
  if (line.size() >= 2 && (line[0] == '-' || line[0] == '*' || line[0] == '+') && (line[1] == ' ' || line[1] == '\t')) {
    // "**Genre**" starts with '*' but is bold, not a bullet: the marker needs a blank after it.
    is_item = true;
    return profile_trim(line.substr(2));
  }
  std::size_t k = 0;
  while (k < line.size() && k < 3 && std::isdigit(static_cast<unsigned char>(line[k]))) ++k;
  if (k > 0 && k + 1 < line.size() && (line[k] == '.' || line[k] == ')') && (line[k + 1] == ' ' || line[k + 1] == '\t')) {
    is_item = true;
    return profile_trim(line.substr(k + 2));
  }
  if (line == "-" || line == "*" || line == "+") {
    is_item = true;
    return {};
  }
  return line;
}

/// Heading level of a Markdown ATX heading ("## Overview" is 2), or 0 when `line` is not one.
inline std::size_t heading_level(std::string_view line, std::string_view& text) {
  std::size_t k = 0;
  while (k < line.size() && line[k] == '#') ++k;
  if (k == 0 || k > 6) return 0;
  if (k < line.size() && line[k] != ' ' && line[k] != '\t') return 0;  // "#hashtag" is text
  text = profile_trim(line.substr(k));
  // A closing sequence of hashes ("## Overview ##") is not part of the text.
  while (!text.empty() && text.back() == '#') text.remove_suffix(1);
  text = profile_trim(text);
  return k;
}

enum class profile_part { preamble, overview, attributes, description, dislikes, other };

/// Which schema section a heading names: case, bold markers and a trailing colon ignored.
inline profile_part classify_heading(std::string_view heading) {
  std::string h;
  for (const char c : heading)
    if (c != '*' && c != '_') h += c;
  std::string_view v = profile_trim(h);
  while (!v.empty() && (v.back() == ':' || v.back() == ' ')) v.remove_suffix(1);
  const std::string name = lower_ascii(v);
  if (name == "overview") return profile_part::overview;
  if (name == "attributes" || name == "attribute") return profile_part::attributes;
  if (name == "description") return profile_part::description;
  if (name == "dislikes" || name == "dislike") return profile_part::dislikes;
  return profile_part::other;
}

/// Lines joined by "\n", trailing blanks of each line removed (Markdown hard breaks), outer
/// blank lines removed.
inline std::string join_body(const std::vector<std::string_view>& lines) {
  std::string out;
  for (const std::string_view line : lines) {
    std::string_view l = line;
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) l.remove_suffix(1);
    out += l;
    out += '\n';
  }
  return std::string(profile_trim(out));
}

}  // namespace detail

inline std::string profile::render() const {
  std::string out;
  const auto section = [&out](std::string_view heading, std::string_view body) {
    if (!out.empty()) out += "\n\n";
    out += heading;
    if (!body.empty()) {
      out += '\n';
      out += body;
    }
  };
  if (!title.empty()) out += "# " + title;
  // Text placed before the first section (heading "") stays there.
  for (const profile_section& s : other_sections)
    if (s.heading.empty()) {
      if (!out.empty()) out += "\n\n";
      out += s.body;
    }
  if (!overview.empty()) section("## Overview", overview);
  if (!genres.empty() || !tags.empty() || !other_attributes.empty()) {
    std::string body;
    const auto line = [&body](std::string_view key, std::string_view value) {
      if (!body.empty()) body += '\n';
      body += "- **";
      body += key;
      body += "**: ";
      body += value;
    };
    if (!genres.empty()) line("Genre", detail::join(genres, ", "));
    if (!tags.empty()) line("Tags", detail::join(tags, ", "));
    for (const auto& [key, value] : other_attributes) line(key, value);
    section("## Attributes", body);
  }
  if (!description.empty()) section("## Description", description);
  if (!dislikes.empty()) {
    std::string body;
    for (const std::string& d : dislikes) body += (body.empty() ? "- " : "\n- ") + d;
    section("## Dislikes:", body);
  }
  for (const profile_section& s : other_sections)
    if (!s.heading.empty()) section("## " + s.heading, s.body);
  return out;
}

inline profile profile::parse(std::string_view markdown) {
  using detail::profile_part;
  profile p;
  // Lines of each part; "other" sections are kept separately in order.
  std::vector<std::string_view> preamble, overview, attributes, description, dislikes;
  std::vector<std::pair<std::string, std::vector<std::string_view>>> others;
  std::vector<std::string_view>* current = &preamble;
  bool any_heading = false;

  std::size_t pos = 0;
  while (pos <= markdown.size()) {
    const std::size_t nl = markdown.find('\n', pos);
    std::string_view line = markdown.substr(pos, nl == std::string_view::npos ? markdown.npos : nl - pos);
    pos = nl == std::string_view::npos ? markdown.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    std::string_view heading;
    const std::size_t level = detail::heading_level(detail::profile_trim(line), heading);
    if (level == 0) {
      current->push_back(line);
      continue;
    }
    any_heading = true;
    // The first level-1 heading before any section is the title; later ones are sections.
    if (level == 1 && p.title.empty() && current == &preamble && !heading.empty()) {
      p.title = std::string(heading);
      continue;
    }
    switch (detail::classify_heading(heading)) {
      case profile_part::overview: current = &overview; break;
      case profile_part::attributes: current = &attributes; break;
      case profile_part::description: current = &description; break;
      case profile_part::dislikes: current = &dislikes; break;
      default:
        others.emplace_back(std::string(heading), std::vector<std::string_view>{});
        current = &others.back().second;
        break;
    }
    // A repeated schema heading continues its section after a blank line.
    if (!current->empty()) current->push_back({});
  }

  // Without any heading the whole text is a free-text profile.
  if (!any_heading) {
    p.description = detail::join_body(preamble);
    return p;
  }
  const std::string pre = detail::join_body(preamble);
  if (!pre.empty()) p.other_sections.push_back({"", pre});
  p.overview = detail::join_body(overview);
  p.description = detail::join_body(description);

  // Attributes: "- **Key**: value", "- **Key:** value", "Key: value"; a line without a key
  // continues the previous attribute's value (a wrapped line).
  enum class attr { none, genre, tags, other } last = attr::none;
  for (const std::string_view raw : attributes) {
    bool is_item = false;
    const std::string_view line = detail::strip_list_marker(raw, is_item);
    if (line.empty()) continue;
    const std::size_t colon = line.find(':');
    std::string key;
    if (colon != std::string_view::npos && colon <= 60) {
      for (const char c : line.substr(0, colon))
        if (c != '*' && c != '_') key += c;
      key = std::string(detail::profile_trim(key));
    }
    if (key.empty()) {
      const std::string_view more = detail::profile_trim(line);
      switch (last) {
        case attr::genre: for (auto& g : detail::split_comma_list(more)) p.genres.push_back(std::move(g)); break;
        case attr::tags: for (auto& t : detail::split_comma_list(more)) p.tags.push_back(std::move(t)); break;
        case attr::other: p.other_attributes.back().second += " " + std::string(more); break;
        case attr::none: p.other_attributes.emplace_back("", std::string(more)); last = attr::other; break;
      }
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    value = detail::profile_trim(value);
    while (value.size() >= 2 && value.substr(0, 2) == "**") value = detail::profile_trim(value.substr(2));  // "**Genre:** x"
    const std::string k = detail::lower_ascii(key);
    if (k == "genre" || k == "genres") {
      for (auto& g : detail::split_comma_list(value)) p.genres.push_back(std::move(g));
      last = attr::genre;
    } else if (k == "tags" || k == "tag" || k == "keywords") {
      for (auto& t : detail::split_comma_list(value)) p.tags.push_back(std::move(t));
      last = attr::tags;
    } else {
      p.other_attributes.emplace_back(key, std::string(value));
      last = attr::other;
    }
  }

  // Dislikes: list items are kept whole (they may hold commas); other lines are comma lists.
  for (const std::string_view raw : dislikes) {
    bool is_item = false;
    const std::string_view line = detail::strip_list_marker(raw, is_item);
    if (line.empty()) continue;
    if (is_item) {
      p.dislikes.emplace_back(line);
    } else {
      for (auto& d : detail::split_comma_list(line)) p.dislikes.push_back(std::move(d));
    }
  }

  for (auto& [heading, lines] : others) {
    std::string body = detail::join_body(lines);
    // A bare "##" at the end of a cut-off output carries nothing.
    if (!heading.empty() || !body.empty()) p.other_sections.push_back({heading, std::move(body)});
  }
  return p;
}

}  // namespace gatrec
