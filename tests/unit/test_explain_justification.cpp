// Evidence, template justifications, the rephrasing prompt and its validator on a tiny catalogue
// with titles, genres, tags and UTF-8 titles; the rollouts are given by hand so that which items
// are cited is known, then a real model checks the end-to-end path.
#include <gatrec/explain/evidence.hpp>
#include <gatrec/explain/item_catalogue.hpp>
#include <gatrec/explain/justification.hpp>
#include <gatrec/models/gat_recommender.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace test_explain_justification {
namespace {

using gatrec::index_t;

enum item : index_t { heat, usual, toy, seven, amelie, cite, casino, goodfellas, mash, num_items };
constexpr index_t num_users = 6;

gatrec::dataset tiny_dataset() {
  gatrec::dataset ds;
  ds.name = "tiny";
  for (index_t u = 0; u < num_users; ++u) ds.users.insert(100 + u);
  const std::vector<std::tuple<std::string, int, std::vector<std::string>>> meta{
      {"Heat", 1995, {"Action", "Crime", "Thriller"}},
      {"Usual Suspects, The", 1995, {"Crime", "Thriller"}},
      {"Toy Story", 1995, {"Animation", "Children's", "Comedy"}},
      {"Seven (Se7en)", 1995, {"Crime", "Thriller"}},
      {"Fabuleux destin d'Am\xC3\xA9lie Poulain, Le", 2001, {"Comedy", "Romance"}},
      {"Cit\xC3\xA9 des enfants perdus, La", 1995, {"Adventure", "Sci-Fi"}},
      {"Casino", 1995, {"Drama", "Thriller"}},
      {"Goodfellas", 1990, {"Crime", "Drama", "unknown"}},
      {"M*A*S*H", 1970, {"Comedy", "War"}},
  };
  for (std::size_t i = 0; i < meta.size(); ++i) {
    ds.items.insert(static_cast<gatrec::raw_id_t>(i + 1));
    gatrec::item_info info;
    info.title = std::get<0>(meta[i]);
    info.year = std::get<1>(meta[i]);
    info.genres = std::get<2>(meta[i]);
    ds.item_meta.push_back(info);
  }
  // u0 likes two crime thrillers; u1, u2 rated Seven; u3 liked nothing; u4 likes the two French
  // films; u5 rated nothing. Nobody rated Goodfellas.
  auto& r = ds.ratings;
  r.push_back(0, heat, 5), r.push_back(0, usual, 4), r.push_back(0, toy, 2), r.push_back(0, casino, 3);
  r.push_back(1, heat, 4), r.push_back(1, seven, 5), r.push_back(1, amelie, 5);
  r.push_back(2, seven, 4), r.push_back(2, toy, 5);
  r.push_back(3, toy, 2);
  r.push_back(4, amelie, 5), r.push_back(4, cite, 4);
  return ds;
}

struct fixture {
  gatrec::dataset ds = tiny_dataset();
  gatrec::bipartite_graph graph{num_users, num_items, ds.ratings, self_loops()};
  gatrec::item_catalogue catalogue{ds};

