#pragma once

/// @file
/// @brief Splitting a rating table per user: random fractions, leave-last-out by time, and a
/// validation hold-out carved from a training table.
///
/// Every split keeps the input order of the ratings inside each part, so a split is a pure
/// function of (table, arguments, seed). Randomness is drawn from one generator per user, seeded
/// from (seed, user), so a user's split does not change when other users are added or removed.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"

namespace gatrec {

/// A rating table grouped by user, CSR-style: user u's ratings are the table rows
/// `positions[offsets[u] .. offsets[u+1])`, in table order.
struct ratings_by_user {
  std::vector<std::size_t> offsets;    ///< (num_users + 1)
  std::vector<std::size_t> positions;  ///< (ratings) row numbers in the table

  index_t num_users() const { return offsets.empty() ? 0 : static_cast<index_t>(offsets.size() - 1); }
  std::size_t count(index_t u) const {
    return offsets[static_cast<std::size_t>(u) + 1] - offsets[static_cast<std::size_t>(u)];
  }
};

/// Groups the rows of `ratings` by user with a stable counting sort.
/// @param ratings the table
/// @param num_users users are 0..num_users-1
/// @throw logic_error when a row names a user outside [0, num_users)
inline ratings_by_user group_by_user(const rating_table& ratings, index_t num_users) {
  GATREC_EXPECTS(num_users >= 0, "negative user count");
  const std::size_t n = static_cast<std::size_t>(num_users);
  ratings_by_user g;
  g.offsets.assign(n + 1, 0);
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    const index_t u = ratings.user[k];
    if (u < 0 || u >= num_users)
      detail::throw_logic_error(__func__, "rating " + std::to_string(k) + " has user index " + std::to_string(u) +
                                              " outside [0, " + std::to_string(num_users) + ")");
    ++g.offsets[static_cast<std::size_t>(u) + 1];
  }
  for (std::size_t u = 0; u < n; ++u) g.offsets[u + 1] += g.offsets[u];
  g.positions.resize(ratings.size());
  std::vector<std::size_t> cursor(g.offsets.begin(), g.offsets.end() - 1);
  for (std::size_t k = 0; k < ratings.size(); ++k) g.positions[cursor[static_cast<std::size_t>(ratings.user[k])]++] = k;
  return g;
}

namespace detail {

enum : unsigned char { to_train = 0, to_validation = 1, to_test = 2 };

/// Copies the rows of `table` into the parts `label` assigns them, keeping table order.
inline split apply_labels(const rating_table& table, const std::vector<unsigned char>& label) {
  split s;
  std::size_t counts[3] = {0, 0, 0};
  for (const unsigned char l : label) ++counts[l];
  s.train.reserve(counts[to_train]);
  s.validation.reserve(counts[to_validation]);
  s.test.reserve(counts[to_test]);
  rating_table* parts[3] = {&s.train, &s.validation, &s.test};
  for (std::size_t k = 0; k < table.size(); ++k)
    parts[label[k]]->push_back(table.user[k], table.item[k], table.rating[k], table.timestamp[k]);
  return s;
}

/// Per-user generator: a user's draws depend only on (seed, user).
inline rng user_rng(std::uint64_t seed, index_t u) {
  return rng(mix64(seed) ^ mix64(0xD1B54A32D192ED03ull + static_cast<std::uint64_t>(u)));
}

/// round(n * fraction) as a count, for n ratings of one user.
inline std::size_t share(std::size_t n, double fraction) {
  return static_cast<std::size_t>(std::llround(static_cast<double>(n) * fraction));
}

}  // namespace detail

/// Splits every user's ratings at random into train, validation and test. For a user with n
/// ratings, train gets max(1, round(n * train_fraction)) (at most n), validation
/// min(round(n * validation_fraction), what is left), and test the rest; so a user with a single
/// rating keeps it in train.
/// @param ratings the table (users 0..num_users-1)
/// @param num_users number of users
/// @param train_fraction in (0, 1]
/// @param validation_fraction in [0, 1 - train_fraction]
/// @param seed the same seed gives the same split
/// @return the three parts, each in table order
/// @throw logic_error for fractions out of range or a user index outside [0, num_users)
inline split per_user_random_split(const rating_table& ratings, index_t num_users, double train_fraction,
                                   double validation_fraction, std::uint64_t seed) {
  GATREC_EXPECTS(train_fraction > 0.0 && train_fraction <= 1.0, "train_fraction must lie in (0, 1]");
  GATREC_EXPECTS(validation_fraction >= 0.0 && train_fraction + validation_fraction <= 1.0 + 1e-9,
                 "validation_fraction must lie in [0, 1 - train_fraction]");
  const ratings_by_user g = group_by_user(ratings, num_users);
  std::vector<unsigned char> label(ratings.size(), detail::to_test);
  std::vector<std::size_t> rows;
  for (index_t u = 0; u < num_users; ++u) {
    const std::size_t n = g.count(u);
    if (n == 0) continue;
    rows.assign(g.positions.begin() + static_cast<std::ptrdiff_t>(g.offsets[static_cast<std::size_t>(u)]),
                g.positions.begin() + static_cast<std::ptrdiff_t>(g.offsets[static_cast<std::size_t>(u) + 1]));
    rng gen = detail::user_rng(seed, u);
    for (std::size_t k = n - 1; k > 0; --k) std::swap(rows[k], rows[gen.below(k + 1)]);  // Fisher-Yates
    const std::size_t n_train = std::clamp<std::size_t>(detail::share(n, train_fraction), 1, n);
    const std::size_t n_val = std::min(detail::share(n, validation_fraction), n - n_train);
    for (std::size_t k = 0; k < n_train; ++k) label[rows[k]] = detail::to_train;
    for (std::size_t k = n_train; k < n_train + n_val; ++k) label[rows[k]] = detail::to_validation;
  }
  return detail::apply_labels(ratings, label);
}

