// Per-user random splits, leave-last-out and the validation hold-out.

#include <gatrec/core/random.hpp>
#include <gatrec/data/split.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

namespace test_split {
namespace {

using namespace gatrec;

using row = std::tuple<index_t, index_t, float, std::int64_t>;

std::vector<row> rows_of(const rating_table& t) {
  std::vector<row> out;
  for (std::size_t k = 0; k < t.size(); ++k) out.emplace_back(t.user[k], t.item[k], t.rating[k], t.timestamp[k]);
  return out;
}

/// Users with 1..60 ratings (user 0 has none), item k of a user unique, times with ties.
rating_table make_table(index_t num_users, std::uint64_t seed) {
  rng gen(seed);
  rating_table t;
  std::vector<std::pair<index_t, int>> order;
  for (index_t u = 1; u < num_users; ++u) {
    const int n = u == 1 ? 1 : u == 2 ? 2 : 1 + static_cast<int>(gen.below(60));
    for (int k = 0; k < n; ++k) order.emplace_back(u, k);
  }
  // Interleave users, as real files do.
  for (std::size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[gen.below(k)]);
  for (const auto& [u, k] : order)
    t.push_back(u, k, static_cast<float>(1 + gen.below(5)), static_cast<std::int64_t>(1000 + gen.below(40)));
  return t;
}

/// The parts, concatenated and sorted, equal the input sorted: nothing lost, nothing duplicated.
void expect_partition(const rating_table& all, const std::vector<const rating_table*>& parts) {
  std::vector<row> expected = rows_of(all), got;
  for (const auto* p : parts) {
    const auto r = rows_of(*p);
    got.insert(got.end(), r.begin(), r.end());
  }
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

std::vector<std::size_t> per_user_counts(const rating_table& t, index_t num_users) {
  std::vector<std::size_t> c(static_cast<std::size_t>(num_users), 0);
  for (const index_t u : t.user) ++c[static_cast<std::size_t>(u)];
  return c;
}

/// Each part keeps the input's relative order.
void expect_input_order(const rating_table& all, const rating_table& part) {
  std::map<row, std::size_t> position;
  const auto a = rows_of(all);
  for (std::size_t k = 0; k < a.size(); ++k) position[a[k]] = k;  // rows are unique in make_table
  const auto p = rows_of(part);
  for (std::size_t k = 1; k < p.size(); ++k) ASSERT_LT(position[p[k - 1]], position[p[k]]);
}

TEST(GroupByUser, CsrInTableOrder) {
  rating_table t;
  t.push_back(2, 0, 1);
  t.push_back(0, 1, 1);
  t.push_back(2, 2, 1);
  const ratings_by_user g = group_by_user(t, 4);
  EXPECT_EQ(g.offsets, (std::vector<std::size_t>{0, 1, 1, 3, 3}));
  EXPECT_EQ(g.positions, (std::vector<std::size_t>{1, 0, 2}));
  EXPECT_EQ(g.count(2), 2u);
  EXPECT_EQ(g.num_users(), 4);
  EXPECT_THROW(group_by_user(t, 2), logic_error);
}

TEST(PerUserRandomSplit, PartitionFractionsAndDeterminism) {
  const index_t users = 200;
  const rating_table t = make_table(users, 7);
  const split s = per_user_random_split(t, users, 0.7, 0.1, 42);
  expect_partition(t, {&s.train, &s.validation, &s.test});
  expect_input_order(t, s.train);
  expect_input_order(t, s.test);

  const auto all = per_user_counts(t, users), tr = per_user_counts(s.train, users),
             va = per_user_counts(s.validation, users), te = per_user_counts(s.test, users);
  for (index_t u = 0; u < users; ++u) {
    const std::size_t n = all[static_cast<std::size_t>(u)];
    if (n == 0) continue;
    const auto k = static_cast<std::size_t>(u);
    EXPECT_GE(tr[k], 1u) << "user " << u;
    EXPECT_EQ(tr[k], std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(0.7 * n)))) << "user " << u;
    EXPECT_LE(std::abs(static_cast<double>(va[k]) - 0.1 * n), 1.0) << "user " << u;
    EXPECT_EQ(tr[k] + va[k] + te[k], n);
  }
  EXPECT_EQ(tr[1], 1u);  // a single rating stays in train
  EXPECT_EQ(va[1] + te[1], 0u);