  static gatrec::graph_options self_loops() {
    gatrec::graph_options g;
    g.add_self_loops = true;
    return g;
  }
  index_t node(item i) const { return graph.item_node(i); }
};

TEST(DisplayTitle, MovesArticlesBackToTheFront) {
  EXPECT_EQ(gatrec::display_title("Usual Suspects, The", 1995), "The Usual Suspects (1995)");
  EXPECT_EQ(gatrec::display_title("Postino, Il", 1994), "Il Postino (1994)");
  EXPECT_EQ(gatrec::display_title("Mis\xC3\xA9rables, Les", 1995), "Les Mis\xC3\xA9rables (1995)");
  EXPECT_EQ(gatrec::display_title("Horseman on the Roof, The (Hussard sur le toit, Le)", 1995),
            "The Horseman on the Roof (Hussard sur le toit, Le) (1995)");
  EXPECT_EQ(gatrec::display_title("Homme du train, L'", 2002), "L'Homme du train (2002)");
  EXPECT_EQ(gatrec::display_title("Crying Game, The", 0), "The Crying Game");
  EXPECT_EQ(gatrec::display_title("Seven (Se7en)", 1995), "Seven (Se7en) (1995)");
  EXPECT_EQ(gatrec::display_title("Me, Myself and Irene", 2000), "Me, Myself and Irene (2000)");
}

TEST(ItemCatalogue, TitlesGenresTagsAndProfiles) {
  const fixture f;
  EXPECT_EQ(f.catalogue.size(), num_items);
  EXPECT_EQ(f.catalogue.at(amelie).title, "Le Fabuleux destin d'Am\xC3\xA9lie Poulain (2001)");
  EXPECT_EQ(f.catalogue.at(goodfellas).genres, (std::vector<std::string>{"Crime", "Drama"}));  // "unknown" dropped
  EXPECT_THROW(f.catalogue.at(num_items), gatrec::logic_error);
  gatrec::item_catalogue c = f.catalogue;
  const std::map<gatrec::raw_id_t, std::string> profiles{
      {1, "# Heat\n## Overview\nA heist.\n## Attributes\n- **Genre**: Crime\n- **Tags**: heist, Los Angeles\n"},
      {99, "# Unknown id\n## Attributes\n- **Tags**: x\n"}};
  EXPECT_EQ(c.add_profiles(profiles, f.ds.items), 1u);
  EXPECT_EQ(c.at(heat).tags, (std::vector<std::string>{"heist", "Los Angeles"}));
  EXPECT_EQ(c.at(heat).genres.size(), 3u);  // the dataset's genres are kept
}

// The node-rollout weighting: hand rollouts are all it reads (the default, rating_flow, also needs
// edge flows from a model).
gatrec::evidence_options node_rollout() {
  gatrec::evidence_options o;
  o.weighting = gatrec::evidence_weighting::mixture;
  return o;
}

// Hand rollouts for u0 -> Seven: into h_u Heat 0.30, Usual 0.20, Toy 0.25 (rated 2: never cited),
// Casino 0.10; into h_i Heat 0.10, Usual 0.02.
struct hand_case {
  std::vector<gatrec::node_weight> ru, ri;
  explicit hand_case(const fixture& f) {
    ru = {{0, 0.15}, {f.node(heat), 0.30}, {f.node(toy), 0.25}, {f.node(usual), 0.20}, {f.node(casino), 0.10}};
    ri = {{f.node(seven), 0.5}, {1, 0.2}, {2, 0.18}, {f.node(heat), 0.10}, {f.node(usual), 0.02}};
  }
};

TEST(Evidence, CitesTheHeaviestLikedItemsWithRatingsAndSharedGenres) {
  const fixture f;
  const hand_case h(f);
  const auto ev = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, node_rollout());
  EXPECT_EQ(ev.score, 1.25);
  EXPECT_EQ(ev.rated_items, 4);
  EXPECT_EQ(ev.liked_items, 2);
  ASSERT_EQ(ev.items.size(), 2u);
  EXPECT_EQ(ev.items[0].item, heat);
  EXPECT_EQ(ev.items[0].rating, 5.0f);
  EXPECT_DOUBLE_EQ(ev.items[0].to_user, 0.30);
  EXPECT_DOUBLE_EQ(ev.items[0].to_item, 0.10);
  EXPECT_DOUBLE_EQ(ev.items[0].weight, 0.20);
  EXPECT_EQ(ev.items[1].item, usual);
  EXPECT_DOUBLE_EQ(ev.items[1].weight, 0.11);
  ASSERT_EQ(ev.users.size(), 2u);  // u1 (0.2) before u2 (0.18)
  EXPECT_EQ(ev.users[0].user, 1);
  EXPECT_EQ(ev.users[0].rating, 5.0f);
  EXPECT_EQ(ev.users[1].user, 2);
  EXPECT_EQ(ev.item_raters, 2);
  ASSERT_EQ(ev.genres.size(), 2u);
  EXPECT_EQ(ev.genres[0].name, "Crime");
  EXPECT_EQ(ev.genres[0].items, (std::vector<index_t>{heat, usual}));
  EXPECT_EQ(ev.genres[1].name, "Thriller");
  EXPECT_EQ(gatrec::template_justification(ev, f.catalogue),
            "Recommended because you rated Heat (1995) 5/5 and The Usual Suspects (1995) 4/5; like them, it is a "
            "crime and thriller film.");

