#pragma once

/// @file
/// @brief Item and user profiles written by a chat LLM in the unified Markdown schema
/// (PAPER.md, pipeline step 1).
///
/// - Item: one request from title, year, genres and, when known, an overview (TMDB's).
/// - User: built step by step from the user's TRAINING ratings, most recent first (as the
///   authors' code orders them): a first profile from 5 liked movies (rating >= 4), refined
///   with the next 5 liked, then with up to two batches of 5 disliked (rating <= 2). Each
///   refinement sends the previous profile and the new batch and asks for the whole profile
///   again. A user with fewer ratings gets the batches there are (a short last batch included).
///
/// Every reply goes through profile::parse and a check (read_llm_profile): it needs an Overview
/// and a Description or Attributes. A reply that fails is counted and replaced: an item by its
/// template profile, a user step by the previous profile (the template before the first step).
/// The prompts are plain templates with `{{name}}` fields (profile_prompts): edit them in code
/// or load them from files (read_profile_prompts).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/llm/chat_client.hpp"
#include "gatrec/profiles/profile.hpp"
#include "gatrec/profiles/template_profiles.hpp"

namespace gatrec {

/// The prompt templates. Fields are written `{{name}}`:
/// - item: title, year, genres, overview, schema
/// - user_first: batch, schema; user_refine: profile, batch, schema
/// - item_schema: title; liked_batch: min, movies; disliked_batch: max, movies
struct profile_prompts {
  std::string system;          ///< the system message of every request
  std::string item;            ///< the user message for an item
  std::string user_first;      ///< the user message of a user's first step
  std::string user_refine;     ///< the user message of each later step
  std::string item_schema;     ///< the Markdown skeleton an item reply must follow
  std::string user_schema;     ///< the Markdown skeleton a user reply must follow (no title)
  std::string liked_batch;     ///< how a batch of liked movies is introduced
  std::string disliked_batch;  ///< how a batch of disliked movies is introduced
};

/// gatrec's default prompts.
inline profile_prompts default_profile_prompts() {
  profile_prompts p;
  p.system =
      "You are a film expert who writes short, factual profiles in Markdown. Reply with the profile only: no "
      "greeting, no explanation, no code fences.";
  p.item =
      "Write the profile of this movie.\n\nTitle: {{title}}\nYear: {{year}}\nGenres: {{genres}}\nPlot: {{overview}}\n\n"
      "Follow this format exactly, replacing the descriptions with your own text:\n\n{{schema}}";
  p.user_first =
      "Write the profile of a movie viewer from movies they rated.\n\n{{batch}}\n\n"
      "Describe their taste, not each movie. Follow this format exactly, replacing the descriptions with your own "
      "text:\n\n{{schema}}";
  p.user_refine =
      "This is the current profile of a movie viewer:\n\n{{profile}}\n\n{{batch}}\n\n"
      "Rewrite the whole profile so that it also reflects these ratings, keeping what still holds. Follow this "
      "format exactly:\n\n{{schema}}";
  p.item_schema =
      "# {{title}}\n## Overview\nTwo or three sentences on what the movie is about.\n## Attributes\n"
      "- **Genre**: comma-separated genres\n- **Tags**: comma-separated keywords (themes, mood, style, setting)\n"
      "## Description\nOne short paragraph on the movie's tone and style and who would enjoy it.\n## Dislikes:\n"
      "- a keyword for something this movie does not have\n- another such keyword";
  p.user_schema =
      "## Overview\nTwo or three sentences on what this viewer enjoys.\n## Attributes\n"
      "- **Genre**: comma-separated genres they prefer\n- **Tags**: comma-separated keywords for themes and styles "
      "they like\n## Description\nOne short paragraph on their taste.\n## Dislikes:\n"
      "- a keyword for something they avoid\n- another such keyword";
  p.liked_batch = "Movies they liked (rated {{min}} or higher), most recent first:\n{{movies}}";
  p.disliked_batch =
      "Movies they disliked (rated {{max}} or lower), most recent first; put what they avoid under Dislikes:\n"
      "{{movies}}";
  return p;
}

/// Replaces every `{{name}}` in `text` by its value.
/// @param text the template
/// @param values (name, value) pairs; names not used are fine
/// @throw logic_error naming a field that has no value (a typo in an edited template should not
///        reach the LLM)
inline std::string fill_prompt(std::string_view text, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    const std::string_view name = text.substr(open + 2, close - open - 2);
    const auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == name; });
    GATREC_EXPECTS(it != values.end(), "prompt field '{{" + std::string(name) + "}}' has no value");
    out.append(text.substr(pos, open - pos));
    out += it->second;
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