/// Holds out every user's latest ratings: the last `test_per_user` by timestamp go to test, the
/// `validation_per_user` before them to validation, the rest to train. Equal timestamps are
/// ordered by table position (later rows count as later). A user with at most
/// validation_per_user + test_per_user ratings keeps them all in train.
/// @param ratings the table (users 0..num_users-1)
/// @param num_users number of users
/// @param validation_per_user ratings per user for validation (>= 0)
/// @param test_per_user ratings per user for test (>= 0)
/// @return the three parts, each in table order
/// @throw logic_error for negative counts or a user index outside [0, num_users)
inline split leave_last_out(const rating_table& ratings, index_t num_users, int validation_per_user,
                            int test_per_user) {
  GATREC_EXPECTS(validation_per_user >= 0 && test_per_user >= 0, "per-user counts must be non-negative");
  const ratings_by_user g = group_by_user(ratings, num_users);
  const std::size_t v = static_cast<std::size_t>(validation_per_user);
  const std::size_t t = static_cast<std::size_t>(test_per_user);
  std::vector<unsigned char> label(ratings.size(), detail::to_train);
  std::vector<std::size_t> rows;
  for (index_t u = 0; u < num_users; ++u) {
    const std::size_t n = g.count(u);
    if (n <= v + t) continue;
    rows.assign(g.positions.begin() + static_cast<std::ptrdiff_t>(g.offsets[static_cast<std::size_t>(u)]),
                g.positions.begin() + static_cast<std::ptrdiff_t>(g.offsets[static_cast<std::size_t>(u) + 1]));
    // rows are in table order already, so a stable sort by time breaks ties by position.
    std::stable_sort(rows.begin(), rows.end(),
                     [&](std::size_t a, std::size_t b) { return ratings.timestamp[a] < ratings.timestamp[b]; });
    for (std::size_t k = n - t; k < n; ++k) label[rows[k]] = detail::to_test;
    for (std::size_t k = n - t - v; k < n - t; ++k) label[rows[k]] = detail::to_validation;
  }
  return detail::apply_labels(ratings, label);
}

/// Carves a validation set out of a training table, per user at random: round(n * fraction)
/// ratings of a user with n, but never the user's last one. Used for early stopping without
/// touching the test set.
///
/// With user_fraction < 1 only a seeded random share of the users give validation ratings (each user
/// independently with that probability). Benchmark folds are often built that way: ML-100K's u1.test
/// holds ~40% of the ratings of 459 of the 943 users, so `user_fraction` 0.5 with `fraction` 0.4
/// gives a validation part shaped like the test fold, which ranks models the way the fold does.
/// @param train the training table (users 0..num_users-1)
/// @param num_users number of users
/// @param fraction in [0, 1)
/// @param seed the same seed gives the same hold-out
/// @param user_fraction in (0, 1]: the share of users that give validation ratings
/// @return (remaining train, validation), each in table order
/// @throw logic_error for a fraction out of range or a user index outside [0, num_users)
inline std::pair<rating_table, rating_table> carve_validation(const rating_table& train, index_t num_users,
                                                              double fraction, std::uint64_t seed,
                                                              double user_fraction = 1.0) {
  GATREC_EXPECTS(fraction >= 0.0 && fraction < 1.0, "fraction must lie in [0, 1)");
  GATREC_EXPECTS(user_fraction > 0.0 && user_fraction <= 1.0, "user_fraction must lie in (0, 1]");
  const ratings_by_user g = group_by_user(train, num_users);
  std::vector<unsigned char> label(train.size(), detail::to_train);
  std::vector<std::size_t> rows;
  for (index_t u = 0; u < num_users; ++u) {
    // A stream of its own, so that the users chosen do not depend on which ratings are drawn.
    if (user_fraction < 1.0 && !(detail::user_rng(seed ^ 0x05E75E1Eull, u).uniform() < user_fraction)) continue;
    const std::size_t n = g.count(u);
    const std::size_t n_val = n == 0 ? 0 : std::min(detail::share(n, fraction), n - 1);
    if (n_val == 0) continue;
    rows.assign(g.positions.begin() + static_cast<std::ptrdiff_t>(g.offsets[static_cast<std::size_t>(u)]),
                g.positions.begin() + static_cast<std::ptrdiff_t>(g.offsets[static_cast<std::size_t>(u) + 1]));
    rng gen = detail::user_rng(seed, u);
    // A partial Fisher-Yates: only the first n_val picks matter.
    for (std::size_t k = 0; k < n_val; ++k) {
      std::swap(rows[k], rows[k + gen.below(n - k)]);
      label[rows[k]] = detail::to_validation;
    }
  }
  split s = detail::apply_labels(train, label);
  return {std::move(s.train), std::move(s.validation)};
}

}  // namespace gatrec