  // Only the item side counts: Heat (0.10) still leads, the threshold keeps Toy Story out.
  gatrec::evidence_options item_side = node_rollout();
  item_side.user_side_weight = 0.0;
  item_side.max_items = 5;
  const auto ev2 = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, item_side);
  ASSERT_EQ(ev2.items.size(), 2u);
  EXPECT_DOUBLE_EQ(ev2.items[1].weight, 0.02);
  // Each side as shares of its total over u0's rated items (R_u: 0.85, R_i: 0.12).
  gatrec::evidence_options normalized = node_rollout();
  normalized.normalize_sides = true;
  const auto evn = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, normalized);
  ASSERT_EQ(evn.items.size(), 2u);
  EXPECT_NEAR(evn.items[0].weight, 0.5 * 0.30 / 0.85 + 0.5 * 0.10 / 0.12, 1e-15);
  EXPECT_NEAR(evn.items[1].weight, 0.5 * 0.20 / 0.85 + 0.5 * 0.02 / 0.12, 1e-15);
  // Shared weighting: R_u R_i.
  gatrec::evidence_options shared;
  shared.weighting = gatrec::evidence_weighting::shared;
  const auto ev4 = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, shared);
  ASSERT_EQ(ev4.items.size(), 2u);
  EXPECT_DOUBLE_EQ(ev4.items[0].weight, 0.30 * 0.10);
  EXPECT_DOUBLE_EQ(ev4.items[1].weight, 0.20 * 0.02);
  // Aligned weighting: R_u[c] (a_c - a_bar), a_bar the R_u-weighted mean over the rated items.
  gatrec::evidence_options aligned;
  aligned.weighting = gatrec::evidence_weighting::aligned;
  EXPECT_THROW(gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, aligned), gatrec::logic_error);
  const auto a = [](index_t c) { return c == heat ? 2.0 : c == usual ? 1.0 : c == toy ? 0.5 : -1.0; };
  const double mean = (0.30 * 2.0 + 0.25 * 0.5 + 0.20 * 1.0 + 0.10 * -1.0) / 0.85;
  gatrec::item_signals signals;
  signals.alignment = a;
  const auto ev5 = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, aligned, signals);
  ASSERT_EQ(ev5.items.size(), 2u);
  EXPECT_EQ(ev5.items[0].item, heat);
  EXPECT_NEAR(ev5.items[0].alignment, 2.0 - mean, 1e-15);
  EXPECT_NEAR(ev5.items[0].weight, 0.30 * (2.0 - mean), 1e-15);
  EXPECT_NEAR(ev5.items[1].weight, 0.20 * (1.0 - mean), 1e-15);
  // Rating flow: w F_u + (1 - w) F_i from the signals.
  gatrec::evidence_options flow;
  flow.weighting = gatrec::evidence_weighting::rating_flow;
  EXPECT_THROW(gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, flow, signals), gatrec::logic_error);
  signals.flow_to_user = [](index_t c) { return c == usual ? 0.4 : 0.1; };
  signals.flow_to_item = [](index_t c) { return c == heat ? 0.2 : 0.0; };
  const auto ev6 = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, flow, signals);
  ASSERT_EQ(ev6.items.size(), 2u);
  EXPECT_EQ(ev6.items[0].item, usual);
  EXPECT_DOUBLE_EQ(ev6.items[0].weight, 0.2);
  EXPECT_DOUBLE_EQ(ev6.items[1].weight, 0.15);
  EXPECT_DOUBLE_EQ(ev6.items[1].flow_to_item, 0.2);
  // A lower threshold lets the 3/5 and 2/5 ratings in, ranked by weight.
  item_side.like_threshold = 2.0f;
  item_side.user_side_weight = 1.0;
  const auto ev3 = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, item_side);
  ASSERT_EQ(ev3.items.size(), 4u);
  EXPECT_EQ(ev3.items[1].item, toy);
  EXPECT_EQ(gatrec::template_justification(ev3, f.catalogue),
            "Recommended because you rated Heat (1995) 5/5, Toy Story (1995) 2/5, The Usual Suspects (1995) 4/5 and "
            "Casino (1995) 3/5; like Heat (1995), The Usual Suspects (1995) and Casino (1995), it is a thriller film, "
            "and like Heat (1995) and The Usual Suspects (1995), a crime film.");  // thriller: 3 items, crime: 2
}

