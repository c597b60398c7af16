// Most popular: counts of training ratings (all, or at or above a threshold), the same row for every
// user, and ties resolved by top_k's lower-item rule.

#include <gatrec/baselines/most_popular.hpp>
#include <gatrec/eval/top_k.hpp>

#include <gtest/gtest.h>

namespace test_baselines_most_popular {
namespace {

using gatrec::index_t;

// 3 users, 5 items. All ratings: item counts (2, 3, 1, 3, 0); ratings >= 4: (1, 2, 1, 2, 0).
gatrec::rating_table ratings() {
  gatrec::rating_table t;
  t.push_back(0, 0, 5.0f);
  t.push_back(0, 1, 2.0f);
  t.push_back(0, 3, 4.0f);
  t.push_back(1, 0, 3.0f);
  t.push_back(1, 1, 4.0f);
  t.push_back(1, 3, 5.0f);
  t.push_back(2, 1, 5.0f);
  t.push_back(2, 2, 4.0f);
  t.push_back(2, 3, 1.0f);
  return t;
}

TEST(MostPopular, CountsTrainingRatings) {
  const gatrec::most_popular_scorer all(3, 5, ratings());
  EXPECT_EQ(all.num_users(), 3);
  EXPECT_EQ(all.num_items(), 5);
  EXPECT_EQ(all.counts(), (gatrec::vector<float>(5) << 2, 3, 1, 3, 0).finished());
  const gatrec::most_popular_scorer liked(3, 5, ratings(), 4.0f);
  EXPECT_EQ(liked.counts(), (gatrec::vector<float>(5) << 1, 2, 1, 2, 0).finished());
  gatrec::rating_table twice = ratings();
  twice.push_back(2, 2, 5.0f);  // a second rating of the same pair is a second rating
  EXPECT_EQ(gatrec::most_popular_scorer(3, 5, twice).counts()(2), 2.0f);
}

TEST(MostPopular, EveryUserGetsTheCounts) {
  const gatrec::most_popular_scorer all(3, 5, ratings());
  gatrec::matrix<float> s(2, 5);
  all.score_block(1, 2, s);
  for (index_t r = 0; r < 2; ++r) EXPECT_EQ(s.row(r), all.counts().transpose());
  EXPECT_THROW(all.score_block(2, 2, s), gatrec::logic_error);
}

TEST(MostPopular, TiesGoToTheLowerItem) {
  const gatrec::most_popular_scorer all(3, 5, ratings());
  // Without a mask every list is 1, 3 (tied at 3: lower index first), 0, 2, 4.
  const gatrec::ranked_lists lists = gatrec::top_k(all, 5);
  for (index_t u = 0; u < 3; ++u)
    EXPECT_EQ(std::vector<index_t>(lists.list(u).begin(), lists.list(u).end()), (std::vector<index_t>{1, 3, 0, 2, 4}));
  // With training items masked, user 2 (rated 1, 2, 3) gets 0 then 4.
  const gatrec::user_item_sets train(3, 5, ratings());
  const gatrec::ranked_lists masked = gatrec::top_k(all, 5, train);
  EXPECT_EQ(std::vector<index_t>(masked.list(2).begin(), masked.list(2).end()), (std::vector<index_t>{0, 4}));
}

TEST(MostPopular, RejectsOutOfRangeRatings) {
  gatrec::rating_table t = ratings();
  t.push_back(3, 0, 5.0f);
  EXPECT_THROW(gatrec::most_popular_scorer(3, 5, t), gatrec::logic_error);
  EXPECT_THROW(gatrec::most_popular_scorer(3, 3, ratings()), gatrec::logic_error);  // item 3 out of range
}

}  // namespace

}  // namespace test_baselines_most_popular
