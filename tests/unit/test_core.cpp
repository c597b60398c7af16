#include <gatrec/core/error.hpp>
#include <gatrec/core/parallel.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/data/interactions.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace test_core {
namespace {

TEST(Errors, ParseErrorNamesFileLineAndField) {
  const gatrec::parse_error e("u.data", 12, "rating", "expected a number, got 'x'");
  EXPECT_STREQ(e.what(), "u.data:12: field 'rating': expected a number, got 'x'");
  EXPECT_EQ(e.line(), 12u);
  EXPECT_EQ(e.field(), "rating");
  const gatrec::parse_error whole("f.npy", 0, "", "bad magic");
  EXPECT_STREQ(whole.what(), "f.npy: bad magic");
}

TEST(Errors, ExpectsThrowsLogicErrorNamingTheFunction) {
  auto f = [] { GATREC_EXPECTS(1 + 1 == 3, "arithmetic is broken"); };
  try {
    f();
    FAIL() << "no exception";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("arithmetic is broken"), std::string::npos);
  }
}

TEST(Random, SameSeedSameSequenceDifferentSeedDifferent) {
  gatrec::rng a(42), b(42), c(43);
  int differ = 0;
  for (int k = 0; k < 100; ++k) {
    const auto x = a(), y = b(), z = c();
    EXPECT_EQ(x, y);
    differ += x != z;
  }
  EXPECT_GT(differ, 95);
}

TEST(Random, BelowIsUniformAndInRange) {
  gatrec::rng r(7);
  std::vector<int> counts(10, 0);
  const int n = 100000;
  for (int k = 0; k < n; ++k) {
    const auto v = r.below(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, n / 10, 5 * std::sqrt(n * 0.09));  // 5 sigma
}

TEST(Random, NormalHasUnitMoments) {
  gatrec::rng r(3);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int k = 0; k < n; ++k) {
    const double x = r.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
}

TEST(Random, CounterBasedUniformIsAPureFunction) {
  EXPECT_EQ(gatrec::uniform01(1, 2, 3), gatrec::uniform01(1, 2, 3));
  EXPECT_NE(gatrec::uniform01(1, 2, 3), gatrec::uniform01(1, 2, 4));
  EXPECT_NE(gatrec::uniform01(1, 2, 3), gatrec::uniform01(2, 2, 3));
  double mean = 0;
  for (int k = 0; k < 10000; ++k) {
    const double u = gatrec::uniform01(9, 0, k);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u;
  }
  EXPECT_NEAR(mean / 10000, 0.5, 0.02);
}

TEST(Parallel, ParallelForVisitsEveryIndexOnce) {
  std::vector<int> hits(10007, 0);
  gatrec::parallel_for<int>(0, static_cast<int>(hits.size()), [&](int i) { hits[i] += 1; });
  for (int h : hits) ASSERT_EQ(h, 1);
}

TEST(IdMap, InsertFindAndRoundTrip) {
  gatrec::id_map m;
  EXPECT_EQ(m.insert(100), 0);
  EXPECT_EQ(m.insert(7), 1);
  EXPECT_EQ(m.insert(100), 0);
  EXPECT_EQ(m.size(), 2);
  EXPECT_EQ(m.raw(1), 7);
  EXPECT_EQ(m.at(7), 1);
  EXPECT_FALSE(m.find(8).has_value());
  EXPECT_THROW(m.at(8), gatrec::logic_error);
  EXPECT_THROW(m.raw(2), gatrec::logic_error);
  EXPECT_THROW(m.raw(-1), gatrec::logic_error);
}

}  // namespace

}  // namespace test_core