TEST(Justification, Utf8TitlesAndGenresSharedWithOnlySomeItems) {
  const fixture f;
  // u4 -> Toy Story: Amelie shares comedy, the Cite nothing.
  const std::vector<gatrec::node_weight> ru{{f.node(amelie), 0.4}, {f.node(cite), 0.3}}, ri{};
  const auto ev = gatrec::gather_evidence(f.graph, ru, ri, 4, toy, 0.5, f.catalogue, node_rollout());
  ASSERT_EQ(ev.genres.size(), 1u);
  EXPECT_EQ(ev.genres[0].items, (std::vector<index_t>{amelie}));
  EXPECT_EQ(gatrec::template_justification(ev, f.catalogue),
            "Recommended because you rated Le Fabuleux destin d'Am\xC3\xA9lie Poulain (2001) 5/5 and La Cit\xC3\xA9 des "
            "enfants perdus (1995) 4/5; like Le Fabuleux destin d'Am\xC3\xA9lie Poulain (2001), it is a comedy film.");
}

TEST(Justification, NothingSharedSaysOnlyWhatWasRated) {
  const fixture f;
  const hand_case h(f);
  gatrec::evidence_options one = node_rollout();
  one.max_items = 1;
  const auto ev = gatrec::gather_evidence(f.graph, h.ru, {}, 0, amelie, 0.1, f.catalogue, one);
  EXPECT_TRUE(ev.genres.empty());
  EXPECT_EQ(gatrec::template_justification(ev, f.catalogue), "Recommended because you rated Heat (1995) 5/5.");
  // Implicit feedback: no ratings in the sentence.
  gatrec::justification_options implicit;
  implicit.show_ratings = false;
  EXPECT_EQ(gatrec::template_justification(ev, f.catalogue, implicit), "Recommended because you watched Heat (1995).");
}

TEST(Justification, SharedTagsJoinTheGenreClauseWhenEveryCitedItemHasThem) {
  const fixture f;
  const hand_case h(f);
  gatrec::item_catalogue c = f.catalogue;
  c.set_tags(heat, {"heist", "Los Angeles"});
  c.set_tags(usual, {"twist", "Heist"});
  c.set_tags(seven, {"twist", "heist", "serial killer"});
  const auto ev = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.0, c, node_rollout());
  ASSERT_EQ(ev.tags.size(), 2u);
  EXPECT_EQ(ev.tags[0].name, "heist");  // shared by both, before twist (one)
  EXPECT_EQ(ev.tags[1].items, (std::vector<index_t>{usual}));
  EXPECT_EQ(gatrec::template_justification(ev, c),
            "Recommended because you rated Heat (1995) 5/5 and The Usual Suspects (1995) 4/5; like them, it is a "
            "crime and thriller film, tagged heist.");
  // Tags without genres.
  c.set_tags(amelie, {"heist"});
  gatrec::evidence_options one = node_rollout();
  one.max_items = 1;
  const auto ev2 = gatrec::gather_evidence(f.graph, h.ru, {}, 0, amelie, 0.1, c, one);
  EXPECT_EQ(gatrec::template_justification(ev2, c),
            "Recommended because you rated Heat (1995) 5/5; like it, it is tagged heist.");
}

