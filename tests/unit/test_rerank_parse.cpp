// Reading model replies for the re-ranking strategies: rankings (ids, titles, bare numbers,
// repairs), A/B choices and 1-100 scores, including every malformed form; and the prompt texts.
#include <gatrec/rerank/parse.hpp>
#include <gatrec/rerank/prompts.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace test_rerank_parse {
namespace {

using gatrec::parse_choice;
using gatrec::parse_ranking;
using gatrec::parse_score;
using gatrec::ranking_source;

const std::vector<std::string> four{"Heat", "Toy Story", "Casino", "The Usual Suspects"};

TEST(RerankParseRanking, BracketedPermutation) {
  const auto r = parse_ranking("[3] > [1] > [4] > [2]", four);
  EXPECT_EQ(r.source, ranking_source::brackets);
  EXPECT_EQ(r.order, (std::vector<int>{2, 0, 3, 1}));
  EXPECT_EQ(r.valid, 4u);
  EXPECT_FALSE(r.repaired());
}

TEST(RerankParseRanking, BracketsWinOverListMarkersAndTitles) {
  // "1." "2." are list positions; the bracketed ids are the answer, and the title "Heat" next to
  // [1] is not a second mention that would reorder anything.
  const auto r = parse_ranking("1. [2] Toy Story\n2. [1] Heat\n3. [4]\n4. [3]", four);
  EXPECT_EQ(r.source, ranking_source::brackets);
  EXPECT_EQ(r.order, (std::vector<int>{1, 0, 3, 2}));
  EXPECT_FALSE(r.repaired());
}

TEST(RerankParseRanking, DuplicatesUnknownAndMissingAreRepaired) {
  // [2] twice, [9] unknown, [3] missing: valid order 2, 1, 4, then 3 appended.
  const auto r = parse_ranking("[2] > [2] > [9] > [1] > [4]", four);
  EXPECT_EQ(r.order, (std::vector<int>{1, 0, 3, 2}));
  EXPECT_EQ(r.valid, 3u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.unknown, 1u);
  EXPECT_EQ(r.missing, 1u);
  EXPECT_TRUE(r.repaired());
}

TEST(RerankParseRanking, PartialListKeepsOrderAndAppendsTheRestInBaseOrder) {
  const auto r = parse_ranking("[4] > [3]", four);
  EXPECT_EQ(r.order, (std::vector<int>{3, 2, 0, 1}));
  EXPECT_EQ(r.missing, 2u);
  EXPECT_TRUE(r.repaired());
}

TEST(RerankParseRanking, TitlesInOrderOfAppearanceCaseInsensitive) {
  const auto r = parse_ranking("1. the usual suspects\n2. CASINO\n3. Heat\n4. Toy Story", four);
  EXPECT_EQ(r.source, ranking_source::titles);
  EXPECT_EQ(r.order, (std::vector<int>{3, 2, 0, 1}));
  EXPECT_FALSE(r.repaired());
}

TEST(RerankParseRanking, TitlesAreWholeWordsLongestFirst) {
  // "Heat" inside "Heatwave" is not a mention; "The Heat Is On" is its own candidate, and the
  // shorter "Heat" must not be found inside it.
  const std::vector<std::string> titles{"Heat", "The Heat Is On", "Casino"};
  const auto r = parse_ranking("Heatwave fans: The Heat Is On, then Casino, then Heat.", titles);
  EXPECT_EQ(r.source, ranking_source::titles);
  EXPECT_EQ(r.order, (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(r.missing, 0u);
}

TEST(RerankParseRanking, RepeatedTitleCountsAsDuplicate) {
  const auto r = parse_ranking("Casino, Heat, Casino", four);
  EXPECT_EQ(r.order, (std::vector<int>{2, 0, 1, 3}));
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.missing, 2u);
}

TEST(RerankParseRanking, BareNumbersAreTheLastResortAndYearsAreSkipped) {
  const auto r = parse_ranking("4, 2 (1995), 7, 1", four);
  EXPECT_EQ(r.source, ranking_source::numbers);
  EXPECT_EQ(r.order, (std::vector<int>{3, 1, 0, 2}));
  EXPECT_EQ(r.unknown, 1u);  // 7; 1995 is a year, not an id
  EXPECT_EQ(r.missing, 1u);
}

TEST(RerankParseRanking, GarbageEmptyAndOutOfRangeAreUnusable) {
  for (const char* reply : {"", "   \n", "I really like movies!", "[0] > [5] > [17]", "se7en x2"}) {
    const auto r = parse_ranking(reply, four);
    EXPECT_FALSE(r.usable()) << reply;
    EXPECT_TRUE(r.order.empty()) << reply;
    EXPECT_EQ(r.source, ranking_source::none) << reply;
  }
  EXPECT_FALSE(parse_ranking("[1] > [2]", {}).usable());
}

TEST(RerankParseChoice, LettersWordsAndTitles) {
  EXPECT_EQ(parse_choice("A", "Heat", "Casino"), 0);
  EXPECT_EQ(parse_choice("B.", "Heat", "Casino"), 1);
  EXPECT_EQ(parse_choice(" **B**", "Heat", "Casino"), 1);
  EXPECT_EQ(parse_choice("Movie B", "Heat", "Casino"), 1);
  EXPECT_EQ(parse_choice("Answer: A", "Heat", "Casino"), 0);
  EXPECT_EQ(parse_choice("I think B is the better fit", "Heat", "Casino"), 1);
  EXPECT_EQ(parse_choice("A: Heat", "Heat", "Casino"), 0);
  EXPECT_EQ(parse_choice("They would enjoy casino more", "Heat", "Casino"), 1);
  // A lower-case "a" is the article, not the letter.
  EXPECT_EQ(parse_choice("a thriller like Heat", "Heat", "Casino"), 0);
}

TEST(RerankParseChoice, MalformedRepliesSayNothing) {
  for (const char* reply : {"", "Both are great.", "neither", "a or b", "A and B are both fine", "Heat and Casino"})
    EXPECT_FALSE(parse_choice(reply, "Heat", "Casino").has_value()) << reply;
}

TEST(RerankParseScore, NumbersInTheirUsualForms) {
  EXPECT_EQ(parse_score("85").value, 85.0);
  EXPECT_EQ(parse_score("Score: 85/100").value, 85.0);
  EXPECT_EQ(parse_score("This user enjoys 10").value, 10.0);
  EXPECT_EQ(parse_score("On a scale from 1 to 100, I'd say 70.").value, 70.0);
  EXPECT_EQ(parse_score("1-100: 42").value, 42.0);
  EXPECT_EQ(parse_score("72.5").value, 72.5);
  EXPECT_EQ(parse_score("100").value, 100.0);
  EXPECT_EQ(parse_score("1").value, 1.0);
}

TEST(RerankParseScore, OutOfRangeAndMissingNumbersAreUnusable) {
  for (const char* reply : {"150", "0", "-5", "1000 out of 100"}) {
    const auto s = parse_score(reply);
    EXPECT_TRUE(s.found_number) << reply;
    EXPECT_FALSE(s.value.has_value()) << reply;
  }
  for (const char* reply : {"", "seven", "high", "se7en"}) {
    const auto s = parse_score(reply);
    EXPECT_FALSE(s.found_number) << reply;
    EXPECT_FALSE(s.value.has_value()) << reply;
  }
}

TEST(RerankPrompts, ItemLinesAndTemplates) {
  gatrec::rerank_item heat{"Heat", 1995, {"Action", "Crime"}, "A cop hunts a thief.\nIn Los Angeles."};
  EXPECT_EQ(gatrec::describe_item(heat), "Heat (1995) - Action, Crime");
  EXPECT_EQ(gatrec::describe_item(heat, 12), "Heat (1995) - Action, Crime - A cop hunts...");
  EXPECT_EQ(gatrec::describe_item(gatrec::rerank_item{"Untitled", 0, {}, ""}), "Untitled");

  gatrec::rerank_item casino{"Casino", 1995, {"Drama"}, ""};
  const gatrec::rerank_prompt_options o;
  const auto list = gatrec::ranking_prompt("Likes crime.", {&heat, &casino}, o);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].role, "system");
  EXPECT_EQ(list[1].role, "user");
  EXPECT_NE(list[1].content.find("Viewer profile:\nLikes crime.\n"), std::string::npos);
  EXPECT_NE(list[1].content.find("Rank these 2 movies"), std::string::npos);
  EXPECT_NE(list[1].content.find("[1] Heat (1995) - Action, Crime\n[2] Casino (1995) - Drama\n"), std::string::npos);
  EXPECT_EQ(list[1].content.find("{{"), std::string::npos);

