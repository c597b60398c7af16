// Acceptance test of the rated-only protocol: the paper authors' own top-50 lists on ML-100K u1
// must give the figures of ../shared/data/paper-outputs/ml-100k-u1/README.md to 4 decimals. Also
// measures the most-popular ranker under both protocols (PAPER.md: P@10 = 0.692 rated-only).

#include <gatrec/core/random.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/eval/full_ranking.hpp>
#include <gatrec/eval/paper_protocol.hpp>
#include <gatrec/eval/recommendation_io.hpp>
#include <gatrec/eval/top_k.hpp>

#include <gtest/gtest.h>

#include "support/test_data.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace test_paper_protocol {
namespace {

using gatrec::index_t;

struct u1_data {
  gatrec::dataset ds;
  gatrec::split fold;
  gatrec::user_item_sets train;
};

// Loaded once for the whole executable.
const u1_data& u1(const std::filesystem::path& root) {
  static const u1_data data = [&] {
    u1_data d;
    d.ds = gatrec::load_movielens_100k(root / "ml-100k");
    d.fold = gatrec::load_movielens_100k_fold(root / "ml-100k", "u1", d.ds);
    d.train = gatrec::user_item_sets(d.ds.num_users(), d.ds.num_items(), d.fold.train);
    return d;
  }();
  return data;
}

// "Reproduces to 4 decimals": the value rounds to the published figure.
void expect_4_decimals(double value, double published, const std::string& what) {
  EXPECT_EQ(std::lround(value * 1e4), std::lround(published * 1e4)) << what << ": got " << value;
}

struct published_row {
  const char* file;
  int k;
  double precision, recall, ndcg, map;
};

// ../shared/data/paper-outputs/ml-100k-u1/README.md
const published_row published[] = {
    {"paper_unified_top50.csv", 10, 0.7714, 0.2173, 0.5295, 0.2169},
    {"paper_unified_top50.csv", 20, 0.7464, 0.3259, 0.5331, 0.2987},
    {"gat_random_init_top50.csv", 10, 0.7508, 0.1489, 0.4424, 0.1614},
    {"gat_random_init_top50.csv", 20, 0.7297, 0.2408, 0.4458, 0.2295},
    {"lightgcn_top50.csv", 10, 0.6918, 0.1530, 0.4192, 0.1566},
    {"lightgcn_top50.csv", 20, 0.6879, 0.2432, 0.4288, 0.2152},
};

TEST(PaperProtocol, ReproducesThePublishedTableOfThePaperOutputs) {
  GATREC_REQUIRE_DATA(root, "paper-outputs/ml-100k-u1/paper_unified_top50.csv");
  if (!gatrec::test::shared_data("ml-100k/u1.test")) GTEST_SKIP() << "shared data lacks ml-100k/u1.test";
  const u1_data& d = u1(root);
  ASSERT_EQ(d.fold.test.size(), 20000u);
  for (const char* file : {"paper_unified_top50.csv", "gat_random_init_top50.csv", "lightgcn_top50.csv"}) {
    const gatrec::ranked_lists lists =
        gatrec::read_recommendations_csv(root / "paper-outputs/ml-100k-u1" / file, d.ds.users, d.ds.items);
    EXPECT_EQ(lists.k, 50);
    EXPECT_NO_THROW(lists.validate(d.ds.num_items()));
    for (index_t u = 0; u < lists.num_users; ++u)  // "training items excluded", as the README says
      for (index_t i : lists.list(u)) ASSERT_FALSE(d.train.contains(u, i)) << file;

    const gatrec::metric_table m = gatrec::evaluate_rated_only(lists, d.fold.test);
    EXPECT_EQ(m.num_users, 459);
    std::printf("%s\n%s", file, m.to_string(6).c_str());
    for (const published_row& row : published) {
      if (std::string(row.file) != file) continue;
      const std::string at = "@" + std::to_string(row.k);
      expect_4_decimals(m.at("precision" + at), row.precision, std::string(file) + " precision" + at);
      expect_4_decimals(m.at("recall" + at), row.recall, std::string(file) + " recall" + at);
      expect_4_decimals(m.at("ndcg" + at), row.ndcg, std::string(file) + " ndcg" + at);
      expect_4_decimals(m.at("map" + at), row.map, std::string(file) + " map" + at);
      EXPECT_EQ(m.entry("recall" + at).users, 456);  // users with a test rating >= 4
    }

    // Recall is the same under full ranking: the filter never removes a hit.
    const gatrec::metric_table full = gatrec::evaluate_full_ranking(lists, d.fold.test, d.train);
    EXPECT_NEAR(full.at("recall@10"), m.at("recall@10"), 1e-12) << file;
    EXPECT_NEAR(full.at("recall@20"), m.at("recall@20"), 1e-12) << file;
    EXPECT_LT(full.at("precision@10"), m.at("precision@10")) << file;
  }
}

TEST(PaperProtocol, ColdStartSubsetOfU1HasSixUsers) {
  GATREC_REQUIRE_DATA(root, "paper-outputs/ml-100k-u1/paper_unified_top50.csv");
  if (!gatrec::test::shared_data("ml-100k/u1.test")) GTEST_SKIP() << "shared data lacks ml-100k/u1.test";
  const u1_data& d = u1(root);
  const std::vector<index_t> cold = gatrec::cold_start_users(d.fold.train, d.ds.num_users());
  std::vector<gatrec::raw_id_t> raw;
  for (index_t u : cold) raw.push_back(d.ds.users.raw(u));
  EXPECT_EQ(raw, (std::vector<gatrec::raw_id_t>{36, 93, 172, 228, 258, 310}));
  const gatrec::ranked_lists lists = gatrec::read_recommendations_csv(
      root / "paper-outputs/ml-100k-u1/paper_unified_top50.csv", d.ds.users, d.ds.items);
  const gatrec::metric_table m = gatrec::evaluate_rated_only(lists, d.fold.test, cold);
  std::printf("paper_unified_top50.csv, cold-start users\n%s", m.to_string(6).c_str());
  EXPECT_EQ(m.num_users, 6);
  EXPECT_EQ(m.entry("recall@10").users, 6);
  // Computed independently from the same files with a separate script: P@10 = 17/30 over 5 users.
  EXPECT_NEAR(m.at("precision@10"), 17.0 / 30, 1e-12);
  expect_4_decimals(m.at("recall@10"), 0.1835, "cold recall@10");
  expect_4_decimals(m.at("ndcg@10"), 0.3352, "cold ndcg@10");
  expect_4_decimals(m.at("map@10"), 0.2711, "cold map@10");
}

// The non-personalised baseline: items ordered by training popularity, training items masked.
// Expressed as embeddings (users = 1, items = popularity), so it goes through the production top_k.
gatrec::ranked_lists most_popular(const u1_data& d, bool liked_only) {
  gatrec::matrix<float> users = gatrec::matrix<float>::Ones(d.ds.num_users(), 1);
  gatrec::matrix<float> items = gatrec::matrix<float>::Zero(d.ds.num_items(), 1);
  for (std::size_t r = 0; r < d.fold.train.size(); ++r)
    if (!liked_only || d.fold.train.rating[r] >= 4.0f) items(d.fold.train.item[r], 0) += 1.0f;
  return gatrec::top_k(users, items, 50, d.train);
}

TEST(PaperProtocol, MostPopularRankerUnderBothProtocols) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.test");
  const u1_data& d = u1(root);
  // Movie ids 1..1682 are indices 0..1681 in u.item order, so ties go to the lower movie id.
  ASSERT_EQ(d.ds.items.raw(0), 1);
  ASSERT_EQ(d.ds.items.raw(1681), 1682);

