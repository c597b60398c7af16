#pragma once

/// @file
/// @brief One profile text per user and per item of a dataset, from a chosen source: the
/// authors' unified LLM profiles, their older integrated texts, or template profiles; whatever a
/// source lacks (items without a TMDB match, a user with an empty profile) gets a template.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/profiles/authors_profiles.hpp"
#include "gatrec/profiles/template_profiles.hpp"

namespace gatrec {

/// Where profile texts come from.
enum class profile_source {
  unified,     ///< the authors' unified Markdown profiles (items and users)
  integrated,  ///< the authors' integrated item texts and free-text user summaries
  templated,   ///< template profiles from metadata and training ratings only
};

/// The name used on command lines: "unified", "integrated", "template".
inline const char* to_string(profile_source s) {
  switch (s) {
    case profile_source::unified: return "unified";
    case profile_source::integrated: return "integrated";
    case profile_source::templated: return "template";
  }
  return "?";
}

/// Parses "unified", "integrated" or "template".
/// @throw logic_error for any other name
inline profile_source parse_profile_source(std::string_view name) {
  if (name == "unified") return profile_source::unified;
  if (name == "integrated") return profile_source::integrated;
  if (name == "template") return profile_source::templated;
  detail::throw_logic_error(__func__, "unknown profile source '" + std::string(name) +
                                          "' (expected unified, integrated or template)");
}

/// Profile texts of a whole dataset, and where each came from.
struct dataset_profile_texts {
  std::vector<std::string> users;  ///< by user index
  std::vector<std::string> items;  ///< by item index
  std::vector<raw_id_t> template_users;  ///< raw ids of users whose text is a template
  std::vector<raw_id_t> template_items;  ///< raw ids of items whose text is a template
  std::vector<raw_id_t> unknown_users;   ///< ids in the source that the dataset does not have
  std::vector<raw_id_t> unknown_items;
};

/// Assembles the texts from already loaded sources.
/// @param ds the dataset; item_meta must cover every item (titles, years, genres)
/// @param train the training ratings, for template user profiles
/// @param source selects the fallback format: templated and unified fall back to the rendered
///        Markdown template, integrated to integrated_item_text for items (users: Markdown)
/// @param item_texts by raw item id, or null for none (every item gets a template)
/// @param user_texts by raw user id, or null for none; empty texts count as missing
/// @param options how template user profiles summarise ratings
/// @throw logic_error when item_meta does not match the item count, or a rating is out of range
inline dataset_profile_texts assemble_profile_texts(const dataset& ds, const rating_table& train,
                                                    profile_source source, const profile_texts* item_texts,
                                                    const profile_texts* user_texts,
                                                    const user_template_options& options = {}) {
  GATREC_EXPECTS(ds.item_meta.size() == static_cast<std::size_t>(ds.num_items()),
                 "the dataset has " + std::to_string(ds.num_items()) + " items but metadata for " +
                     std::to_string(ds.item_meta.size()));
  dataset_profile_texts out;
  out.items.resize(static_cast<std::size_t>(ds.num_items()));
  for (index_t i = 0; i < ds.num_items(); ++i) {
    const raw_id_t raw = ds.items.raw(i);
    const item_info& info = ds.item_meta[static_cast<std::size_t>(i)];
    std::string& text = out.items[static_cast<std::size_t>(i)];
    if (item_texts != nullptr) {
      const auto it = item_texts->find(raw);
      if (it != item_texts->end()) text = it->second;
    }
    if (text.empty()) {
      text = source == profile_source::integrated ? integrated_item_text(info) : item_template_profile(info).render();
      out.template_items.push_back(raw);
    }
  }
  if (item_texts != nullptr)
    for (const auto& [raw, t] : *item_texts)
      if (!ds.items.contains(raw)) out.unknown_items.push_back(raw);

  out.users.resize(static_cast<std::size_t>(ds.num_users()));
  std::vector<profile> templates;  // built on first need: it scans every training rating
  for (index_t u = 0; u < ds.num_users(); ++u) {
    const raw_id_t raw = ds.users.raw(u);
    std::string& text = out.users[static_cast<std::size_t>(u)];
    if (user_texts != nullptr) {
      const auto it = user_texts->find(raw);
      if (it != user_texts->end()) text = it->second;
    }
    if (text.empty()) {
      if (templates.empty()) templates = user_template_profiles(train, ds.num_users(), ds.item_meta, options);
      text = templates[static_cast<std::size_t>(u)].render();
      out.template_users.push_back(raw);
    }
  }
  if (user_texts != nullptr)
    for (const auto& [raw, t] : *user_texts)
      if (!ds.users.contains(raw)) out.unknown_users.push_back(raw);
  return out;
}

/// File names of the authors' profiles inside their folder (`llm-profiles/ml-100k`).
struct authors_profile_files {
  static constexpr const char* items = "items_unified_profiles.csv";
  static constexpr const char* users_unified = "users_unified_profiles.csv";
  static constexpr const char* users_summary = "users_summary_profiles.csv";
};

/// Reads the source's files from `authors_dir` (not touched for profile_source::templated) and
/// assembles the texts; see assemble_profile_texts. The authors' user profiles were written from
/// ML-100K fold u1's training ratings: use them with that fold only.
/// @throw io_error, parse_error when an authors' file cannot be read or is malformed
inline dataset_profile_texts load_profile_texts(const dataset& ds, const rating_table& train, profile_source source,
                                                const std::filesystem::path& authors_dir,
                                                const user_template_options& options = {}) {
  if (source == profile_source::templated) return assemble_profile_texts(ds, train, source, nullptr, nullptr, options);
  authors_item_profiles items = read_authors_item_profiles(authors_dir / authors_profile_files::items);
  const profile_texts users = source == profile_source::unified
                                  ? read_authors_user_profiles(authors_dir / authors_profile_files::users_unified)
                                  : read_authors_user_summaries(authors_dir / authors_profile_files::users_summary);
  const profile_texts& item_texts = source == profile_source::unified ? items.unified : items.integrated;
  return assemble_profile_texts(ds, train, source, &item_texts, &users, options);
}

}  // namespace gatrec