  const auto pair = gatrec::pairwise_prompt("Likes crime.", casino, heat, o);
  EXPECT_NE(pair[1].content.find("A: Casino (1995) - Drama\nB: Heat (1995) - Action, Crime\n"), std::string::npos);
  const auto score = gatrec::score_prompt("Likes crime.", heat, o);
  EXPECT_NE(score[1].content.find("Movie: Heat (1995) - Action, Crime\n"), std::string::npos);
  // Every prompt starts with the same per-user prefix (a server's prompt cache reuses it).
  const std::string prefix = "Viewer profile:\nLikes crime.\n\n";
  for (const auto* m : {&list, &pair, &score}) EXPECT_EQ((*m)[1].content.rfind(prefix, 0), 0u);
}

TEST(RerankPrompts, TemplateFieldsUnknownFieldsStay) {
  EXPECT_EQ(gatrec::detail::fill_rerank_template("{{a}}-{{b}}-{{c}}", {{"a", "1"}, {"b", "{{a}}"}}), "1-{{a}}-{{c}}");
  EXPECT_EQ(gatrec::detail::fill_rerank_template("no fields {{", {}), "no fields {{");
}

TEST(RerankPrompts, CompactProfileText) {
  const std::string unified =
      "## Overview\nLoves slow dramas.\n\n## Attributes\n- **Genre**: Drama, Romance\n- **Tags**: Family, Love\n\n"
      "## Description\nA long paragraph that is left out.\n\n## Dislikes:\n- gore\n- car chases";
  EXPECT_EQ(gatrec::compact_profile_text(unified),
            "Loves slow dramas.\nLikes genres: Drama, Romance\nLikes: Family, Love\nAvoids: gore, car chases");
  EXPECT_EQ(gatrec::compact_profile_text("A viewer of old westerns.\n\n\nAnd musicals."),
            "A viewer of old westerns.\nAnd musicals.");
  const std::string cut = gatrec::compact_profile_text(unified, 30);
  EXPECT_EQ(cut, "Loves slow dramas.\nLikes...");
  // Never cut inside a UTF-8 sequence.
  const std::string accents = gatrec::compact_profile_text("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3);
  EXPECT_EQ(accents, "\xC3\xA9...");
}

}  // namespace

}  // namespace test_rerank_parse