  const gatrec::ranked_lists all = most_popular(d, false);
  const gatrec::metric_table rated_all = gatrec::evaluate_rated_only(all, d.fold.test);
  const gatrec::metric_table full_all = gatrec::evaluate_full_ranking(all, d.fold.test, d.train);
  std::printf("most popular (all training ratings), rated-only\n%s", rated_all.to_string(6).c_str());
  std::printf("most popular (all training ratings), full ranking\n%s", full_all.to_string(6).c_str());
  // PAPER.md: "most popular | 0.6919 | 0.1180 | 0.3746 | 0.1359".
  expect_4_decimals(rated_all.at("precision@10"), 0.6919, "rated-only precision@10");
  expect_4_decimals(rated_all.at("recall@10"), 0.1180, "rated-only recall@10");
  expect_4_decimals(rated_all.at("ndcg@10"), 0.3746, "rated-only ndcg@10");
  expect_4_decimals(rated_all.at("map@10"), 0.1359, "rated-only map@10");
  expect_4_decimals(full_all.at("precision@10"), 0.2136, "full precision@10");
  expect_4_decimals(full_all.at("ndcg@10"), 0.2451, "full ndcg@10");
  EXPECT_NEAR(full_all.at("recall@10"), rated_all.at("recall@10"), 1e-12);

