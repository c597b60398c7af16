#pragma once

/// @file
/// @brief Natural-language justifications written from an `evidence` record only: a deterministic
/// template sentence, the evidence-only prompt for an optional LLM rephrasing, and a validator that
/// accepts a rephrased sentence only when every title, rating and quoted phrase in it comes from
/// the evidence (otherwise the template is used).
///
/// The template never states anything the evidence does not hold: cited items with the user's own
/// ratings, genres and tags the recommended item shares with them, and, when the user has no liked
/// item to cite, the ratings of the users who shape the item's embedding.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/explain/evidence.hpp"
#include "gatrec/explain/item_catalogue.hpp"

namespace gatrec {

/// How justifications are worded.
struct justification_options {
  float max_rating = 5.0f;            ///< ratings are written "r/max_rating"
  bool show_ratings = true;           ///< false for implicit feedback: "you watched X" instead of "you rated X 5/5"
  std::string noun = "film";          ///< what the items are
  std::size_t max_chars = 500;        ///< longest rephrased sentence the validator accepts
  std::size_t min_scanned_title = 5;  ///< catalogue titles shorter than this (in bytes, year left out) are not
                                      ///< searched for in rephrased text: they are mostly common words ("Heat", "Big")
};

/// One message of a chat prompt (the same two fields as an OpenAI-style chat message).
struct prompt_message {
  std::string role;     ///< "system" or "user"
  std::string content;
};

/// The validator's verdict on a rephrased sentence.
struct rephrasing_check {
  bool accepted = false;
  std::string reason;  ///< why it was rejected; empty when accepted
};

namespace detail {

/// "5", "4.5": a rating with at most one decimal, without a trailing ".0".
inline std::string format_rating(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", r);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

/// "a", "a and b", "a, b and c".
inline std::string join_naturally(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += k + 1 == parts.size() ? " and " : ", ";
    out += parts[k];
  }
  return out;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// "a" or "an" before a word (by its first letter; enough for genre names).
inline const char* indefinite_article(std::string_view word) {
  const char c = word.empty() ? 'x' : static_cast<char>(std::tolower(static_cast<unsigned char>(word.front())));
  return (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') ? "an" : "a";
}

inline std::vector<std::string> attribute_names(const std::vector<shared_attribute>& a, bool lower) {
  std::vector<std::string> out;
  for (const auto& x : a) out.push_back(lower ? ascii_lower(trim(x.name)) : std::string(trim(x.name)));
  return out;
}

/// The title without its trailing " (YYYY)".
inline std::string_view title_core(std::string_view title) {
  if (title.size() >= 7 && title.back() == ')' && title[title.size() - 7] == ' ' && title[title.size() - 6] == '(') {
    bool digits = true;
    for (std::size_t k = title.size() - 5; k < title.size() - 1; ++k)
      digits = digits && std::isdigit(static_cast<unsigned char>(title[k]));
    if (digits) return title.substr(0, title.size() - 7);
  }
  return title;
}

/// Attribute names grouped by the exact list of cited items that have them: (items, names), groups
/// in order of first appearance (shared_attributes sorts the most shared first).
inline std::vector<std::pair<std::vector<index_t>, std::vector<std::string>>> group_by_items(
    const std::vector<shared_attribute>& attributes, bool lower = true) {
  std::vector<std::pair<std::vector<index_t>, std::vector<std::string>>> out;
  for (const auto& a : attributes) {
    const std::string name = lower ? ascii_lower(trim(a.name)) : std::string(trim(a.name));
    const auto g = std::find_if(out.begin(), out.end(), [&](const auto& x) { return x.first == a.items; });
    if (g != out.end())
      g->second.push_back(name);
    else
      out.push_back({a.items, {name}});
  }
  return out;
}

/// The clause on the users who shape the item's embedding (used when no liked item can be cited);
/// empty when nobody rated the item.
inline std::string users_clause(const evidence& ev, const justification_options& opt) {
  if (ev.item_raters == 0 || ev.users.empty()) return {};
  double sum = 0;
  for (const auto& u : ev.users) sum += u.rating;
  const double mean = sum / static_cast<double>(ev.users.size());
  const std::string who = ev.users.size() == 1
                              ? "the user who most shapes its representation "
                              : "the " + std::to_string(ev.users.size()) + " users who most shape its representation ";
  if (!opt.show_ratings) return who + "watched it";
  return who + "rated it " + format_rating(mean) + "/" + format_rating(opt.max_rating) +
         (ev.users.size() == 1 ? "" : " on average");
}

}  // namespace detail

/// The template justification of one recommendation. Deterministic; uses the evidence only.
///
/// - Cited items: "Recommended because you rated Heat (1995) 5/5 and The Usual Suspects (1995)
///   4/5; like them, it is a crime and thriller film." Shared genres are grouped by the cited items
///   that have them, and each "like ..." names exactly those items ("them"/"it" for all of them):
///   "...; like Heat (1995), it is an action film", and a second group ", and like X, a drama
///   film". Tags every cited item has add ", tagged heist" after a "like them" clause; without
///   shared genres: "...; like it, it is tagged heist". Nothing shared: the sentence ends after the
///   cited items.
/// - No liked item (nothing rated at least the threshold): "You have not rated any film 4/5 or
///   higher yet, so this comes from other users' ratings: the 5 users who most shape its
///   representation rated it 4.4/5 on average."
/// - No rated item at all: "You have no ratings yet, so this comes from other users' ratings: ...".
/// - Nobody rated the item either: "..., and no one has rated this film yet: it is recommended from
///   its own features alone."
/// @param ev the evidence (explain_recommendation)
/// @param catalogue titles by item index
/// @throw logic_error when an item of the evidence is outside the catalogue
inline std::string template_justification(const evidence& ev, const item_catalogue& catalogue,
                                          const justification_options& opt = {}) {
  const std::string scale = "/" + detail::format_rating(opt.max_rating);
  if (ev.items.empty()) {
    std::string lead;
    if (ev.rated_items == 0)
      lead = "You have no ratings yet";
    else if (ev.liked_items == 0 && opt.show_ratings)
      lead = "You have not rated any " + opt.noun + " " + detail::format_rating(ev.like_threshold) + scale +
             " or higher yet";
    const std::string users = detail::users_clause(ev, opt);
    if (users.empty()) {
      const std::string nobody = "no one has rated this " + opt.noun + " yet: it is recommended from its own features alone.";
      if (lead.empty()) return "N" + nobody.substr(1);
      return lead + ", and " + nobody;
    }
    if (lead.empty()) return "Recommended mainly through other users' ratings: " + users + ".";
    return lead + ", so this comes from other users' ratings: " + users + ".";
  }
  std::vector<std::string> cited;
  for (const auto& c : ev.items)
    cited.push_back(catalogue.at(c.item).title +
                    (opt.show_ratings ? " " + detail::format_rating(c.rating) + scale : std::string()));
  std::string s = std::string("Recommended because you ") + (opt.show_ratings ? "rated " : "watched ") +
                  detail::join_naturally(cited);
  // Attributes are grouped by the cited items that have them, largest group first, so that each
  // "like ..." names exactly the items it is true of ("them"/"it" when it is all of them).
  const auto groups = detail::group_by_items(ev.genres);
  const auto who = [&](const std::vector<index_t>& items) {
    if (items.size() == ev.items.size()) return std::string(items.size() > 1 ? "them" : "it");
    std::vector<std::string> titles;
    for (const index_t i : items) titles.push_back(catalogue.at(i).title);
    return detail::join_naturally(titles);
  };
  const auto kind = [&](const std::vector<std::string>& names) {
    const std::string lower = detail::join_naturally(names);
    return std::string(detail::indefinite_article(lower)) + " " + lower + " " + opt.noun;
  };
  std::vector<shared_attribute> common_tags;
  std::copy_if(ev.tags.begin(), ev.tags.end(), std::back_inserter(common_tags),
               [&](const shared_attribute& a) { return a.items.size() == ev.items.size(); });
  if (!groups.empty()) {
    s += "; like " + who(groups[0].first) + ", it is " + kind(groups[0].second);
    if (groups[0].first.size() == ev.items.size() && !common_tags.empty())
      s += ", tagged " + detail::join_naturally(detail::attribute_names(common_tags, false));
    if (groups.size() > 1) s += ", and like " + who(groups[1].first) + ", " + kind(groups[1].second);
  } else if (!ev.tags.empty()) {
    const auto tag_groups = detail::group_by_items(ev.tags, false);
    s += "; like " + who(tag_groups[0].first) + ", it is tagged " + detail::join_naturally(tag_groups[0].second);
  }
  return s + ".";
}

/// The chat prompt asking an LLM to rephrase the template justification, built from the evidence
/// only: the facts are listed one per line and the model is told to add nothing. Pair it with
/// validate_rephrasing (or choose_justification) on the reply.
inline std::vector<prompt_message> rephrase_prompt(const evidence& ev, const item_catalogue& catalogue,
                                                   const justification_options& opt = {}) {
  const std::string scale = "/" + detail::format_rating(opt.max_rating);
  std::string facts;
  const auto fact = [&](const std::string& line) { facts += "- " + line + "\n"; };
  fact("Recommended " + opt.noun + ": " + catalogue.at(ev.item).title);
  for (const auto& c : ev.items)
    fact(opt.show_ratings ? "The user rated " + catalogue.at(c.item).title + " " + detail::format_rating(c.rating) + scale
                          : "The user watched " + catalogue.at(c.item).title);
  for (const auto& g : ev.genres) {
    std::vector<std::string> with;
    for (const index_t i : g.items) with.push_back(catalogue.at(i).title);
    fact("Shared genre: " + detail::ascii_lower(trim(g.name)) + " (also in " + detail::join_naturally(with) + ")");
  }
  for (const auto& t : ev.tags) {
    std::vector<std::string> with;
    for (const index_t i : t.items) with.push_back(catalogue.at(i).title);
    fact("Shared tag: " + std::string(trim(t.name)) + " (also in " + detail::join_naturally(with) + ")");
  }
  if (ev.items.empty()) {
    if (ev.rated_items == 0)
      fact("The user has no ratings yet");
    else if (ev.liked_items == 0 && opt.show_ratings)
      fact("The user has not rated any " + opt.noun + " " + detail::format_rating(ev.like_threshold) + scale +
           " or higher");
    const std::string users = detail::users_clause(ev, opt);
    fact(users.empty() ? "No one has rated the recommended " + opt.noun + " yet" : "Other users: " + users);
  }
  std::vector<prompt_message> out;
  out.push_back({"system",
                 "You rewrite explanations of " + opt.noun +
                     " recommendations so that they read naturally. Write exactly one sentence of at most 40 words, "
                     "addressed to the user as \"you\". Use only the facts given. Do not mention any " +
                     opt.noun +
                     ", person, plot, theme or opinion that is not in the facts. Write every title exactly as given, "
                     "with its year. Keep every rating exactly as given. Reply with the sentence only."});
  out.push_back({"user", "Facts:\n" + facts + "Draft: " + template_justification(ev, catalogue, opt) +
                             "\nRewrite the draft as one natural sentence."});
  return out;
}

namespace detail {

inline bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '\''; }

/// Position of `needle` in `hay` at word boundaries, from `from`, or npos.
inline std::size_t find_word(std::string_view hay, std::string_view needle, std::size_t from = 0) {
  if (needle.empty()) return std::string_view::npos;
  for (std::size_t p = hay.find(needle, from); p != std::string_view::npos; p = hay.find(needle, p + 1)) {
    const bool left = p == 0 || !is_word_byte(static_cast<unsigned char>(hay[p - 1]));
    const std::size_t end = p + needle.size();
    const bool right = end >= hay.size() || !is_word_byte(static_cast<unsigned char>(hay[end]));
    if (left && right) return p;
  }
  return std::string_view::npos;
}

/// Replaces every word-bounded occurrence of `needle` with spaces of the same length.
inline void blank_out(std::string& text, std::string_view needle) {
  for (std::size_t p = find_word(text, needle); p != std::string_view::npos; p = find_word(text, needle, p))
    std::fill(text.begin() + static_cast<std::ptrdiff_t>(p),
              text.begin() + static_cast<std::ptrdiff_t>(p + needle.size()), ' ');
}

/// Ways a title may be written: the display title, its core without the year, and the core with a
/// leading article dropped ("Usual Suspects" for "The Usual Suspects"); lowercased.
inline std::vector<std::string> title_forms(std::string_view display) {
  std::vector<std::string> out{ascii_lower(display)};
  const std::string core = ascii_lower(title_core(display));
  out.push_back(core);
  for (const char* article : {"the ", "a ", "an "}) {
    const std::string_view a(article);
    if (core.size() > a.size() + 2 && core.compare(0, a.size(), a) == 0) out.push_back(core.substr(a.size()));
  }
  return out;
}

}  // namespace detail

/// Checks that a rephrased justification cites only what the evidence holds. Rejects:
/// 1. an empty sentence, one over opt.max_chars bytes, or one with a line break;
/// 2. a "(YYYY)" year not directly preceded by the title of the recommended or a cited item;
/// 3. a catalogue title (of at least opt.min_scanned_title bytes without the year, compared without
///    ASCII case at word boundaries) that is not the recommended or a cited item's title;
/// 4. a rating "r/m" that is not one of the evidence's ratings (cited ratings, the like threshold,
///    the contributing users' average as the template writes it);
/// 5. a quoted or emphasised span ("...", “...”, *...*) that is not a title, genre or tag of the evidence.
/// @param sentence the LLM's reply
/// @param ev the evidence the prompt was built from
/// @param catalogue every item's title (rule 3 scans them all)
inline rephrasing_check validate_rephrasing(std::string_view sentence, const evidence& ev, const item_catalogue& catalogue,
                                            const justification_options& opt = {}) {
  const auto reject = [](std::string why) { return rephrasing_check{false, std::move(why)}; };
  const std::string_view text = trim(sentence);
  if (text.empty()) return reject("empty");
  if (text.size() > opt.max_chars) return reject("longer than " + std::to_string(opt.max_chars) + " bytes");
  if (text.find('\n') != std::string_view::npos || text.find('\r') != std::string_view::npos)
    return reject("more than one line");
  const std::string lower = detail::ascii_lower(text);

  // Titles the sentence may use.
  std::vector<index_t> allowed_items{ev.item};
  for (const auto& c : ev.items) allowed_items.push_back(c.item);
  std::vector<std::string> allowed_forms;
  for (const index_t i : allowed_items)
    for (auto& f : detail::title_forms(catalogue.at(i).title)) allowed_forms.push_back(std::move(f));
  // Longest first, so that blanking a long title does not leave a shorter one half-matched.
  std::sort(allowed_forms.begin(), allowed_forms.end(),
            [](const std::string& a, const std::string& b) { return a.size() != b.size() ? a.size() > b.size() : a < b; });

  // 2. Years.
  for (std::size_t p = lower.find('('); p != std::string::npos; p = lower.find('(', p + 1)) {
    if (p + 5 >= lower.size() || lower[p + 5] != ')') continue;
    bool digits = true;
    for (std::size_t k = p + 1; k < p + 5; ++k) digits = digits && std::isdigit(static_cast<unsigned char>(lower[k]));
    if (!digits) continue;
    std::string_view before = std::string_view(lower).substr(0, p);
    while (!before.empty() && (before.back() == ' ' || before.back() == '*' || before.back() == '"' ||
                               before.back() == '_' || before.back() == '\''))
      before.remove_suffix(1);
    const std::string year(lower.substr(p + 1, 4));
    bool known = false;
    for (const index_t i : allowed_items) {
      const std::string& display = catalogue.at(i).title;
      const bool same_year = display.size() >= 6 && display.compare(display.size() - 5, 4, year) == 0;
      const std::vector<std::string> forms = detail::title_forms(display);
      for (std::size_t f = 1; f < forms.size() && same_year && !known; ++f)  // forms[0] carries the year
        known = forms[f].size() <= before.size() &&
                before.compare(before.size() - forms[f].size(), forms[f].size(), forms[f]) == 0;
    }
    if (!known) return reject("a year " + std::string(text.substr(p, 6)) + " follows no title of the evidence");
  }

  // 3. Other catalogue titles.
  std::string scrubbed = lower;
  for (const auto& f : allowed_forms) detail::blank_out(scrubbed, f);
  for (index_t i = 0; i < catalogue.size(); ++i) {
    if (std::find(allowed_items.begin(), allowed_items.end(), i) != allowed_items.end()) continue;
    const std::string core = detail::ascii_lower(detail::title_core(catalogue.at(i).title));
    if (core.size() < opt.min_scanned_title) continue;
    if (detail::find_word(scrubbed, core) != std::string_view::npos)
      return reject("mentions \"" + catalogue.at(i).title + "\", which is not in the evidence");
  }

  // 4. Ratings.
  std::vector<std::string> ratings;
  const std::string scale = "/" + detail::format_rating(opt.max_rating);
  for (const auto& c : ev.items) ratings.push_back(detail::format_rating(c.rating) + scale);
  ratings.push_back(detail::format_rating(ev.like_threshold) + scale);
  if (!ev.users.empty()) {
    double sum = 0;
    for (const auto& u : ev.users) sum += u.rating;
    ratings.push_back(detail::format_rating(sum / static_cast<double>(ev.users.size())) + scale);
  }
  for (std::size_t p = lower.find('/'); p != std::string::npos; p = lower.find('/', p + 1)) {
    std::size_t a = p, b = p + 1;
    while (a > 0 && (std::isdigit(static_cast<unsigned char>(lower[a - 1])) || lower[a - 1] == '.')) --a;
    while (b < lower.size() && std::isdigit(static_cast<unsigned char>(lower[b]))) ++b;
    if (a == p || b == p + 1) continue;
    const std::string r = lower.substr(a, b - a);
    if (std::find(ratings.begin(), ratings.end(), r) == ratings.end())
      return reject("the rating " + r + " is not in the evidence");
  }

  // 5. Quoted or emphasised spans.
  // Titles of the evidence are blanked first (they may be quoted, and may hold asterisks: "M*A*S*H"),
  // so what is left inside quotes must be a genre or a tag of the evidence.
  std::vector<std::string> allowed_spans;
  for (const auto& g : ev.genres) allowed_spans.push_back(detail::ascii_lower(trim(g.name)));
  for (const auto& t : ev.tags) allowed_spans.push_back(detail::ascii_lower(trim(t.name)));
  std::string marked = scrubbed;  // Markdown bold "**x**" read as emphasis "*x*"
  for (std::size_t p = marked.find("**"); p != std::string::npos; p = marked.find("**", p)) marked.erase(p, 1);
  const auto check_spans = [&](std::string_view open, std::string_view close) -> std::string {
    for (std::size_t p = marked.find(open); p != std::string::npos;) {
      const std::size_t q = marked.find(close, p + open.size());
      if (q == std::string::npos) break;
      std::string span(trim(std::string_view(marked).substr(p + open.size(), q - p - open.size())));
      while (!span.empty() && (span.back() == ',' || span.back() == '.')) span.pop_back();
      if (!span.empty() && std::find(allowed_spans.begin(), allowed_spans.end(), span) == allowed_spans.end())
        return "the quoted phrase \"" + span + "\" is not in the evidence";
      p = marked.find(open, q + close.size());
    }
    return {};
  };
  for (const auto& [open, close] : {std::pair<std::string_view, std::string_view>{"\"", "\""},
                                    {"\xE2\x80\x9C", "\xE2\x80\x9D"},
                                    {"*", "*"}}) {
    const std::string why = check_spans(open, close);
    if (!why.empty()) return reject(why);
  }
  return {true, {}};
}

/// The rephrased sentence when validate_rephrasing accepts it, else the template justification.
inline std::string choose_justification(std::string_view rephrased, const evidence& ev, const item_catalogue& catalogue,
                                        const justification_options& opt = {}) {
  if (validate_rephrasing(rephrased, ev, catalogue, opt).accepted) return std::string(trim(rephrased));
  return template_justification(ev, catalogue, opt);
}

}  // namespace gatrec