TEST(Justification, NoLikedNeighbourFallsBackOnTheItemsRaters) {
  const fixture f;
  const std::vector<gatrec::node_weight> ri{{1, 0.3}, {2, 0.2}};
  const auto ev = gatrec::gather_evidence(f.graph, {}, ri, 3, seven, -0.2, f.catalogue, node_rollout());
  EXPECT_TRUE(ev.items.empty());
  EXPECT_EQ(ev.rated_items, 1);
  EXPECT_EQ(ev.liked_items, 0);
  EXPECT_EQ(gatrec::template_justification(ev, f.catalogue),
            "You have not rated any film 4/5 or higher yet, so this comes from other users' ratings: the 2 users who "
            "most shape its representation rated it 4.5/5 on average.");
  const auto none = gatrec::gather_evidence(f.graph, {}, ri, 5, seven, 0.0, f.catalogue, node_rollout());
  EXPECT_EQ(gatrec::template_justification(none, f.catalogue),
            "You have no ratings yet, so this comes from other users' ratings: the 2 users who most shape its "
            "representation rated it 4.5/5 on average.");
  const auto nobody = gatrec::gather_evidence(f.graph, {}, {}, 5, goodfellas, 0.0, f.catalogue, node_rollout());
  EXPECT_EQ(gatrec::template_justification(nobody, f.catalogue),
            "You have no ratings yet, and no one has rated this film yet: it is recommended from its own features "
            "alone.");
  gatrec::evidence_options one = node_rollout();
  one.max_users = 1;
  const auto single = gatrec::gather_evidence(f.graph, {}, ri, 3, seven, 0.0, f.catalogue, one);
  EXPECT_EQ(gatrec::template_justification(single, f.catalogue),
            "You have not rated any film 4/5 or higher yet, so this comes from other users' ratings: the user who "
            "most shapes its representation rated it 5/5.");
}

TEST(RephrasePrompt, ListsTheEvidenceAndNothingElse) {
  const fixture f;
  const hand_case h(f);
  const auto ev = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, node_rollout());
  const auto prompt = gatrec::rephrase_prompt(ev, f.catalogue);
  ASSERT_EQ(prompt.size(), 2u);
  EXPECT_EQ(prompt[0].role, "system");
  EXPECT_EQ(prompt[1].role, "user");
  const std::string& user = prompt[1].content;
  EXPECT_NE(user.find("Recommended film: Seven (Se7en) (1995)"), std::string::npos);
  EXPECT_NE(user.find("The user rated Heat (1995) 5/5"), std::string::npos);
  EXPECT_NE(user.find("The user rated The Usual Suspects (1995) 4/5"), std::string::npos);
  EXPECT_NE(user.find("Shared genre: crime (also in Heat (1995) and The Usual Suspects (1995))"), std::string::npos);
  EXPECT_NE(user.find("Draft: " + gatrec::template_justification(ev, f.catalogue)), std::string::npos);
  // Rated but not cited (Toy Story 2/5, Casino 3/5) stays out.
  EXPECT_EQ(user.find("Toy Story"), std::string::npos);
  EXPECT_EQ(user.find("Casino"), std::string::npos);
  const auto nobody = gatrec::rephrase_prompt(gatrec::gather_evidence(f.graph, {}, {}, 5, goodfellas, 0.0, f.catalogue, node_rollout()),
                                              f.catalogue);
  EXPECT_NE(nobody[1].content.find("- The user has no ratings yet\n- No one has rated the recommended film yet"),
            std::string::npos);
}