/// The default prompts with those found in `dir` replacing them: files named system.md, item.md,
/// user_first.md, user_refine.md, item_schema.md, user_schema.md, liked_batch.md and
/// disliked_batch.md (any subset; outer blank lines removed).
/// @throw io_error when `dir` is not a folder or a file in it cannot be read
inline profile_prompts read_profile_prompts(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) throw io_error("prompt folder '" + dir.string() + "' does not exist");
  profile_prompts p = default_profile_prompts();
  const std::pair<const char*, std::string*> files[] = {
      {"system.md", &p.system},           {"item.md", &p.item},
      {"user_first.md", &p.user_first},   {"user_refine.md", &p.user_refine},
      {"item_schema.md", &p.item_schema}, {"user_schema.md", &p.user_schema},
      {"liked_batch.md", &p.liked_batch}, {"disliked_batch.md", &p.disliked_batch}};
  for (const auto& [name, field] : files) {
    const std::filesystem::path path = dir / name;
    if (!std::filesystem::exists(path)) continue;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) throw io_error("cannot read prompt file '" + path.string() + "'");
    *field = std::string(detail::profile_trim(text.str()));
  }
  return p;
}

/// How profiles are built.
struct profile_builder_options {
  profile_prompts prompts = default_profile_prompts();
  std::size_t batch_size = 5;        ///< movies per step (the paper: 5)
  std::size_t liked_batches = 2;     ///< liked steps (the paper: the first 5, then the next 5)
  std::size_t disliked_batches = 2;  ///< disliked steps after them (the paper: up to two)
  float liked_min_rating = 4.0f;     ///< ratings >= this are likes
  float disliked_max_rating = 2.0f;  ///< ratings <= this are dislikes
  double temperature = 0.0;          ///< sampling temperature of every request
  int max_tokens = 400;              ///< reply limit; a profile is about 150-300 tokens
  std::optional<std::int64_t> seed = 42;  ///< sent when the chat client sends seeds
};

/// One step's movies: positions into the training table, most recent first.
struct rating_batch {
  bool liked = true;               ///< liked (true) or disliked (false) movies
  std::vector<std::size_t> rows;   ///< positions in the rating table
};

/// The steps of one user's profile, in order: up to `liked_batches` batches of liked movies,
/// then up to `disliked_batches` of disliked ones, each of at most `batch_size`, most recent
/// first (equal timestamps keep the table order). Empty batches are left out.
/// @param train training ratings only
/// @param user the user index
/// @param options thresholds and batch counts
inline std::vector<rating_batch> user_rating_batches(const rating_table& train, index_t user,
                                                     const profile_builder_options& options = {}) {
  GATREC_EXPECTS(options.batch_size > 0, "batch size must be positive");
  std::vector<std::size_t> liked, disliked;
  for (std::size_t r = 0; r < train.size(); ++r) {
    if (train.user[r] != user) continue;
    if (train.rating[r] >= options.liked_min_rating) liked.push_back(r);
    else if (train.rating[r] <= options.disliked_max_rating) disliked.push_back(r);
  }
  const auto recent_first = [&](std::size_t a, std::size_t b) { return train.timestamp[a] > train.timestamp[b]; };
  std::stable_sort(liked.begin(), liked.end(), recent_first);
  std::stable_sort(disliked.begin(), disliked.end(), recent_first);
  std::vector<rating_batch> out;
  const auto add = [&](const std::vector<std::size_t>& rows, std::size_t batches, bool is_liked) {
    for (std::size_t b = 0; b < batches && b * options.batch_size < rows.size(); ++b) {
      const std::size_t begin = b * options.batch_size;
      const std::size_t end = std::min(rows.size(), begin + options.batch_size);
      out.push_back({is_liked, std::vector<std::size_t>(rows.begin() + static_cast<std::ptrdiff_t>(begin),
                                                        rows.begin() + static_cast<std::ptrdiff_t>(end))});
    }
  };
  add(liked, options.liked_batches, true);
  add(disliked, options.disliked_batches, false);
  return out;
}

/// An LLM reply read as a profile.
struct llm_profile_reading {
  profile value;       ///< what was read (meaningful when ok)
  bool ok = false;     ///< the reply follows the schema well enough to be used
  std::string reason;  ///< why not, when !ok
};