  const gatrec::ranked_lists liked = most_popular(d, true);
  const gatrec::metric_table rated_liked = gatrec::evaluate_rated_only(liked, d.fold.test);
  const gatrec::metric_table full_liked = gatrec::evaluate_full_ranking(liked, d.fold.test, d.train);
  std::printf("most popular (training ratings >= 4), rated-only\n%s", rated_liked.to_string(6).c_str());
  std::printf("most popular (training ratings >= 4), full ranking\n%s", full_liked.to_string(6).c_str());
  expect_4_decimals(rated_liked.at("precision@10"), 0.7820, "liked rated-only precision@10");
  expect_4_decimals(full_liked.at("precision@10"), 0.2226, "liked full precision@10");
  EXPECT_NEAR(full_liked.at("recall@10"), rated_liked.at("recall@10"), 1e-12);

  // Written lists read back identically.
  const auto file = std::filesystem::temp_directory_path() /
                    ("gatrec_test_most_popular_u1_" + std::to_string(::getpid()) + ".csv");
  gatrec::write_recommendations_csv(file, all, d.ds.users, d.ds.items);
  const gatrec::ranked_lists back = gatrec::read_recommendations_csv(file, d.ds.users, d.ds.items);
  std::filesystem::remove(file);
  EXPECT_EQ(back.items, all.items);
}

// The calls shown in docs/protocols.md, verbatim inside the braces, on random embeddings.
TEST(PaperProtocol, DocumentedCallsRun) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.test");
  const gatrec::dataset& ds = u1(root).ds;
  const gatrec::split& fold = u1(root).fold;
  gatrec::rng r(5);
  gatrec::matrix<float> user_emb(ds.num_users(), 8), item_emb(ds.num_items(), 8);
  for (Eigen::Index e = 0; e < user_emb.size(); ++e) user_emb.data()[e] = static_cast<float>(r.normal());
  for (Eigen::Index e = 0; e < item_emb.size(); ++e) item_emb.data()[e] = static_cast<float>(r.normal());
  const gatrec::user_item_sets train(ds.num_users(), ds.num_items(), fold.train);
  {
    const gatrec::ranked_lists lists = gatrec::top_k(user_emb, item_emb, /*k=*/20, train);

    gatrec::full_ranking_options opt;
    opt.ks = {10, 20};
    opt.relevance_threshold = 4.0f;       // std::nullopt: every test item is relevant (implicit data)
    const gatrec::metric_table m = gatrec::evaluate_full_ranking(lists, fold.test, train, opt);
    double r20 = m.at("recall@20");
    EXPECT_GE(r20, 0.0);
    EXPECT_EQ(m.size(), 16u);
  }
  {
    const gatrec::ranked_lists lists = gatrec::top_k(user_emb, item_emb, /*k=*/50, train);
    gatrec::rated_only_options opt;      // ks = {10, 20}, relevance_threshold = 4
    const gatrec::metric_table m = gatrec::evaluate_rated_only(lists, fold.test, opt);   // ALL test ratings
    double p10 = m.at("precision@10");   // also "recall@10", "ndcg@10", "map@10"

    // The paper's cold-start table: users with fewer than 10 training ratings (6 users on u1).
    const std::vector<gatrec::index_t> cold = gatrec::cold_start_users(fold.train, ds.num_users(), 10);
    const gatrec::metric_table c = gatrec::evaluate_rated_only(lists, fold.test, cold, opt);
    // Random scores still reach the base rate of liked ratings under the rated-only protocol.
    std::printf("random embeddings: rated-only P@10 %.4f, cold-start users %d\n", p10, c.num_users);
    EXPECT_GT(p10, 0.4);
    EXPECT_EQ(c.num_users, 6);
  }
}

}  // namespace

}  // namespace test_paper_protocol
