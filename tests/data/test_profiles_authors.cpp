// The paper authors' real LLM profiles of ML-100K (shared data, llm-profiles/ml-100k/).

#include <gatrec/core/json_writer.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/profiles/authors_profiles.hpp>
#include <gatrec/profiles/dataset_profiles.hpp>
#include <gatrec/profiles/profile.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "support/test_data.hpp"

namespace test_profiles_authors {
namespace {

using gatrec::profile;

TEST(AuthorsProfiles, ItemsParseIntoTheUnifiedSchema) {
  GATREC_REQUIRE_DATA(data, "llm-profiles/ml-100k/items_unified_profiles.csv");
  const auto items = gatrec::read_authors_item_profiles(data / "llm-profiles/ml-100k/items_unified_profiles.csv");
  ASSERT_EQ(items.unified.size(), 1591u);
  ASSERT_EQ(items.integrated.size(), 1591u);
  EXPECT_EQ(items.unified.begin()->first, 1);
  EXPECT_EQ(items.unified.rbegin()->first, 1682);
  for (const auto& [id, text] : items.unified) {
    SCOPED_TRACE("item " + std::to_string(id));
    const profile p = profile::parse(text);
    ASSERT_FALSE(p.title.empty());
    EXPECT_FALSE(p.overview.empty());
    EXPECT_FALSE(p.genres.empty());
    EXPECT_FALSE(p.tags.empty());
    EXPECT_FALSE(p.description.empty());
    EXPECT_FALSE(p.dislikes.empty());
    EXPECT_TRUE(p.other_sections.empty());
    EXPECT_TRUE(p.other_attributes.empty());
    EXPECT_NE(items.integrated.at(id).find("Movie title:"), std::string::npos);
  }
  const profile toy = profile::parse(items.unified.at(1));
  EXPECT_EQ(toy.title, "Toy Story");
  EXPECT_EQ(toy.genres, (std::vector<std::string>{"Animation", "Children", "Comedy"}));
  EXPECT_EQ(toy.tags.front(), "Friendship");
  EXPECT_EQ(toy.overview.rfind("Led by Woody", 0), 0u);
  // Description keeps the doubled quotes of the CSV as single quotes.
  EXPECT_EQ(toy.description.rfind("\"Toy Story\" is a groundbreaking", 0), 0u) << toy.description.substr(0, 60);
  EXPECT_EQ(items.integrated.at(1).rfind("Movie title: Toy Story (1995)", 0), 0u);
  // Item 7's dislikes are an inline comma list in the authors' file; item 1's a bullet list.
  EXPECT_GT(profile::parse(items.unified.at(7)).dislikes.size(), 2u);
}

TEST(AuthorsProfiles, UsersIncludingCutOffAndEmptyOnes) {
  GATREC_REQUIRE_DATA(data, "llm-profiles/ml-100k/users_unified_profiles.csv");
  const auto users = gatrec::read_authors_user_profiles(data / "llm-profiles/ml-100k/users_unified_profiles.csv");
  ASSERT_EQ(users.size(), 943u);
  std::size_t with_dislikes = 0, empty = 0, cut = 0;
  for (const auto& [id, text] : users) {
    SCOPED_TRACE("user " + std::to_string(id));
    if (text.empty()) {
      ++empty;
      EXPECT_EQ(id, 685);
      continue;
    }
    const profile p = profile::parse(text);
    EXPECT_TRUE(p.title.empty());
    EXPECT_FALSE(p.overview.empty());
    EXPECT_FALSE(p.genres.empty());
    EXPECT_FALSE(p.tags.empty());
    EXPECT_FALSE(p.description.empty());
    with_dislikes += !p.dislikes.empty();
    cut += !p.other_sections.empty();
  }
  EXPECT_EQ(empty, 1u);
  // 907 have a "## Dislikes:" heading, but 4 outputs stop right after it (nothing, or a lone "-").
  EXPECT_EQ(with_dislikes, 903u);
  EXPECT_EQ(cut, 2u);              // "## Dis"
  const profile one = profile::parse(users.at(1));
  EXPECT_EQ(one.genres.front(), "Comedy");
  EXPECT_EQ(one.dislikes.front(), "Violence");
  EXPECT_EQ(one.dislikes.back(), "Family-friendly war comedies");

  const auto summaries =
      gatrec::read_authors_user_summaries(data / "llm-profiles/ml-100k/users_summary_profiles.csv");
  ASSERT_EQ(summaries.size(), 943u);
  for (const auto& [id, text] : summaries) EXPECT_FALSE(text.empty()) << "user " << id;
  EXPECT_EQ(profile::parse(summaries.at(1)).description, summaries.at(1));  // free text
}

TEST(AuthorsProfiles, DatasetTextsForEverySource) {
  GATREC_REQUIRE_DATA(data, "llm-profiles/ml-100k/items_unified_profiles.csv");
  GATREC_REQUIRE_DATA(ml, "ml-100k/u1.base");
  const gatrec::dataset ds = gatrec::load_movielens_100k(ml / "ml-100k");
  const gatrec::split fold = gatrec::load_movielens_100k_fold(ml / "ml-100k", "u1", ds);
  const auto dir = data / "llm-profiles/ml-100k";
  struct expected {
    gatrec::profile_source source;
    std::size_t template_items, template_users;
  };
  for (const expected e : {expected{gatrec::profile_source::unified, 91, 1},
                           expected{gatrec::profile_source::integrated, 91, 0},
                           expected{gatrec::profile_source::templated, 1682, 943}}) {
    SCOPED_TRACE(gatrec::to_string(e.source));
    const auto t = gatrec::load_profile_texts(ds, fold.train, e.source, dir);
    ASSERT_EQ(t.items.size(), 1682u);
    ASSERT_EQ(t.users.size(), 943u);
    EXPECT_EQ(t.template_items.size(), e.template_items);
    EXPECT_EQ(t.template_users.size(), e.template_users);
    EXPECT_TRUE(t.unknown_items.empty());
    EXPECT_TRUE(t.unknown_users.empty());
    for (const auto& text : t.items) {
      ASSERT_FALSE(text.empty());
      ASSERT_NO_THROW(gatrec::json_string(text));
    }
    for (const auto& text : t.users) {
      ASSERT_FALSE(text.empty());
      ASSERT_NO_THROW(gatrec::json_string(text));
    }
    if (e.source == gatrec::profile_source::unified) {
      EXPECT_EQ(t.template_users.front(), 685);
      const profile p = profile::parse(t.users[static_cast<std::size_t>(ds.users.at(685))]);
      EXPECT_NE(p.overview.find("This user rated"), std::string::npos);
    }
  }
}

}  // namespace

}  // namespace test_profiles_authors
