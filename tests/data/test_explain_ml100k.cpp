// Grounded justifications on ML-100K fold u1: a small GATv2 trained for a few epochs; every
// justification of the first users' top lists cites items the user really rated (with the rating
// of u1.base), names them by their u.item titles, passes the validator, and the deletion test runs
// on real pairs.
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/eval/user_item_sets.hpp>
#include <gatrec/explain/attention_rollout.hpp>
#include <gatrec/explain/evidence.hpp>
#include <gatrec/explain/faithfulness.hpp>
#include <gatrec/explain/item_catalogue.hpp>
#include <gatrec/explain/justification.hpp>
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/train/trainer.hpp>

#include <gtest/gtest.h>

#include "support/test_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <utility>

namespace test_explain_ml100k {
namespace {

TEST(ExplainMl100k, JustificationsCiteTheUsersOwnRatedItems) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const gatrec::dataset ds = gatrec::load_movielens_100k(root / "ml-100k");
  const gatrec::split fold = gatrec::load_movielens_100k_fold(root / "ml-100k", "u1", ds);
  const gatrec::index_t nu = ds.num_users(), ni = ds.num_items();
  std::map<std::pair<gatrec::index_t, gatrec::index_t>, float> rating;
  for (std::size_t k = 0; k < fold.train.size(); ++k) rating[{fold.train.user[k], fold.train.item[k]}] = fold.train.rating[k];

  gatrec::gat_recommender_options g;
  g.encoder.in_dim = 32;
  g.encoder.layers = {{2, 16, true}, {2, 16, true}, {1, 16, true}};
  gatrec::gat_recommender<float> model(nu, ni, fold.train, {}, g);
  gatrec::trainer_options t;
  t.max_epochs = 4;
  t.optimizer.lr = 1e-2;
  t.loss.bpr_weight = 5;
  t.loss.cosine_weight = 2;
  gatrec::train(model, fold.train, {}, t);
  const auto& h = model.forward(gatrec::run_mode{});
  const gatrec::user_item_sets seen(nu, ni, fold.train);
  const gatrec::ranked_lists lists = gatrec::rank_embeddings(h, nu, seen, 5);
  const gatrec::item_catalogue catalogue(ds);

  int sentences = 0, cited = 0;
  for (gatrec::index_t u = 0; u < 30; ++u) {
    const auto user_rollout = gatrec::attention_rollout(model, model.graph().user_node(u));
    double sum = 0;
    for (const auto& w : user_rollout) sum += w.weight;
    EXPECT_NEAR(sum, 1.0, 1e-6);
    for (const gatrec::index_t i : lists.list(u)) {
      ASSERT_FALSE(seen.contains(u, i));
      const gatrec::evidence ev = gatrec::explain_recommendation(model, u, i, catalogue);
      EXPECT_NEAR(ev.score, h.row(u).cast<double>().dot(h.row(nu + i).cast<double>()), 1e-6 * std::abs(ev.score) + 1e-6);
      const std::string s = gatrec::template_justification(ev, catalogue);
      ++sentences;
      for (const auto& c : ev.items) {
        const auto r = rating.find({u, c.item});
        ASSERT_NE(r, rating.end()) << "user " << ds.users.raw(u) << " never rated item " << ds.items.raw(c.item);
        EXPECT_EQ(c.rating, r->second);
        EXPECT_GE(c.rating, 4.0f);
        EXPECT_NE(s.find(catalogue.at(c.item).title + " " + gatrec::detail::format_rating(c.rating) + "/5"),
                  std::string::npos)
            << s;
        ++cited;
      }
      for (const auto& v : ev.users) {
        const auto r = rating.find({v.user, i});
        ASSERT_NE(r, rating.end());
        EXPECT_EQ(v.rating, r->second);
      }
      if (!ev.items.empty()) {
        EXPECT_EQ(s.rfind("Recommended because you rated ", 0), 0u) << s;
      }
      EXPECT_TRUE(gatrec::validate_rephrasing(s, ev, catalogue).accepted)
          << s << ": " << gatrec::validate_rephrasing(s, ev, catalogue).reason;
      if (std::getenv("GATREC_TEST_VERBOSE") && i == lists.list(u)[0])
        std::cout << ds.users.raw(u) << " -> " << catalogue.at(i).title << ": " << s << "\n";
    }
  }
  EXPECT_EQ(sentences, 150);
  EXPECT_GT(cited, 200);  // nearly every user of u1.base has liked items to cite

  // The deletion test on a few real pairs: finite scores, cited and random items disjoint and rated.
  gatrec::edited_graph_scorer<float> scorer(model);
  std::vector<gatrec::pair_faithfulness> pairs;
  for (gatrec::index_t u = 0; u < 5; ++u) {
    const auto r = gatrec::measure_faithfulness(model, scorer, u, lists.list(u)[0]);
    ASSERT_TRUE(r.has_value());
    for (const auto i : r->cited) EXPECT_TRUE(seen.contains(u, i));
    for (const auto i : r->random) {
      EXPECT_TRUE(seen.contains(u, i));
      EXPECT_EQ(std::find(r->cited.begin(), r->cited.end(), i), r->cited.end());
    }
    EXPECT_TRUE(std::isfinite(r->cited_score) && std::isfinite(r->random_score));
    EXPECT_NE(r->cited_score, r->score);
    pairs.push_back(*r);
  }
  EXPECT_EQ(gatrec::summarize_faithfulness(pairs, 100).pairs, 5u);
}

}  // namespace

}  // namespace test_explain_ml100k