/// Reads an LLM reply: code fences and any chatter before the first heading are removed, the rest
/// goes through profile::parse. A usable profile has an Overview and a Description or
/// Attributes, and its Overview is not the placeholder text of the format it was shown (small
/// models like to copy it). An item profile without a title gets `item_title`; a user profile's
/// title, if the model wrote one, is dropped (user profiles have none).
/// @param reply the reply text
/// @param item_title the item's title, or empty for a user profile
/// @param skeleton the format shown in the prompt (profile_prompts::item_schema, user_schema), or
///        empty
inline llm_profile_reading read_llm_profile(std::string_view reply, std::string_view item_title = {},
                                            std::string_view skeleton = {}) {
  llm_profile_reading r;
  // The text inside the first ``` fence, when there is one.
  if (const std::size_t fence = reply.find("```"); fence != std::string_view::npos) {
    const std::size_t body = reply.find('\n', fence);
    if (body != std::string_view::npos) {
      const std::size_t close = reply.find("```", body);
      reply = reply.substr(body + 1, close == std::string_view::npos ? std::string_view::npos : close - body - 1);
    }
  }
  // Drop "Sure! Here is the profile:" and the like.
  std::size_t start = std::string_view::npos;
  for (std::size_t pos = 0; pos < reply.size();) {
    const std::size_t nl = reply.find('\n', pos);
    const std::string_view line = detail::profile_trim(reply.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (!line.empty() && line[0] == '#') {
      start = pos;
      break;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (start == std::string_view::npos) {
    r.reason = "no Markdown heading";
    return r;
  }
  r.value = profile::parse(reply.substr(start));
  if (r.value.overview.empty()) {
    r.reason = "no Overview section";
    return r;
  }
  if (r.value.description.empty() && r.value.genres.empty() && r.value.tags.empty()) {
    r.reason = "neither a Description nor Attributes";
    return r;
  }
  if (!skeleton.empty() && skeleton.find(r.value.overview) != std::string_view::npos) {
    r.reason = "the Overview copies the format's placeholder text";
    return r;
  }
  if (item_title.empty()) {
    r.value.title.clear();
  } else if (r.value.title.empty()) {
    r.value.title = std::string(item_title);
  }
  r.ok = true;
  return r;
}

/// What a profile builder has done so far.
struct profile_builder_stats {
  std::size_t items = 0;                 ///< item profiles built
  std::size_t users = 0;                 ///< user profiles built
  std::size_t requests = 0;              ///< chat requests (cache hits included)
  std::size_t accepted = 0;              ///< replies used
  std::size_t rejected = 0;              ///< replies replaced (see the file comment)
  std::size_t item_templates = 0;        ///< items whose profile is the template (reply rejected)
  std::size_t users_without_steps = 0;   ///< users with no liked or disliked training rating: template
  std::size_t users_all_rejected = 0;    ///< users whose every step was rejected: template
  std::string last_rejection;            ///< the reason of the last rejected reply
};

/// Builds profiles with a chat LLM; see the file comment.
class llm_profile_builder {
 public:
  /// @param chat the client to ask (not owned; must outlive the builder)
  /// @param options prompts, batches, sampling
  /// @throw logic_error when a prompt template uses a field it cannot have, or batch_size is 0
  explicit llm_profile_builder(chat_client& chat, profile_builder_options options = {})
      : chat_(&chat), options_(std::move(options)) {
    GATREC_EXPECTS(options_.batch_size > 0, "batch size must be positive");
    // Fill every template once with dummy values, so that a typo fails here and not mid-run.
    const profile_prompts& p = options_.prompts;
    (void)fill_prompt(p.item, {{"title", ""}, {"year", ""}, {"genres", ""}, {"overview", ""}, {"schema", ""}});
    (void)fill_prompt(p.user_first, {{"batch", ""}, {"schema", ""}});
    (void)fill_prompt(p.user_refine, {{"profile", ""}, {"batch", ""}, {"schema", ""}});
    (void)fill_prompt(p.item_schema, {{"title", ""}});
    (void)fill_prompt(p.user_schema, {});
    (void)fill_prompt(p.liked_batch, {{"min", ""}, {"movies", ""}});
    (void)fill_prompt(p.disliked_batch, {{"max", ""}, {"movies", ""}});
    (void)fill_prompt(p.system, {});
  }

  /// The user message asking for an item's profile.
  std::string item_prompt(const item_info& info, std::string_view overview = {}) const {
    const profile_prompts& p = options_.prompts;
    const std::string title = natural_title(info.title);
    const std::string_view given = detail::profile_trim(overview);
    return fill_prompt(p.item, {{"title", title},
                                {"year", info.year > 0 ? std::to_string(info.year) : "unknown"},
                                {"genres", genre_list(info)},
                                {"overview", given.empty() ? "unknown (use what you know of the movie)" : std::string(given)},
                                {"schema", fill_prompt(p.item_schema, {{"title", title}})}});
  }

  /// The user message of one step of a user's profile.
  /// @param previous the profile so far, or null for the first step
  std::string user_prompt(const rating_table& train, const rating_batch& batch, const std::vector<item_info>& items,
                          const profile* previous) const {
    const profile_prompts& p = options_.prompts;
    std::string movies;
    for (const std::size_t r : batch.rows) {
      const auto item = static_cast<std::size_t>(train.item[r]);
      GATREC_EXPECTS(item < items.size(), "rating of item index " + std::to_string(item) + " but only " +
                                              std::to_string(items.size()) + " items have metadata");
      if (!movies.empty()) movies += '\n';
      movies += "- " + display_title(items[item]);
      const std::string genres = genre_list(items[item]);
      if (!genres.empty()) movies += "; " + genres;
      movies += "; rated " + detail::format_rating(train.rating[r]);
    }
    const std::string batch_text =
        batch.liked ? fill_prompt(p.liked_batch, {{"min", detail::format_rating(options_.liked_min_rating)}, {"movies", movies}})
                    : fill_prompt(p.disliked_batch, {{"max", detail::format_rating(options_.disliked_max_rating)}, {"movies", movies}});
    const std::string schema = fill_prompt(p.user_schema, {});
    if (previous == nullptr) return fill_prompt(p.user_first, {{"batch", batch_text}, {"schema", schema}});
    return fill_prompt(p.user_refine, {{"profile", previous->render()}, {"batch", batch_text}, {"schema", schema}});
  }

  /// The LLM profile of one item, or its template profile when the reply is unusable.
  /// @param info title, year and genres
  /// @param overview a plot summary when known (TMDB's), else empty
  /// @throw llm_error when the server fails (after the HTTP layer's retries)
  profile item_profile(const item_info& info, std::string_view overview = {}) {
    ++stats_.items;
    const std::string title = natural_title(info.title);
    llm_profile_reading r =
        ask(item_prompt(info, overview), title, fill_prompt(options_.prompts.item_schema, {{"title", title}}));
    if (!r.ok) {
      ++stats_.item_templates;
      return item_template_profile(info, overview);
    }
    // The dataset's genres are facts; keep them when the model named none.
    if (r.value.genres.empty())
      for (const std::string& g : info.genres)
        if (!detail::is_unknown_genre(g)) r.value.genres.push_back(g);
    return std::move(r.value);
  }

  /// The LLM profile of one user, built step by step from their training ratings.
  /// @param train training ratings only (test ratings must not leak into model inputs)
  /// @param user the user index
  /// @param items metadata by item index (dataset::item_meta)
  /// @throw llm_error when the server fails (after the HTTP layer's retries)
  profile user_profile(const rating_table& train, index_t user, const std::vector<item_info>& items) {
    ++stats_.users;
    const std::vector<rating_batch> steps = user_rating_batches(train, user, options_);
    if (steps.empty()) {
      ++stats_.users_without_steps;
      return user_template_profile(train, user, items);
    }
    std::optional<profile> current;
    bool is_template = false;
    for (const rating_batch& step : steps) {
      llm_profile_reading r =
          ask(user_prompt(train, step, items, current ? &*current : nullptr), {}, options_.prompts.user_schema);
      if (r.ok) {
        current = std::move(r.value);
        is_template = false;
      } else if (!current) {
        // A failed first step: later steps refine the template instead.
        current = user_template_profile(train, user, items);
        is_template = true;
      }
    }
    if (is_template) ++stats_.users_all_rejected;
    return std::move(*current);
  }

  /// Counts so far.
  const profile_builder_stats& stats() const { return stats_; }
  /// The options in force.
  const profile_builder_options& options() const { return options_; }

 private:
  static std::string genre_list(const item_info& info) {
    std::vector<std::string> genres;
    for (const std::string& g : info.genres)
      if (!detail::is_unknown_genre(g)) genres.push_back(g);
    return detail::join(genres, ", ");
  }

  llm_profile_reading ask(const std::string& prompt, std::string_view item_title, std::string_view skeleton) {
    chat_request request;
    request.messages.push_back({"system", options_.prompts.system});
    request.messages.push_back({"user", prompt});
    request.temperature = options_.temperature;
    request.max_tokens = options_.max_tokens;
    request.seed = options_.seed;
    ++stats_.requests;
    const chat_reply reply = chat_->complete(request);
    llm_profile_reading r = read_llm_profile(reply.content, item_title, skeleton);
    if (r.ok) {
      ++stats_.accepted;
    } else {
      ++stats_.rejected;
      stats_.last_rejection = r.reason;
    }
    return r;
  }

  chat_client* chat_;
  profile_builder_options options_;
  profile_builder_stats stats_;
};

}  // namespace gatrec