TEST(RephrasingValidator, AcceptsFaithfulTextAndRejectsInventions) {
  const fixture f;
  const hand_case h(f);
  const auto ev = gatrec::gather_evidence(f.graph, h.ru, h.ri, 0, seven, 1.25, f.catalogue, node_rollout());
  const auto check = [&](const std::string& s) { return gatrec::validate_rephrasing(s, ev, f.catalogue); };
  const std::string good =
      "Since you loved Heat (1995) and gave The Usual Suspects (1995) a 4/5, the crime thriller Seven (Se7en) (1995) "
      "should suit you.";
  EXPECT_TRUE(check(good).accepted) << check(good).reason;
  EXPECT_TRUE(check("You rated **Heat** (1995) 5/5 and \"Usual Suspects\" 4/5, so try *Seven (Se7en)*.").accepted)
      << check("You rated **Heat** (1995) 5/5 and \"Usual Suspects\" 4/5, so try *Seven (Se7en)*.").reason;
  EXPECT_TRUE(check("Like \xE2\x80\x9C" "crime\xE2\x80\x9D films you rated highly.").accepted);

  const std::vector<std::pair<std::string, std::string>> bad{
      {"", "empty"},
      {"You rated Heat (1995) 5/5.\nTry it.", "more than one line"},
      {"Like Heat (1995) and Casino (1995), it is a thriller.", "year (1995) follows no title"},
      {"Like Heat (1995) and Pulp Fiction (1994), it is a thriller.", "year (1994) follows no title"},
      {"Fans of Toy Story will enjoy it.", "mentions \"Toy Story (1995)\""},
      {"Fans of goodfellas will enjoy it.", "mentions \"Goodfellas (1990)\""},
      {"You rated Heat (1995) 3/5.", "the rating 3/5"},
      {"It is as tense as \"The Godfather\".", "quoted phrase \"the godfather\""},
      {"It is as tense as *Casablanca*.", "quoted phrase \"casablanca\""},
      {std::string(600, 'a'), "longer than 500"},
  };
  for (const auto& [sentence, why] : bad) {
    const auto r = check(sentence);
    EXPECT_FALSE(r.accepted) << sentence;
    EXPECT_NE(r.reason.find(why), std::string::npos) << sentence << " -> " << r.reason;
  }
  // Asterisks inside an evidence title are not emphasis.
  const auto ev_mash = gatrec::gather_evidence(f.graph, {}, {}, 5, mash, 0.0, f.catalogue, node_rollout());
  const auto m = gatrec::validate_rephrasing("You might enjoy *M*A*S*H* (1970), a \"war\" classic?", ev_mash, f.catalogue);
  EXPECT_FALSE(m.accepted);  // "war" is not a shared genre here: there is no cited item
  EXPECT_NE(m.reason.find("\"war\""), std::string::npos) << m.reason;
  EXPECT_TRUE(gatrec::validate_rephrasing("You might enjoy *M*A*S*H* (1970).", ev_mash, f.catalogue).accepted);
  // A title that is part of an allowed one is not an invention ("Seven" inside "Seven (Se7en)").
  EXPECT_EQ(gatrec::choose_justification("  " + good + "  ", ev, f.catalogue), good);
  EXPECT_EQ(gatrec::choose_justification("Fans of Toy Story will enjoy it.", ev, f.catalogue),
            gatrec::template_justification(ev, f.catalogue));
}