  const split again = per_user_random_split(t, users, 0.7, 0.1, 42);
  EXPECT_EQ(rows_of(again.train), rows_of(s.train));
  EXPECT_EQ(rows_of(again.validation), rows_of(s.validation));
  EXPECT_EQ(rows_of(again.test), rows_of(s.test));
  const split other = per_user_random_split(t, users, 0.7, 0.1, 43);
  EXPECT_NE(rows_of(other.test), rows_of(s.test));
}

TEST(PerUserRandomSplit, UserSplitDoesNotDependOnOtherUsers) {
  const index_t users = 50;
  const rating_table t = make_table(users, 9);
  rating_table without_user_5;
  for (std::size_t k = 0; k < t.size(); ++k)
    if (t.user[k] != 5) without_user_5.push_back(t.user[k], t.item[k], t.rating[k], t.timestamp[k]);
  const split a = per_user_random_split(t, users, 0.8, 0.0, 3);
  const split b = per_user_random_split(without_user_5, users, 0.8, 0.0, 3);
  auto of_user = [](const rating_table& r, index_t u) {
    std::vector<row> out;
    for (const auto& x : rows_of(r))
      if (std::get<0>(x) == u) out.push_back(x);
    return out;
  };
  EXPECT_EQ(of_user(a.test, 9), of_user(b.test, 9));
}

TEST(PerUserRandomSplit, Arguments) {
  const rating_table t = make_table(5, 1);
  EXPECT_THROW(per_user_random_split(t, 5, 0.0, 0.1, 1), logic_error);
  EXPECT_THROW(per_user_random_split(t, 5, 0.8, 0.3, 1), logic_error);
  EXPECT_THROW(per_user_random_split(t, 5, 1.1, 0.0, 1), logic_error);
  EXPECT_THROW(per_user_random_split(t, 3, 0.8, 0.1, 1), logic_error);  // user index 4 out of range
  const split all_train = per_user_random_split(t, 5, 1.0, 0.0, 1);
  EXPECT_EQ(all_train.train.size(), t.size());
  const split empty = per_user_random_split(rating_table{}, 0, 0.5, 0.5, 1);
  EXPECT_TRUE(empty.train.empty() && empty.test.empty());
}

TEST(LeaveLastOut, TakesTheLatestRatings) {
  const index_t users = 120;
  const rating_table t = make_table(users, 11);
  const split s = leave_last_out(t, users, 1, 2);
  expect_partition(t, {&s.train, &s.validation, &s.test});
  expect_input_order(t, s.train);
  const auto all = per_user_counts(t, users), va = per_user_counts(s.validation, users),
             te = per_user_counts(s.test, users);
  for (index_t u = 0; u < users; ++u) {
    const auto k = static_cast<std::size_t>(u);
    if (all[k] <= 3) {
      EXPECT_EQ(va[k] + te[k], 0u) << "user " << u << " has too few ratings: all in train";
      continue;
    }
    EXPECT_EQ(va[k], 1u);
    EXPECT_EQ(te[k], 2u);
  }
  // Per user: every train time <= every validation time <= every test time.
  std::vector<std::int64_t> max_train(users, INT64_MIN), min_val(users, INT64_MAX), max_val(users, INT64_MIN),
      min_test(users, INT64_MAX);
  for (std::size_t k = 0; k < s.train.size(); ++k)
    max_train[s.train.user[k]] = std::max(max_train[s.train.user[k]], s.train.timestamp[k]);
  for (std::size_t k = 0; k < s.validation.size(); ++k) {
    min_val[s.validation.user[k]] = std::min(min_val[s.validation.user[k]], s.validation.timestamp[k]);
    max_val[s.validation.user[k]] = std::max(max_val[s.validation.user[k]], s.validation.timestamp[k]);
  }
  for (std::size_t k = 0; k < s.test.size(); ++k)
    min_test[s.test.user[k]] = std::min(min_test[s.test.user[k]], s.test.timestamp[k]);
  for (index_t u = 0; u < users; ++u) {
    if (min_val[u] == INT64_MAX) continue;
    EXPECT_LE(max_train[u], min_val[u]) << "user " << u;
    EXPECT_LE(max_val[u], min_test[u]) << "user " << u;
  }
}

TEST(LeaveLastOut, TiesGoByInputOrder) {
  rating_table t;
  t.push_back(0, 0, 5, 100);
  t.push_back(0, 1, 5, 300);  // ties with the next two: the last row in the table counts as latest
  t.push_back(0, 2, 5, 300);
  t.push_back(0, 3, 5, 300);
  t.push_back(0, 4, 5, 200);
  const split s = leave_last_out(t, 1, 1, 1);
  ASSERT_EQ(s.test.size(), 1u);
  EXPECT_EQ(s.test.item[0], 3);
  ASSERT_EQ(s.validation.size(), 1u);
  EXPECT_EQ(s.validation.item[0], 2);
  EXPECT_EQ(s.train.item, (std::vector<index_t>{0, 1, 4}));
  EXPECT_THROW(leave_last_out(t, 1, -1, 1), logic_error);
  const split none = leave_last_out(t, 1, 0, 0);
  EXPECT_EQ(none.train.size(), 5u);
}

TEST(CarveValidation, HoldsOutAFractionPerUser) {
  const index_t users = 150;
  const rating_table t = make_table(users, 13);
  const auto [train, validation] = carve_validation(t, users, 0.2, 5);
  expect_partition(t, {&train, &validation});
  expect_input_order(t, train);
  expect_input_order(t, validation);
  const auto all = per_user_counts(t, users), tr = per_user_counts(train, users),
             va = per_user_counts(validation, users);
  for (index_t u = 0; u < users; ++u) {
    const auto k = static_cast<std::size_t>(u);
    if (all[k] == 0) continue;
    EXPECT_GE(tr[k], 1u);
    EXPECT_EQ(va[k], std::min(all[k] - 1, static_cast<std::size_t>(std::llround(0.2 * all[k])))) << "user " << u;
  }
  const auto [train2, validation2] = carve_validation(t, users, 0.2, 5);
  EXPECT_EQ(rows_of(validation2), rows_of(validation));
  EXPECT_EQ(rows_of(train2), rows_of(train));
  const auto [same, none] = carve_validation(t, users, 0.0, 5);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(same.size(), t.size());
  EXPECT_THROW(carve_validation(t, users, 1.0, 5), logic_error);
  EXPECT_THROW(carve_validation(t, users, -0.1, 5), logic_error);
}

TEST(CarveValidation, AShareOfUsersGiveFoldShapedHoldOuts) {
  const index_t users = 400;
  const rating_table t = make_table(users, 17);
  const auto [train, validation] = carve_validation(t, users, 0.4, 9, 0.5);
  expect_partition(t, {&train, &validation});
  const auto all = per_user_counts(t, users), va = per_user_counts(validation, users);
  // The users that hold out: exactly those the full-share carve would draw, with the same ratings.
  const auto [train_all, validation_all] = carve_validation(t, users, 0.4, 9);
  const auto va_all = per_user_counts(validation_all, users);
  std::size_t chosen = 0, eligible = 0;
  for (index_t u = 0; u < users; ++u) {
    const auto k = static_cast<std::size_t>(u);
    if (va_all[k] == 0) continue;
    ++eligible;
    if (va[k] == 0) continue;
    ++chosen;
    EXPECT_EQ(va[k], va_all[k]) << "user " << u;
  }
  // About half of the eligible users, and not all or none: a binomial(eligible, 0.5) draw.
  EXPECT_GT(chosen, eligible * 35 / 100);
  EXPECT_LT(chosen, eligible * 65 / 100);
  auto held = rows_of(validation), held_all = rows_of(validation_all);
  std::sort(held.begin(), held.end());
  std::sort(held_all.begin(), held_all.end());
  EXPECT_TRUE(std::includes(held_all.begin(), held_all.end(), held.begin(), held.end()));
  // Same seed, same hold-out; the user share is checked.
  const auto [train2, validation2] = carve_validation(t, users, 0.4, 9, 0.5);
  EXPECT_EQ(rows_of(validation2), rows_of(validation));
  EXPECT_THROW(carve_validation(t, users, 0.4, 9, 0.0), logic_error);
  EXPECT_THROW(carve_validation(t, users, 0.4, 9, 1.5), logic_error);
}

}  // namespace

}  // namespace test_split
