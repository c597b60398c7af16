#include <gatrec/profiles/authors_profiles.hpp>
#include <gatrec/profiles/dataset_profiles.hpp>
#include <gatrec/profiles/profile.hpp>
#include <gatrec/profiles/template_profiles.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_data.hpp"

namespace test_profiles {
namespace {

using gatrec::profile;

profile full_profile() {
  profile p;
  p.title = "The Usual Suspects";
  p.overview = "Five criminals meet in a police line-up.\nA heist follows.";
  p.genres = {"Crime", "Thriller"};
  p.tags = {"Heist", "Plot Twist", "Ensemble Cast"};
  p.other_attributes = {{"Director", "Bryan Singer, 1995"}};
  p.description = "First paragraph.\n\nSecond paragraph with \"quotes\" and a colon: here.";
  p.dislikes = {"Romance", "Slapstick (when broad)", "Musical"};
  p.other_sections = {{"Trivia", "- not a dislike"}};
  return p;
}

TEST(Profile, RenderHasTheSchemaLayout) {
  const std::string text = full_profile().render();
  EXPECT_EQ(text,
            "# The Usual Suspects\n\n"
            "## Overview\nFive criminals meet in a police line-up.\nA heist follows.\n\n"
            "## Attributes\n- **Genre**: Crime, Thriller\n- **Tags**: Heist, Plot Twist, Ensemble Cast\n"
            "- **Director**: Bryan Singer, 1995\n\n"
            "## Description\nFirst paragraph.\n\nSecond paragraph with \"quotes\" and a colon: here.\n\n"
            "## Dislikes:\n- Romance\n- Slapstick (when broad)\n- Musical\n\n"
            "## Trivia\n- not a dislike");
}

TEST(Profile, RoundTrips) {
  const profile p = full_profile();
  EXPECT_EQ(profile::parse(p.render()), p);
  profile user;  // users have no title
  user.overview = "Likes dramas.";
  user.genres = {"Drama"};
  user.dislikes = {"Horror"};
  EXPECT_EQ(profile::parse(user.render()), user);
  EXPECT_EQ(user.render().rfind("## Overview", 0), 0u);
  profile empty;
  EXPECT_EQ(empty.render(), "");
  EXPECT_TRUE(profile::parse("").empty());
  profile only_title;
  only_title.title = "X";
  EXPECT_EQ(profile::parse(only_title.render()), only_title);
  profile with_preamble = full_profile();
  with_preamble.other_sections.insert(with_preamble.other_sections.begin(), {"", "Text before the first section."});
  EXPECT_EQ(profile::parse(with_preamble.render()), with_preamble);
}

TEST(Profile, ParsesLlmVariants) {
  const std::string text =
      "# 'Til There Was You\r\n"
      "\r\n"
      "## overview:\r\n"
      "Two people keep missing each other.  \r\n"
      "## **Attributes**\n"
      "* **Genre:** Drama, Romance,\n"
      "- Tags: Fate, Love  \n"
      "  , Near Misses\n"
      "-   **Mood**: wistful\n"
      "## Description ##\n"
      "A romantic drama.\n"
      "## Dislikes\n"
      "Action, Horror ,  War\n"
      "1. Slapstick, broad\n"
      "## Dis";
  const profile p = profile::parse(text);
  EXPECT_EQ(p.title, "'Til There Was You");
  EXPECT_EQ(p.overview, "Two people keep missing each other.");
  EXPECT_EQ(p.genres, (std::vector<std::string>{"Drama", "Romance"}));
  EXPECT_EQ(p.tags, (std::vector<std::string>{"Fate", "Love", "Near Misses"}));
  ASSERT_EQ(p.other_attributes.size(), 1u);
  EXPECT_EQ(p.other_attributes[0].first, "Mood");
  EXPECT_EQ(p.other_attributes[0].second, "wistful");
  EXPECT_EQ(p.description, "A romantic drama.");
  EXPECT_EQ(p.dislikes, (std::vector<std::string>{"Action", "Horror", "War", "Slapstick, broad"}));
  ASSERT_EQ(p.other_sections.size(), 1u);  // the cut-off "## Dis" heading is kept, not guessed
  EXPECT_EQ(p.other_sections[0].heading, "Dis");
}

TEST(Profile, CutOffOutputsAndFreeText) {
  const profile cut = profile::parse("## Overview\nLikes film noir.\n\n##");
  EXPECT_EQ(cut.overview, "Likes film noir.");
  EXPECT_TRUE(cut.other_sections.empty());  // a bare "##" carries nothing
  const profile summary = profile::parse("The user enjoys dramas.\nThey dislike #hashtags.");
  EXPECT_EQ(summary.description, "The user enjoys dramas.\nThey dislike #hashtags.");
  EXPECT_TRUE(summary.title.empty());
  // A repeated section continues.
  const profile twice = profile::parse("## Description\nOne.\n## Description\nTwo.");
  EXPECT_EQ(twice.description, "One.\n\nTwo.");
}

TEST(TemplateProfiles, NaturalAndDisplayTitles) {
  EXPECT_EQ(gatrec::natural_title("Usual Suspects, The"), "The Usual Suspects");
  EXPECT_EQ(gatrec::natural_title("Englishman Who Went Up a Hill, But Came Down a Mountain, The"),
            "The Englishman Who Went Up a Hill, But Came Down a Mountain");
  EXPECT_EQ(gatrec::natural_title("Goodbye, Mr. Chips"), "Goodbye, Mr. Chips");
  EXPECT_EQ(gatrec::natural_title("Cite des enfants perdus, La"), "La Cite des enfants perdus");
  EXPECT_EQ(gatrec::natural_title("Toy Story"), "Toy Story");
  gatrec::item_info info;
  info.title = "Usual Suspects, The";
  info.year = 1995;
  EXPECT_EQ(gatrec::display_title(info), "The Usual Suspects (1995)");
  info.year = 0;
  EXPECT_EQ(gatrec::display_title(info), "The Usual Suspects");
}

TEST(TemplateProfiles, ItemFromMetadata) {
  gatrec::item_info info;
  info.title = "Usual Suspects, The";
  info.year = 1995;
  info.genres = {"Crime", "Thriller"};
  const profile p = gatrec::item_template_profile(info);
  EXPECT_EQ(p.render(),
            "# The Usual Suspects\n\n## Overview\nThe Usual Suspects is a 1995 crime and thriller film.\n\n"
            "## Attributes\n- **Genre**: Crime, Thriller\n- **Tags**: 1990s");
  EXPECT_EQ(profile::parse(p.render()), p);

  const profile with_overview = gatrec::item_template_profile(info, "  Five criminals meet.\n");
  EXPECT_EQ(with_overview.overview, "Five criminals meet.");

  gatrec::item_info bare;
  bare.title = "Unknown Film";
  bare.genres = {"unknown"};
  const profile b = gatrec::item_template_profile(bare);
  EXPECT_EQ(b.overview, "Unknown Film is a film.");
  EXPECT_TRUE(b.genres.empty());
  EXPECT_TRUE(b.tags.empty());
  bare.genres = {"Animation", "Children's", "Comedy"};
  EXPECT_EQ(gatrec::item_template_profile(bare).overview,
            "Unknown Film is an animation, children's and comedy film.");

  EXPECT_EQ(gatrec::integrated_item_text(info, "Five criminals meet."),
            "Movie title: Usual Suspects, The (1995)\nGenre: Crime, Thriller\nOverview: Five criminals meet.");
  EXPECT_EQ(gatrec::integrated_item_text(info), "Movie title: Usual Suspects, The (1995)\nGenre: Crime, Thriller");
}

gatrec::item_info make_item(const std::string& title, int year, std::vector<std::string> genres) {
  gatrec::item_info info;
  info.title = title;
  info.year = year;
  info.genres = std::move(genres);
  return info;
}

// Four items, two users; user 0 has likes, dislikes and a middling rating, user 1 nothing.
struct small_catalogue {
  std::vector<gatrec::item_info> items;
  gatrec::rating_table train;
  small_catalogue() {
    items.resize(4);
    items[0] = make_item("Heat", 1995, {"Action", "Crime"});
    items[1] = make_item("Babe", 1995, {"Children's", "Comedy"});
    items[2] = make_item("Casino", 1995, {"Crime", "Drama"});
    items[3] = make_item("Jumanji", 1995, {"Adventure", "Children's"});
    train.push_back(0, 0, 5, 100);
    train.push_back(0, 2, 4, 300);  // most recent like
    train.push_back(0, 1, 1, 200);
    train.push_back(0, 3, 2, 50);
    train.push_back(0, 3, 3, 400);  // neither liked nor disliked (a repeat, as a table may hold)
  }
};

TEST(TemplateProfiles, UserFromTrainingRatingsMostRecentFirst) {
  const small_catalogue c;
  const auto profiles = gatrec::user_template_profiles(c.train, 2, c.items);
  ASSERT_EQ(profiles.size(), 2u);
  const profile& p = profiles[0];
  EXPECT_TRUE(p.title.empty());
  EXPECT_EQ(p.overview,
            "This user rated 5 movies, liking 2 (rating 4 or higher) and disliking 2 (rating 2 or lower). "
            "Most liked genres: Crime, Action and Drama.");
  EXPECT_EQ(p.genres, (std::vector<std::string>{"Crime", "Action", "Drama"}));  // counts, then names
  EXPECT_EQ(p.description, "Recently liked: Casino (1995); Heat (1995).\n\nRecently disliked: Babe (1995); Jumanji (1995).");
  EXPECT_EQ(p.dislikes, (std::vector<std::string>{"Children's", "Adventure", "Comedy"}));
  EXPECT_EQ(profiles[1].overview, "This user has no training ratings.");
  EXPECT_EQ(gatrec::user_template_profile(c.train, 0, c.items), p);
  EXPECT_EQ(profile::parse(p.render()), p);

  gatrec::user_template_options o;
  o.max_titles = 1;
  o.liked_min_rating = 4.5f;
  const profile q = gatrec::user_template_profile(c.train, 0, c.items, o);
  EXPECT_EQ(q.description, "Recently liked: Heat (1995).\n\nRecently disliked: Babe (1995).");
  EXPECT_NE(q.overview.find("liking 1 (rating 4.5 or higher)"), std::string::npos) << q.overview;

  gatrec::rating_table bad = c.train;
  bad.push_back(5, 0, 5, 0);
  EXPECT_THROW(gatrec::user_template_profiles(bad, 2, c.items), gatrec::logic_error);
  bad = c.train;
  bad.push_back(1, 9, 5, 0);
  EXPECT_THROW(gatrec::user_template_profiles(bad, 2, c.items), gatrec::logic_error);
}

TEST(ProfileCsv, TrickyRecords) {
  // Multi-line quoted fields, doubled quotes, commas, CRLF line ends, UTF-8, a header column
  // named like another's prefix, an empty profile, and a final record without a line end.
  const std::string text =
      "user_id,user_profile,user_profile_extra\r\n"
      "1,\"## Overview\r\nLikes \"\"Heat\"\", crime, and caf\xc3\xa9s.\r\n\r\n## Dislikes:\r\n- Horror\",x\r\n"
      "2,,y\r\n"
      "3,\"  padded  \",\"z\"";
  const auto cols = gatrec::parse_profile_csv(text, "u.csv", "user_id", {"user_profile"});
  ASSERT_EQ(cols.size(), 1u);
  const auto& texts = cols[0];
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(texts.at(1), "## Overview\r\nLikes \"Heat\", crime, and caf\xc3\xa9s.\r\n\r\n## Dislikes:\r\n- Horror");
  EXPECT_EQ(texts.at(2), "");
  EXPECT_EQ(texts.at(3), "padded");
  const profile p = profile::parse(texts.at(1));
  EXPECT_EQ(p.overview, "Likes \"Heat\", crime, and caf\xc3\xa9s.");
  EXPECT_EQ(p.dislikes, (std::vector<std::string>{"Horror"}));
}

template <class F>
void expect_parse_error(F&& f, std::size_t line, const std::string& field, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const gatrec::parse_error& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ProfileCsv, Errors) {
  const auto parse = [](const std::string& text) {
    return [text] { gatrec::parse_profile_csv(text, "u.csv", "user_id", {"summary"}); };
  };
  expect_parse_error(parse(""), 0, "", "no header");
  expect_parse_error(parse("id,summary\n1,a\n"), 1, "user_id", "no column 'user_id' in the header (id, summary)");
  expect_parse_error(parse("user_id,summary,summary\n"), 1, "summary", "appears twice");
  expect_parse_error(parse("user_id,summary\n1,a\n2\n"), 3, "", "1 fields, the header 2");
  expect_parse_error(parse("user_id,summary\n1,\"a\nb\"\nx,c\n"), 4, "user_id", "not an integer");
  expect_parse_error(parse("user_id,summary\n1,a\n\n1,\"b\"\n"), 4, "user_id", "duplicate id 1 (first on line 2)");
  expect_parse_error(parse("user_id,summary\n1,\"never closed\n"), 2, "summary", "never closes");
  expect_parse_error(parse("user_id,summary\n1,caf\xe9\n"), 2, "summary", "not valid UTF-8");
}

TEST(ProfileCsv, FixtureFile) {
  const auto path = gatrec::test::fixtures() / "profiles" / "items_profiles_sample.csv";
  const auto items = gatrec::read_authors_item_profiles(path);
  ASSERT_EQ(items.unified.size(), 2u);
  EXPECT_EQ(items.unified.count(7), 1u);  // ids come from movie_id, not the TMDB id column
  const profile p = profile::parse(items.unified.at(7));
  EXPECT_EQ(p.title, "A Made-Up Film");
  EXPECT_EQ(p.genres, (std::vector<std::string>{"Comedy", "Drama"}));
  EXPECT_EQ(p.dislikes, (std::vector<std::string>{"Horror", "War"}));
  EXPECT_EQ(items.integrated.at(7), "Movie title: Made-Up Film, A (1996)\n    Genre: Comedy, Drama\n    Overview: Someone says \"hello, world\".");
  EXPECT_EQ(gatrec::profile::parse(items.unified.at(9)).tags, (std::vector<std::string>{"Satire", "Small Town"}));
}

TEST(DatasetProfiles, FallsBackToTemplates) {
  const small_catalogue c;
  gatrec::dataset ds;
  ds.users.insert(11);
  ds.users.insert(12);
  for (gatrec::raw_id_t id : {101, 102, 103, 104}) ds.items.insert(id);
  ds.item_meta = c.items;
  const gatrec::profile_texts items = {{101, "# Heat\n\n## Overview\nA heist."}, {103, ""}, {999, "# Not here"}};
  const gatrec::profile_texts users = {{12, "## Overview\nLikes films."}, {13, "## Overview\nUnknown user."}};

  const auto u = gatrec::assemble_profile_texts(ds, c.train, gatrec::profile_source::unified, &items, &users);
  ASSERT_EQ(u.items.size(), 4u);
  EXPECT_EQ(u.items[0], items.at(101));
  EXPECT_EQ(u.items[1], gatrec::item_template_profile(c.items[1]).render());
  EXPECT_EQ(u.template_items, (std::vector<gatrec::raw_id_t>{102, 103, 104}));  // 103's text is empty
  EXPECT_EQ(u.unknown_items, (std::vector<gatrec::raw_id_t>{999}));
  EXPECT_EQ(u.users[0], gatrec::user_template_profile(c.train, 0, c.items).render());
  EXPECT_EQ(u.users[1], users.at(12));
  EXPECT_EQ(u.template_users, (std::vector<gatrec::raw_id_t>{11}));
  EXPECT_EQ(u.unknown_users, (std::vector<gatrec::raw_id_t>{13}));

  const auto i = gatrec::assemble_profile_texts(ds, c.train, gatrec::profile_source::integrated, &items, &users);
  EXPECT_EQ(i.items[1], gatrec::integrated_item_text(c.items[1]));

  const auto t = gatrec::assemble_profile_texts(ds, c.train, gatrec::profile_source::templated, nullptr, nullptr);
  EXPECT_EQ(t.template_items.size(), 4u);
  EXPECT_EQ(t.template_users.size(), 2u);

  EXPECT_EQ(gatrec::parse_profile_source("template"), gatrec::profile_source::templated);
  EXPECT_STREQ(gatrec::to_string(gatrec::profile_source::integrated), "integrated");
  EXPECT_THROW(gatrec::parse_profile_source("llm"), gatrec::logic_error);
  ds.item_meta.pop_back();
  EXPECT_THROW(gatrec::assemble_profile_texts(ds, c.train, gatrec::profile_source::templated, nullptr, nullptr),
               gatrec::logic_error);
}

}  // namespace

}  // namespace test_profiles
