#include <gatrec/core/parallel.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/eval/ranked_lists.hpp>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/eval/user_item_sets.hpp>
#include <gatrec/models/scorer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace test_eval_top_k {
namespace {

using gatrec::index_t;
using gatrec::matrix;
using gatrec::ranked_lists;
using gatrec::rating_table;
using gatrec::user_item_sets;

constexpr index_t none = ranked_lists::none;

std::vector<index_t> row_of(const ranked_lists& lists, index_t u) {
  return std::vector<index_t>(lists.row(u), lists.row(u) + lists.k);
}

// Restores the thread count a test changed.
struct thread_guard {
  int saved = gatrec::max_threads();
  ~thread_guard() { gatrec::set_num_threads(saved); }
};

// The oracle: score every candidate, sort all of them by (score desc, index asc), keep k.
ranked_lists naive_top_k(const matrix<float>& scores, int k, const user_item_sets& exclude) {
  ranked_lists out(static_cast<index_t>(scores.rows()), k);
  for (index_t u = 0; u < scores.rows(); ++u) {
    std::vector<index_t> cand;
    for (index_t i = 0; i < scores.cols(); ++i)
      if (exclude.num_users() == 0 || !exclude.contains(u, i)) cand.push_back(i);
    std::sort(cand.begin(), cand.end(), [&](index_t a, index_t b) {
      return scores(u, a) > scores(u, b) || (scores(u, a) == scores(u, b) && a < b);
    });
    for (std::size_t p = 0; p < cand.size() && p < static_cast<std::size_t>(k); ++p) out.row(u)[p] = cand[p];
  }
  return out;
}

user_item_sets random_mask(index_t users, index_t items, double density, std::uint64_t seed) {
  gatrec::rng r(seed);
  rating_table t;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i < items; ++i)
      if (r.uniform() < density) t.push_back(u, i, 1.0f);
  return user_item_sets(users, items, t);
}

