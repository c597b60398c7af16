#pragma once

/// @file
/// @brief The texts of the re-ranking prompts: how a candidate movie and a user are described, and
/// the four prompt templates (listwise, pairwise, window, score).
///
/// Every prompt starts with the same system message and the user's profile, and puts what changes
/// from call to call (the candidates, the pair, the movie) last: a server that keeps the previous
/// prompt's key/value cache (llama.cpp does) then re-reads only the tail for the next call of the
/// same user. Templates have `{{name}}` fields; the defaults are default_rerank_prompts().

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/profiles/profile.hpp"
#include "gatrec/rerank/chat.hpp"

namespace gatrec {

/// A candidate movie as the prompts show it.
struct rerank_item {
  std::string title;                ///< display title without the year ("The Usual Suspects"); also matched in replies
  int year = 0;                     ///< release year, 0 when unknown
  std::vector<std::string> genres;  ///< genre names
  std::string profile;              ///< optional extra text (an item profile); empty for none
};

/// One user's re-ranking problem.
struct rerank_query {
  std::string user_text;                ///< the user's taste as the prompts show it (compact_profile_text)
  std::vector<rerank_item> candidates;  ///< the base model's top-N, best first
  std::uint64_t key = 0;                ///< a per-user number (the user index): keys per-user seeded choices
};

/// Prompt templates. Fields:
/// - every user-message template: {{user}} (the user text)
/// - listwise and window: {{count}} (number of candidates), {{candidates}} (one "[k] movie" line each)
/// - pairwise: {{a}}, {{b}} (the two movies)
/// - score: {{movie}}
struct rerank_prompts {
  std::string system;    ///< the system message of every request
  std::string listwise;  ///< all N candidates, asks for a permutation of their ids
  std::string pairwise;  ///< two candidates, asks for A or B
  std::string window;    ///< a window of the list (5 candidates), asks for a permutation
  std::string score;     ///< one candidate, asks for an integer 1-100
};

/// gatrec's default prompts.
inline rerank_prompts default_rerank_prompts() {
  rerank_prompts p;
  p.system =
      "You are a movie recommender. You judge which movies a viewer will enjoy from a description of the viewer's "
      "taste. Follow the answer format exactly and do not explain.";
  p.listwise =
      "Viewer profile:\n{{user}}\n\nRank these {{count}} movies from the one this viewer would enjoy most to the one "
      "they would enjoy least.\n\n{{candidates}}\n\nAnswer with all {{count}} identifiers, best first, separated by "
      "\" > \", for example: [2] > [1] > [3]";
  p.window = p.listwise;
  p.pairwise =
      "Viewer profile:\n{{user}}\n\nWhich of these two movies would this viewer enjoy more?\n\nA: {{a}}\nB: {{b}}\n\n"
      "Answer with one letter, A or B.";
  p.score =
      "Viewer profile:\n{{user}}\n\nHow much would this viewer enjoy the following movie, on a scale from 1 (not at "
      "all) to 100 (very much)?\n\nMovie: {{movie}}\n\nAnswer with one integer from 1 to 100.";
  return p;
}

namespace detail {

/// `text` with every `{{name}}` replaced by its value; unknown fields stay as they are.
inline std::string fill_rerank_template(std::string_view text,
                                        const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    const std::string_view name = text.substr(open + 2, close - open - 2);
    const auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; });
    if (it != fields.end())
      out.append(it->second);
    else
      out.append(text.substr(open, close + 2 - open));
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

/// At most `max_bytes` of `text`, cut at a space when there is one in the last quarter and never
/// inside a UTF-8 sequence, with "..." appended when cut; 0 means no limit.
inline std::string truncate_text(std::string_view text, std::size_t max_bytes) {
  if (max_bytes == 0 || text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a sequence
  const std::size_t space = text.rfind(' ', cut);
  if (space != std::string_view::npos && space >= cut - cut / 4) cut = space;
  std::string_view head = text.substr(0, cut);
  while (!head.empty() && (head.back() == ' ' || head.back() == '\n' || head.back() == ',')) head.remove_suffix(1);
  return std::string(head) + "...";
}

inline std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace detail

/// One line for a candidate: "Title (Year) - Genre, Genre", followed by " - <profile>" (cut to
/// `max_profile_bytes`, line breaks replaced by spaces) when the item has a profile and the limit
/// is not 0.
inline std::string describe_item(const rerank_item& item, std::size_t max_profile_bytes = 0) {
  std::string out = item.title;
  if (item.year > 0) out += " (" + std::to_string(item.year) + ")";
  if (!item.genres.empty()) out += " - " + detail::join_names(item.genres);
  if (max_profile_bytes > 0 && !item.profile.empty()) {
    std::string flat = item.profile;
    std::replace(flat.begin(), flat.end(), '\n', ' ');
    out += " - " + detail::truncate_text(flat, max_profile_bytes);
  }
  return out;
}

/// A user's profile text made short enough for a small model's context: a unified Markdown profile
/// (PAPER.md step 1) becomes its Overview, "Likes genres: ...", "Likes: <tags>" and "Avoids: <dislikes>"
/// lines; a text without those parts (a free-text summary) is kept as it is. Either is then cut to
/// `max_bytes` (0: no limit).
inline std::string compact_profile_text(std::string_view text, std::size_t max_bytes = 1200) {
  const profile p = profile::parse(text);
  std::string out;
  if (!p.overview.empty()) out = p.overview;
  if (!p.genres.empty()) out += (out.empty() ? "" : "\n") + std::string("Likes genres: ") + detail::join_names(p.genres);
  if (!p.tags.empty()) out += (out.empty() ? "" : "\n") + std::string("Likes: ") + detail::join_names(p.tags);
  if (!p.dislikes.empty()) out += (out.empty() ? "" : "\n") + std::string("Avoids: ") + detail::join_names(p.dislikes);
  if (out.empty() || p.overview.empty()) {
    // Not the unified schema: keep the whole text, blank lines squeezed.
    out.clear();
    std::string_view t = text;
    bool blank = false;
    for (char c : t) {
      if (c == '\r') continue;
      if (c == '\n') {
        if (!blank && !out.empty()) out += '\n';
        blank = !out.empty() && out.back() == '\n';
        continue;
      }
      blank = false;
      out += c;
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  }
  return detail::truncate_text(out, max_bytes);
}

/// How the prompts describe things; part of rerank_options.
struct rerank_prompt_options {
  rerank_prompts prompts = default_rerank_prompts();
  std::size_t max_item_profile_bytes = 0;  ///< item profile text per candidate line; 0: none
};

namespace detail {

inline std::vector<rerank_message> rerank_messages(const rerank_prompt_options& o, std::string user_message) {
  std::vector<rerank_message> m;
  if (!o.prompts.system.empty()) m.push_back({"system", o.prompts.system});
  m.push_back({"user", std::move(user_message)});
  return m;
}

}  // namespace detail

/// The listwise (or window) prompt over `items`, labelled [1]..[n] in the given order.
/// @param window true for the window template
inline std::vector<rerank_message> ranking_prompt(const std::string& user_text, const std::vector<const rerank_item*>& items,
                                                  const rerank_prompt_options& o, bool window = false) {
  std::string lines;
  for (std::size_t k = 0; k < items.size(); ++k)
    lines += (k ? "\n[" : "[") + std::to_string(k + 1) + "] " + describe_item(*items[k], o.max_item_profile_bytes);
  const std::string count = std::to_string(items.size());
  return detail::rerank_messages(
      o, detail::fill_rerank_template(window ? o.prompts.window : o.prompts.listwise,
                                      {{"user", user_text}, {"count", count}, {"candidates", lines}}));
}

/// The pairwise prompt: `a` shown as A, `b` as B.
inline std::vector<rerank_message> pairwise_prompt(const std::string& user_text, const rerank_item& a,
                                                   const rerank_item& b, const rerank_prompt_options& o) {
  const std::string da = describe_item(a, o.max_item_profile_bytes), db = describe_item(b, o.max_item_profile_bytes);
  return detail::rerank_messages(o, detail::fill_rerank_template(o.prompts.pairwise, {{"user", user_text}, {"a", da}, {"b", db}}));
}

/// The score prompt for one movie.
inline std::vector<rerank_message> score_prompt(const std::string& user_text, const rerank_item& item,
                                                const rerank_prompt_options& o) {
  const std::string d = describe_item(item, o.max_item_profile_bytes);
  return detail::rerank_messages(o, detail::fill_rerank_template(o.prompts.score, {{"user", user_text}, {"movie", d}}));
}

}  // namespace gatrec