TEST(ExplainRecommendation, CitesTheUsersOwnLikedItemsFromARealModel) {
  const fixture f;
  gatrec::gat_recommender_options o;
  o.encoder.in_dim = 8;
  o.encoder.layers = {{2, 4, true}, {2, 4, true}, {1, 4, true}};
  gatrec::gat_recommender<float> model(num_users, num_items, f.ds.ratings, {}, o);
  EXPECT_THROW(gatrec::explain_recommendation(model, 0, seven, f.catalogue), gatrec::logic_error);  // no forward yet
  const auto& h = model.forward(gatrec::run_mode{});
  const auto ev = gatrec::explain_recommendation(model, 0, seven, f.catalogue);
  EXPECT_NEAR(ev.score, h.row(0).cast<double>().dot(h.row(f.node(seven)).cast<double>()), 1e-9);
  ASSERT_EQ(ev.items.size(), 2u);
  std::vector<index_t> cited{ev.items[0].item, ev.items[1].item};
  std::sort(cited.begin(), cited.end());
  EXPECT_EQ(cited, (std::vector<index_t>{heat, usual}));
  EXPECT_GE(ev.items[0].weight, ev.items[1].weight);
  for (const auto& c : ev.items) {
    EXPECT_GT(c.to_user, 0.0);  // a direct neighbour of u0
    if (c.item == heat)
      EXPECT_GT(c.to_item, 0.0);  // Heat -> u1 -> Seven: two hops
    else
      EXPECT_EQ(c.to_item, 0.0);  // Usual -> u0 -> Heat -> u1 -> Seven: four hops, beyond three layers
  }
  // The aligned weighting reads <h_c, h_i> from the same forward pass.
  gatrec::evidence_options aligned;
  aligned.weighting = gatrec::evidence_weighting::aligned;
  const auto eva = gatrec::explain_recommendation(model, 0, seven, f.catalogue, aligned);
  ASSERT_EQ(eva.items.size(), 2u);
  EXPECT_NEAR(eva.items[0].alignment - eva.items[1].alignment,
              h.row(f.node(static_cast<item>(eva.items[0].item))).cast<double>().dot(h.row(f.node(seven)).cast<double>()) -
                  h.row(f.node(static_cast<item>(eva.items[1].item))).cast<double>().dot(h.row(f.node(seven)).cast<double>()),
              1e-9);
  for (const auto& c : eva.items) EXPECT_DOUBLE_EQ(c.weight, c.to_user * c.alignment);
  // The rating flow walks the same attention: F_u(c) through the two edges between u0 and c.
  gatrec::evidence_options flow;
  flow.weighting = gatrec::evidence_weighting::rating_flow;
  const auto evf = gatrec::explain_recommendation(model, 0, seven, f.catalogue, flow);
  ASSERT_EQ(evf.items.size(), 2u);
  const auto layers = gatrec::rollout_layers(model.encoder(), model.context(), model.graph().graph());
  const auto by_user = gatrec::rollout_by_layer(model.graph().graph(), layers, 0);
  for (const auto& c : evf.items) {
    std::vector<gatrec::offset_t> edges = model.graph().graph().edge_ids(f.node(static_cast<item>(c.item)), 0);
    const auto back = model.graph().graph().edge_ids(0, f.node(static_cast<item>(c.item)));
    edges.insert(edges.end(), back.begin(), back.end());
    EXPECT_DOUBLE_EQ(c.flow_to_user, gatrec::edge_flow(model.graph().graph(), layers, by_user, edges));
    EXPECT_GT(c.flow_to_user, c.flow_to_item);  // u0 is the user side's target
    EXPECT_DOUBLE_EQ(c.weight, 0.5 * c.flow_to_user + 0.5 * c.flow_to_item);
  }
  const std::string s = gatrec::template_justification(ev, f.catalogue);
  EXPECT_EQ(s.rfind("Recommended because you rated ", 0), 0u) << s;
  EXPECT_NE(s.find("Heat (1995) 5/5"), std::string::npos) << s;
  EXPECT_NE(s.find("The Usual Suspects (1995) 4/5"), std::string::npos) << s;
  EXPECT_NE(s.find("like them, it is a crime and thriller film."), std::string::npos) << s;
  EXPECT_TRUE(gatrec::validate_rephrasing(s, ev, f.catalogue).accepted);
}

}  // namespace

}  // namespace test_explain_justification