TEST(UserItemSets, SortsDeduplicatesAndFiltersByRating) {
  rating_table t;
  t.push_back(1, 4, 5.0f);
  t.push_back(1, 2, 3.0f);
  t.push_back(0, 3, 4.0f);
  t.push_back(1, 4, 2.0f);  // duplicate pair: kept once
  t.push_back(1, 0, 4.0f);
  const user_item_sets all(3, 5, t);
  EXPECT_EQ(all.num_pairs(), 4);
  EXPECT_EQ(std::vector<index_t>(all.items_of(1).begin(), all.items_of(1).end()), (std::vector<index_t>{0, 2, 4}));
  EXPECT_EQ(all.count(0), 1);
  EXPECT_EQ(all.count(2), 0);
  EXPECT_TRUE(all.contains(1, 2));
  EXPECT_FALSE(all.contains(0, 2));
  const user_item_sets liked(3, 5, t, 4.0f);  // (1,4) is kept: one of its ratings is 5
  EXPECT_EQ(std::vector<index_t>(liked.items_of(1).begin(), liked.items_of(1).end()), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(all.item_counts(), (std::vector<index_t>{1, 0, 1, 1, 1}));
  t.push_back(3, 0, 1.0f);
  EXPECT_THROW(user_item_sets(3, 5, t), gatrec::logic_error);
}

// content_id names the content: a copy (or a moved-to object) keeps it, every construction gets a
// new one, even from the same ratings, and the empty default has 0.
TEST(UserItemSets, ContentIdFollowsTheContent) {
  rating_table t;
  t.push_back(0, 1, 4.0f);
  const user_item_sets a(2, 3, t), b(2, 3, t);
  EXPECT_NE(a.content_id(), 0u);
  EXPECT_NE(a.content_id(), b.content_id());
  user_item_sets copy = a;
  EXPECT_EQ(copy.content_id(), a.content_id());
  const user_item_sets moved = std::move(copy);
  EXPECT_EQ(moved.content_id(), a.content_id());
  user_item_sets assigned;
  EXPECT_EQ(assigned.content_id(), 0u);
  assigned = b;
  EXPECT_EQ(assigned.content_id(), b.content_id());
}

TEST(TopK, TiesGoToTheLowerItemIndex) {
  matrix<float> s(1, 5);
  s << 1, 3, 3, 2, 3;
  // Items 1, 2, 4 tie at 3 and come in index order; item 3 (score 2) is fourth.
  EXPECT_EQ(row_of(gatrec::top_k_from_scores(s, 3), 0), (std::vector<index_t>{1, 2, 4}));
  EXPECT_EQ(row_of(gatrec::top_k_from_scores(s, 4), 0), (std::vector<index_t>{1, 2, 4, 3}));
  // All equal: plain index order.
  matrix<float> flat = matrix<float>::Constant(1, 4, 0.5f);
  EXPECT_EQ(row_of(gatrec::top_k_from_scores(flat, 4), 0), (std::vector<index_t>{0, 1, 2, 3}));
}

TEST(TopK, MasksTrainingItemsAndPadsShortLists) {
  matrix<float> s(3, 4);
  s << 4, 3, 2, 1,   //
      1, 2, 3, 4,    //
      0, 0, 9, 0;
  rating_table train;
  train.push_back(0, 0, 5.0f);  // user 0's best item is a training item
  train.push_back(1, 3, 1.0f);
  train.push_back(1, 1, 1.0f);
  train.push_back(1, 0, 1.0f);  // user 1 keeps a single candidate
  const user_item_sets mask(3, 4, train);
  const ranked_lists r = gatrec::top_k_from_scores(s, 3, mask);
  EXPECT_EQ(row_of(r, 0), (std::vector<index_t>{1, 2, 3}));
  EXPECT_EQ(row_of(r, 1), (std::vector<index_t>{2, none, none}));
  EXPECT_EQ(row_of(r, 2), (std::vector<index_t>{2, 0, 1}));  // user 2: no mask, ties 0,1,3 by index
  EXPECT_EQ(r.length(1), 1);
  EXPECT_EQ(r.list(1).size(), 1);
  r.validate(4);
}

TEST(TopK, KLargerThanTheCatalogue) {
  matrix<float> s(2, 3);
  s << 0.1f, 0.3f, 0.2f,  //
      -1, -1, -2;
  const ranked_lists r = gatrec::top_k_from_scores(s, 10);
  EXPECT_EQ(r.k, 10);
  EXPECT_EQ(row_of(r, 0), (std::vector<index_t>{1, 2, 0, none, none, none, none, none, none, none}));
  EXPECT_EQ(r.length(1), 3);
  EXPECT_EQ(r.list(1)[2], 2);
}

TEST(TopK, DotProductByHand) {
  matrix<float> users(3, 2), items(4, 2);
  users << 1, 0,  //
      0, 1,       //
      1, 1;
  items << 1, 0,  //
      0, 2,       //
      2, 1,       //
      1, 1;
  // Scores: u0 = [1, 0, 2, 1], u1 = [0, 2, 1, 1], u2 = [1, 2, 3, 2].
  const ranked_lists r = gatrec::top_k(users, items, 4);
  EXPECT_EQ(row_of(r, 0), (std::vector<index_t>{2, 0, 3, 1}));
  EXPECT_EQ(row_of(r, 1), (std::vector<index_t>{1, 2, 3, 0}));
  EXPECT_EQ(row_of(r, 2), (std::vector<index_t>{2, 1, 3, 0}));
  const matrix<float> s = gatrec::dot_scores(users, items);
  EXPECT_EQ(s(2, 2), 3.0f);
  EXPECT_EQ(s(1, 0), 0.0f);
}

TEST(TopK, EmptyInputsAndBadArguments) {
  const matrix<float> none_users(0, 4), items(5, 4), users(3, 4);
  EXPECT_EQ(gatrec::top_k(none_users, items, 3).num_users, 0);
  const ranked_lists empty_catalogue = gatrec::top_k(users, matrix<float>(0, 4), 2);
  EXPECT_EQ(empty_catalogue.length(2), 0);
  EXPECT_THROW(gatrec::top_k(users, items, 0), gatrec::logic_error);
  EXPECT_THROW(gatrec::top_k(users, matrix<float>(5, 3), 2), gatrec::logic_error);
  EXPECT_THROW(gatrec::top_k(users, items, 2, random_mask(4, 5, 0.5, 1)), gatrec::logic_error);
  EXPECT_THROW(gatrec::top_k(users, items, 2, random_mask(3, 6, 0.5, 1)), gatrec::logic_error);
  gatrec::top_k_options bad;
  bad.block_users = 0;
  EXPECT_THROW(gatrec::top_k(users, items, 2, user_item_sets(), bad), gatrec::logic_error);
}

TEST(TopK, NaNScoreIsAnErrorEvenInsideParallelBlocks) {
  thread_guard guard;
  gatrec::set_num_threads(2);
  matrix<float> s = matrix<float>::Random(200, 7);
  s(150, 3) = std::numeric_limits<float>::quiet_NaN();
  gatrec::top_k_options small;
  small.block_users = 32;
  try {
    gatrec::top_k_from_scores(s, 3, user_item_sets(), small);
    FAIL() << "no exception";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("user 150"), std::string::npos) << e.what();
  }
  // A NaN on a masked item is never looked at.
  rating_table t;
  t.push_back(150, 3, 1.0f);
  EXPECT_NO_THROW(gatrec::top_k_from_scores(s, 3, user_item_sets(200, 7, t), small));
}

// Integer embeddings make every dot product exact in float whatever the summation order, and give
// many ties: the blocked, threaded lists must equal a full sort exactly.
TEST(TopK, MatchesNaiveFullSortOnIntegerEmbeddingsWithTies) {
  thread_guard guard;
  gatrec::rng r(11);
  const index_t nu = 300, ni = 157, d = 5;
  matrix<float> users(nu, d), items(ni, d);
  for (Eigen::Index e = 0; e < users.size(); ++e) users.data()[e] = static_cast<float>(static_cast<int>(r.below(5)) - 2);
  for (Eigen::Index e = 0; e < items.size(); ++e) items.data()[e] = static_cast<float>(static_cast<int>(r.below(5)) - 2);
  const user_item_sets mask = random_mask(nu, ni, 0.3, 5);
  matrix<float> exact(nu, ni);
  for (index_t u = 0; u < nu; ++u)
    for (index_t i = 0; i < ni; ++i)
      exact(u, i) = static_cast<float>(users.row(u).cast<double>().dot(items.row(i).cast<double>()));
  for (int k : {1, 20, 157, 200}) {
    const ranked_lists expected = naive_top_k(exact, k, mask);
    for (int threads : {1, 2, 3}) {
      gatrec::set_num_threads(threads);
      for (index_t block : {1, 7, 32, 100, 256, 1000}) {
        gatrec::top_k_options o;
        o.block_users = block;
        EXPECT_EQ(gatrec::top_k(users, items, k, mask, o).items, expected.items)
            << "k " << k << " threads " << threads << " block " << block;
        EXPECT_EQ(gatrec::top_k_from_scores(exact, k, mask, o).items, expected.items);
      }
    }
  }
}

// Real-valued embeddings: the lists must not depend on the block size or the thread count, bit for
// bit, and must equal a full sort of the scores top_k ranks by (dot_scores).
TEST(TopK, BlockSizeAndThreadCountNeverChangeTheLists) {
  thread_guard guard;
  gatrec::rng r(3);
  const index_t nu = 413, ni = 389, d = 64;
  matrix<float> users(nu, d), items(ni, d);
  for (Eigen::Index e = 0; e < users.size(); ++e) users.data()[e] = static_cast<float>(r.normal());
  for (Eigen::Index e = 0; e < items.size(); ++e) items.data()[e] = static_cast<float>(r.normal());
  // Near-duplicate items: odd item = even item nudged by a few ulps, so their scores differ only in
  // the last bits and any change of rounding between configurations would swap them.
  for (index_t i = 1; i < ni; i += 2)
    for (index_t c = 0; c < d; ++c) items(i, c) = items(i - 1, c) * (1.0f + 0x1p-21f * static_cast<float>(r.below(5)));
  const user_item_sets mask = random_mask(nu, ni, 0.05, 9);

  gatrec::set_num_threads(1);
  const matrix<float> scores = gatrec::dot_scores(users, items);
  // The tiles must agree with an ordinary product to rounding.
  const matrix<double> reference = users.cast<double>() * items.cast<double>().transpose();
  EXPECT_LT((scores.cast<double>() - reference).cwiseAbs().maxCoeff(), 1e-4);
  EXPECT_GT(scores.cwiseAbs().maxCoeff(), 1.0f);
  const ranked_lists expected = naive_top_k(scores, 50, mask);

  for (int threads : {1, 2, 4}) {
    gatrec::set_num_threads(threads);
    EXPECT_EQ(gatrec::dot_scores(users, items), scores) << "threads " << threads;
    for (index_t block : {1, 32, 33, 64, 256, 500}) {
      gatrec::top_k_options o;
      o.block_users = block;
      const ranked_lists got = gatrec::top_k(users, items, 50, mask, o);
      EXPECT_EQ(got.items, expected.items) << "threads " << threads << " block " << block;
    }
  }
  expected.validate(ni);
  for (index_t u = 0; u < nu; ++u)
    for (index_t i : expected.list(u)) ASSERT_FALSE(mask.contains(u, i));
}

TEST(TopK, ScorerCallbackSeesDisjointBlocksAndGivesTheSameLists) {
  thread_guard guard;
  gatrec::set_num_threads(2);
  gatrec::rng r(4);
  const index_t nu = 150, ni = 40;
  matrix<float> scores(nu, ni);
  for (Eigen::Index e = 0; e < scores.size(); ++e) scores.data()[e] = static_cast<float>(r.below(7));
  const user_item_sets mask = random_mask(nu, ni, 0.2, 2);
  std::vector<int> visits(static_cast<std::size_t>(nu), 0);
  gatrec::top_k_options o;
  o.block_users = 40;  // rounded up to 64
  const ranked_lists got = gatrec::top_k_from_scorer(
      nu, ni, 10,
      [&](index_t first, index_t count, matrix<float>& block) {
        EXPECT_EQ(first % 64, 0);
        EXPECT_EQ(block.rows(), count);
        EXPECT_EQ(block.cols(), ni);
        block = scores.middleRows(first, count);
        for (index_t u = first; u < first + count; ++u) ++visits[static_cast<std::size_t>(u)];
      },
      mask, o);
  EXPECT_EQ(got.items, naive_top_k(scores, 10, mask).items);
  for (int v : visits) EXPECT_EQ(v, 1);

  EXPECT_THROW(gatrec::top_k_from_scorer(nu, ni, 5, [](index_t, index_t, matrix<float>& b) { b.resize(1, 1); }),
               gatrec::logic_error);
  // Blocks 1.. fail; the exception crosses the parallel loop and reaches the caller.
  EXPECT_THROW(gatrec::top_k_from_scorer(
                   nu, ni, 5,
                   [](index_t first, index_t, matrix<float>& b) {
                     if (first > 0) throw gatrec::io_error("scorer failed");
                     b.setZero();
                   },
                   user_item_sets(), o),
               gatrec::io_error);
}

TEST(TopK, AcceptsAnyScorerModel) {
  matrix<float> users(3, 2), items(4, 2);
  users << 1, 0, 0, 1, 1, 1;
  items << 1, 0, 0, 2, 2, 1, 1, 1;
  const gatrec::dot_product_scorer model(users, items);
  EXPECT_EQ(gatrec::top_k(model, 3).items, gatrec::top_k(users, items, 3).items);
}

TEST(RankedLists, ValidateCatchesBrokenInvariants) {
  ranked_lists r(2, 3);
  r.row(0)[0] = 1;
  r.row(0)[1] = 2;
  EXPECT_NO_THROW(r.validate(3));
  EXPECT_THROW(r.validate(2), gatrec::logic_error);  // item 2 out of range
  r.row(1)[1] = 0;                                    // item after a gap
  EXPECT_THROW(r.validate(3), gatrec::logic_error);
  r.row(1)[0] = 0;                                    // repeated item
  EXPECT_THROW(r.validate(3), gatrec::logic_error);
  EXPECT_EQ(r.list(0).first(1).size(), 1);
  EXPECT_EQ(r.list(0).first(9).size(), 2);
}

}  // namespace

}  // namespace test_eval_top_k
