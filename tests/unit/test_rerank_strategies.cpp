// The four re-ranking strategies driven by scripted models: ordinary functions that read the
// prompt the strategies write (candidate lines, "A:"/"B:", "Movie:") and answer from a hidden
// taste, so that the right permutation is known. Then every malformed-output path, call limits,
// and the list-level driver.
#include <gatrec/eval/paper_protocol.hpp>
#include <gatrec/rerank/rerank_lists.hpp>
#include <gatrec/rerank/strategies.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace test_rerank_strategies {
namespace {

using gatrec::rerank_item;
using gatrec::rerank_query;
using gatrec::rerank_request;

// Twenty ML-100K titles; the base model ranks them in this order.
const std::vector<std::string> twenty{"Toy Story",     "GoldenEye",        "Four Rooms",    "Get Shorty",
                                      "Copycat",       "Twelve Monkeys",   "Babe",          "Dead Man Walking",
                                      "Richard III",   "Star Wars",        "Seven",         "The Usual Suspects",
                                      "Star Trek",     "Mighty Aphrodite", "Braveheart",    "Taxi Driver",
                                      "Stargate",      "The Birdcage",     "Apollo 13",     "Batman Forever"};

rerank_query query_of(const std::vector<std::string>& titles, std::size_t n) {
  rerank_query q;
  q.user_text = "Loves space adventures.";
  q.key = 7;
  for (std::size_t k = 0; k < n; ++k) q.candidates.push_back(rerank_item{titles[k], 1995, {"Drama"}, ""});
  return q;
}

/// The title in a candidate line "Title (1995) - Drama".
std::string title_of_line(const std::string& line) { return line.substr(0, line.rfind(" (")); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    out.push_back(text.substr(start, end - start));
  out.push_back(text.substr(start));
  return out;
}

/// A scripted model with a hidden utility per title (higher is better; ties keep label order). It
/// answers every prompt kind the way a perfect model of that taste would, and records the requests.
class taste_model {
 public:
  explicit taste_model(std::function<double(const std::string&)> utility) : utility_(std::move(utility)) {}

  std::string operator()(const rerank_request& r) {
    requests.push_back(r);
    const std::string& text = r.messages.back().content;
    const std::vector<std::string> lines = lines_of(text);
    if (text.find("Answer with one letter") != std::string::npos) {
      std::string a, b;
      for (const auto& l : lines) {
        if (l.rfind("A: ", 0) == 0) a = title_of_line(l.substr(3));
        if (l.rfind("B: ", 0) == 0) b = title_of_line(l.substr(3));
      }
      pairs.emplace(std::min(a, b), std::max(a, b));
      return utility_(a) >= utility_(b) ? "A" : "B";
    }
    if (text.find("Answer with one integer") != std::string::npos) {
      for (const auto& l : lines)
        if (l.rfind("Movie: ", 0) == 0) return std::to_string(static_cast<int>(utility_(title_of_line(l.substr(7)))));
      return "?";
    }
    std::vector<std::pair<int, std::string>> items;  // (label, title)
    for (const auto& l : lines)
      if (l.size() > 4 && l[0] == '[') {
        const std::size_t close = l.find("] ");
        items.emplace_back(std::stoi(l.substr(1, close - 1)), title_of_line(l.substr(close + 2)));
      }
    windows.push_back({});
    for (const auto& it : items) windows.back().push_back(it.second);
    std::stable_sort(items.begin(), items.end(),
                     [&](const auto& x, const auto& y) { return utility_(x.second) > utility_(y.second); });
    std::string out;
    for (const auto& it : items) out += (out.empty() ? "[" : " > [") + std::to_string(it.first) + "]";
    return out;
  }

  std::vector<rerank_request> requests;
  std::set<std::pair<std::string, std::string>> pairs;  // distinct pairs asked
  std::vector<std::vector<std::string>> windows;        // the titles of each ranking prompt, in label order

 private:
  std::function<double(const std::string&)> utility_;
};

/// Candidates whose title contains "Star" first (in base order), then the rest.
double likes_star(const std::string& t) { return t.find("Star") != std::string::npos ? 1.0 : 0.0; }

/// likes_star with ties broken by the base order: a strict taste, for comparisons.
double likes_star_strictly(const std::string& t) {
  const auto at = std::find(twenty.begin(), twenty.end(), t);
  return likes_star(t) + 0.001 * static_cast<double>(twenty.end() - at);
}

std::vector<std::string> reorder(const std::vector<std::string>& titles, const std::vector<int>& order) {
  std::vector<std::string> out;
  for (int k : order) out.push_back(titles[static_cast<std::size_t>(k)]);
  return out;
}

/// A model that always answers `reply`, recording how often it was asked.
struct fixed_model {
  std::string reply;
  std::size_t* asked;
  std::string operator()(const rerank_request&) const {
    ++*asked;
    return reply;
  }
};

gatrec::limited_chat chat_of(taste_model& m, std::size_t total = 0) {
  return gatrec::limited_chat([&m](const rerank_request& r) { return m(r); }, total);
}

bool is_permutation_of_n(const std::vector<int>& order, std::size_t n) {
  std::vector<int> s = order;
  std::sort(s.begin(), s.end());
  for (std::size_t k = 0; k < s.size(); ++k)
    if (s[k] != static_cast<int>(k)) return false;
  return s.size() == n;
}

// ---------------------------------------------------------------------------------------------
// listwise

TEST(RerankListwise, PerfectModelGivesTheTastePermutationInOneCall) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_listwise(query_of(twenty, 20), chat, {});
  EXPECT_EQ(r.counts.calls, 1u);
  EXPECT_EQ(r.counts.malformed + r.counts.repaired + r.counts.fallback_users, 0u);
  EXPECT_EQ(r.counts.changed_users, 1u);
  const auto titles = reorder(twenty, r.order);
  EXPECT_EQ(std::vector<std::string>(titles.begin(), titles.begin() + 4),
            (std::vector<std::string>{"Star Wars", "Star Trek", "Stargate", "Toy Story"}));
  EXPECT_EQ(titles.back(), "Batman Forever");
  // Deterministic requests: temperature 0 and the seed, room for 20 ids.
  ASSERT_EQ(m.requests.size(), 1u);
  EXPECT_EQ(m.requests[0].temperature, 0.0);
  EXPECT_EQ(m.requests[0].seed, 42);
  EXPECT_GE(m.requests[0].max_tokens, 100);
}

TEST(RerankListwise, TopNCutsTheCandidates) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  gatrec::rerank_options o;
  o.top_n = 10;
  const auto r = gatrec::rerank_listwise(query_of(twenty, 20), chat, o);
  ASSERT_EQ(r.order.size(), 10u);
  EXPECT_EQ(r.order.front(), 9);  // Star Wars, the only "Star" among the first 10
  ASSERT_EQ(m.windows.size(), 1u);
  EXPECT_EQ(m.windows[0].size(), 10u);
}

TEST(RerankListwise, MalformedRepliesFallBackAndAreCounted) {
  for (const char* reply : {"", "I cannot rank movies.", "[99] > [42]", "Sure! Here is the ranking:"}) {
    std::size_t asked = 0;
    gatrec::limited_chat chat(fixed_model{reply, &asked});
    const auto r = gatrec::rerank_listwise(query_of(twenty, 20), chat, {});
    EXPECT_EQ(asked, 1u) << reply;
    EXPECT_EQ(r.counts.malformed, 1u) << reply;
    EXPECT_EQ(r.counts.fallback_users, 1u) << reply;
    EXPECT_EQ(r.counts.changed_users, 0u) << reply;
    EXPECT_EQ(r.order, gatrec::detail::identity_order(20)) << reply;
  }
}

TEST(RerankListwise, PartialReplyIsRepairedAndCounted) {
  std::size_t asked = 0;
  gatrec::limited_chat chat(fixed_model{"[10] > [13] > [10] > [25]", &asked});
  const auto r = gatrec::rerank_listwise(query_of(twenty, 20), chat, {});
  EXPECT_EQ(r.counts.repaired, 1u);
  EXPECT_EQ(r.counts.malformed, 0u);
  EXPECT_EQ(r.counts.fallback_users, 0u);
  std::vector<int> expected{9, 12};
  for (int k = 0; k < 20; ++k)
    if (k != 9 && k != 12) expected.push_back(k);
  EXPECT_EQ(r.order, expected);
}

TEST(RerankListwise, ReplyByTitles) {
  std::size_t asked = 0;
  gatrec::limited_chat chat(fixed_model{"1. Seven\n2. Babe\n3. Copycat", &asked});
  const auto r = gatrec::rerank_listwise(query_of(twenty, 5 + 6), chat, {});
  EXPECT_EQ(std::vector<int>(r.order.begin(), r.order.begin() + 3), (std::vector<int>{10, 6, 4}));
  EXPECT_EQ(r.counts.repaired, 1u);
}

TEST(RerankListwise, FailedCallFallsBackAndCounts) {
  gatrec::limited_chat chat([](const rerank_request&) -> std::string { throw std::runtime_error("server down"); });
  const auto r = gatrec::rerank_listwise(query_of(twenty, 20), chat, {});
  EXPECT_EQ(r.counts.calls, 1u);
  EXPECT_EQ(r.counts.call_errors, 1u);
  EXPECT_EQ(r.counts.fallback_users, 1u);
  EXPECT_EQ(r.order, gatrec::detail::identity_order(20));
}

TEST(RerankListwise, NothingToRankForOneCandidate) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_listwise(query_of(twenty, 1), chat, {});
  EXPECT_EQ(r.order, std::vector<int>{0});
  EXPECT_EQ(r.counts.calls, 0u);
}

// ---------------------------------------------------------------------------------------------
// pairwise

TEST(RerankPairwise, HandTracedInsertion) {
  // Base order w, x, y, z; taste x > z > w > y. Insert w (root); x beats w: left of w (1 call);
  // w beats y: right of w (2); z beats w, goes left to x, x beats z: right of x (4). In order:
  // x, z, w, y.
  const std::vector<std::string> titles{"Wax", "Xenon", "Yak", "Zed"};
  const std::map<std::string, double> taste{{"Wax", 2}, {"Xenon", 4}, {"Yak", 1}, {"Zed", 3}};
  taste_model m([&](const std::string& t) { return taste.at(t); });
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_pairwise(query_of(titles, 4), chat, {});
  EXPECT_EQ(r.order, (std::vector<int>{1, 3, 0, 2}));
  EXPECT_EQ(r.counts.calls, 4u);
  EXPECT_EQ(m.pairs.size(), 4u);
  EXPECT_EQ(r.counts.malformed, 0u);
}

TEST(RerankPairwise, KnownPreferenceOrderIsRecoveredWithFewCalls) {
  // A strict taste: reverse alphabetical. BST insertion with a consistent comparator sorts.
  taste_model m([](const std::string& t) { return -static_cast<double>(t[0]) * 100 - static_cast<double>(t[1]); });
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_pairwise(query_of(twenty, 20), chat, {});
  // Titles sharing their first two letters ("Star ...") tie: any order among them is right.
  const auto got = reorder(twenty, r.order);
  for (std::size_t k = 0; k + 1 < got.size(); ++k)
    EXPECT_LE(std::make_pair(got[k][0], got[k][1]), std::make_pair(got[k + 1][0], got[k + 1][1])) << k;
  // Every call asked a new pair, and far fewer than all 190.
  EXPECT_EQ(m.pairs.size(), r.counts.calls);
  EXPECT_LT(r.counts.calls, 120u);
  EXPECT_GE(r.counts.calls, 19u);
  EXPECT_EQ(r.counts.memo_hits, 0u);
}

TEST(RerankPairwise, PositionOfThePairIsASeededCoinNotAlwaysTheSameSide) {
  // A model that always answers "A": with a fixed A/B layout the tree would be a chain and cost
  // 190 calls; the seeded layout makes it a random tree.
  std::size_t asked = 0;
  gatrec::limited_chat chat(fixed_model{"A", &asked});
  const auto r = gatrec::rerank_pairwise(query_of(twenty, 20), chat, {});
  EXPECT_TRUE(is_permutation_of_n(r.order, 20));
  EXPECT_LT(asked, 190u / 2);
  EXPECT_EQ(r.counts.malformed, 0u);
  // Same seed, same answer; another seed, another layout.
  std::size_t asked2 = 0;
  gatrec::limited_chat chat2(fixed_model{"A", &asked2});
  EXPECT_EQ(gatrec::rerank_pairwise(query_of(twenty, 20), chat2, {}).order, r.order);
  gatrec::rerank_options other;
  other.seed = 7;
  std::size_t asked3 = 0;
  gatrec::limited_chat chat3(fixed_model{"A", &asked3});
  EXPECT_NE(gatrec::rerank_pairwise(query_of(twenty, 20), chat3, other).order, r.order);
}

TEST(RerankPairwise, PerUserCallLimitFallsBackToBaseOrderForTheRest) {
  // Taste is the reverse of the base order; 3 calls allowed. 1 beats 0 (1 call), 2 beats 0 and 1
  // (3 calls); 3, 4, 5 are decided by the base order: appended. Result 2, 1, 0, 3, 4, 5.
  const std::vector<std::string> titles{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"};
  taste_model m([&](const std::string& t) {
    return static_cast<double>(std::find(titles.begin(), titles.end(), t) - titles.begin());
  });
  auto chat = chat_of(m);
  gatrec::rerank_options o;
  o.max_calls_per_user = 3;
  const auto r = gatrec::rerank_pairwise(query_of(titles, 6), chat, o);
  EXPECT_EQ(r.order, (std::vector<int>{2, 1, 0, 3, 4, 5}));
  EXPECT_EQ(r.counts.calls, 3u);
  EXPECT_EQ(r.counts.budget_limited, 1u);
  EXPECT_EQ(r.counts.fallback_users, 0u);
}

TEST(RerankPairwise, MalformedComparisonsAreDecidedByBaseOrderAndTheUserIsGivenUp) {
  for (const char* reply : {"", "Both are fine", "C", "I am not sure."}) {
    std::size_t asked = 0;
    gatrec::limited_chat chat(fixed_model{reply, &asked});
    const auto r = gatrec::rerank_pairwise(query_of(twenty, 20), chat, {});
    EXPECT_EQ(r.order, gatrec::detail::identity_order(20)) << reply;
    EXPECT_EQ(asked, 4u) << reply;  // give_up_after
    EXPECT_EQ(r.counts.malformed, 4u) << reply;
    EXPECT_EQ(r.counts.fallback_users, 1u) << reply;
  }
  // Without giving up, every comparison is asked: a chain, N(N-1)/2 calls.
  std::size_t asked = 0;
  gatrec::limited_chat chat(fixed_model{"?", &asked});
  gatrec::rerank_options o;
  o.give_up_after = 0;
  const auto r = gatrec::rerank_pairwise(query_of(twenty, 8), chat, o);
  EXPECT_EQ(asked, 28u);
  EXPECT_EQ(r.order, gatrec::detail::identity_order(8));
}

// ---------------------------------------------------------------------------------------------
// batches

TEST(RerankBatches, WindowsSweepFromTheBottomWithStrideThree) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_batches(query_of(twenty, 20), chat, {});
  // Starts 15, 12, 9, 6, 3, 0: six calls of five candidates.
  ASSERT_EQ(r.counts.calls, 6u);
  ASSERT_EQ(m.windows.size(), 6u);
  for (const auto& w : m.windows) EXPECT_EQ(w.size(), 5u);
  EXPECT_EQ(m.windows[0], (std::vector<std::string>{"Taxi Driver", "Stargate", "The Birdcage", "Apollo 13", "Batman Forever"}));
  // The first window put Stargate on top (position 15), which the second window (12..16) sees.
  EXPECT_EQ(m.windows[1], (std::vector<std::string>{"Star Trek", "Mighty Aphrodite", "Braveheart", "Stargate", "Taxi Driver"}));
  // Windows overlap by 2, so at most two candidates are carried up past a window: Star Wars and
  // Star Trek reach the top, Stargate is left at position 11 (by the window starting at 6).
  const auto got = reorder(twenty, r.order);
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + 4),
            (std::vector<std::string>{"Star Wars", "Star Trek", "Toy Story", "GoldenEye"}));
  EXPECT_EQ(got[11], "Stargate");
  EXPECT_TRUE(is_permutation_of_n(r.order, 20));
}

TEST(RerankBatches, HandTracedEightCandidates) {
  // N = 8: windows start at 3 and 0. Taste: reverse of base order.
  // Window 3..7 holds 3,4,5,6,7 -> 7,6,5,4,3; list 0,1,2,7,6,5,4,3.
  // Window 0..4 holds 0,1,2,7,6 -> 7,6,2,1,0; list 7,6,2,1,0,5,4,3.
  const std::vector<std::string> titles{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel"};
  taste_model m([&](const std::string& t) {
    return static_cast<double>(std::find(titles.begin(), titles.end(), t) - titles.begin());
  });
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_batches(query_of(titles, 8), chat, {});
  EXPECT_EQ(r.order, (std::vector<int>{7, 6, 2, 1, 0, 5, 4, 3}));
  EXPECT_EQ(r.counts.calls, 2u);
  // Two passes: the second sweep sorts further.
  taste_model m2([&](const std::string& t) {
    return static_cast<double>(std::find(titles.begin(), titles.end(), t) - titles.begin());
  });
  auto chat2 = chat_of(m2);
  gatrec::rerank_options o;
  o.passes = 2;
  const auto r2 = gatrec::rerank_batches(query_of(titles, 8), chat2, o);
  // Window 3..7 holds 1,0,5,4,3 -> 5,4,3,1,0: 7,6,2,5,4,3,1,0; window 0..4 -> 7,6,5,4,2.
  EXPECT_EQ(r2.order, (std::vector<int>{7, 6, 5, 4, 2, 3, 1, 0}));
  EXPECT_EQ(r2.counts.calls, 4u);
}

TEST(RerankBatches, ShortListIsOneWindow) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  const std::vector<std::string> titles{"Heat", "Star Wars", "Casino"};
  const auto r = gatrec::rerank_batches(query_of(titles, 3), chat, {});
  EXPECT_EQ(r.order, (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(r.counts.calls, 1u);
}

TEST(RerankBatches, MalformedWindowKeepsItsOrderOthersStillCount) {
  // Garbage for the second window (12..16), a good answer for the rest.
  std::size_t call = 0;
  taste_model good(likes_star);
  gatrec::limited_chat chat([&](const rerank_request& r) -> std::string {
    return call++ == 1 ? std::string("no idea") : good(r);
  });
  const auto r = gatrec::rerank_batches(query_of(twenty, 20), chat, {});
  EXPECT_EQ(r.counts.calls, 6u);
  EXPECT_EQ(r.counts.malformed, 1u);
  EXPECT_EQ(r.counts.fallback_users, 0u);
  // The first window lifted Stargate to 15; the garbage window left it there, below the next one.
  const auto got = reorder(twenty, r.order);
  EXPECT_EQ(got[0], "Star Wars");
  EXPECT_EQ(got[1], "Star Trek");
  EXPECT_EQ(got[15], "Stargate");
}

TEST(RerankBatches, AllGarbageGivesUpAfterFourWindows) {
  std::size_t asked = 0;
  gatrec::limited_chat chat(fixed_model{"", &asked});
  const auto r = gatrec::rerank_batches(query_of(twenty, 20), chat, {});
  EXPECT_EQ(asked, 4u);
  EXPECT_EQ(r.counts.malformed, 4u);
  EXPECT_EQ(r.counts.fallback_users, 1u);
  EXPECT_EQ(r.order, gatrec::detail::identity_order(20));
}

TEST(RerankBatches, CallLimitStopsTheSweep) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  gatrec::rerank_options o;
  o.max_calls_per_user = 2;
  const auto r = gatrec::rerank_batches(query_of(twenty, 20), chat, o);
  EXPECT_EQ(r.counts.calls, 2u);
  EXPECT_EQ(r.counts.budget_limited, 1u);
  EXPECT_TRUE(is_permutation_of_n(r.order, 20));
}

// ---------------------------------------------------------------------------------------------
// scored

TEST(RerankScored, FusionArithmeticByHand) {
  // N = 6, w = 0.8: rank terms 1, .8, .6, .4, .2, 0; scores 1, 100, 50, 50, 100, 1.
  // f = .8 + .002 = .802, .64 + .2 = .84, .48 + .1 = .58, .32 + .1 = .42, .16 + .2 = .36, 0 + .002.
  const std::vector<std::string> titles{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"};
  const std::map<std::string, double> score{{"Alpha", 1},   {"Bravo", 100}, {"Charlie", 50},
                                            {"Delta", 50},  {"Echo", 100},  {"Foxtrot", 1}};
  taste_model m([&](const std::string& t) { return score.at(t); });
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_scored(query_of(titles, 6), chat, {});
  EXPECT_EQ(r.counts.calls, 6u);
  const std::vector<double> expected{0.802, 0.84, 0.58, 0.42, 0.36, 0.002};
  ASSERT_EQ(r.fused.size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) EXPECT_NEAR(r.fused[k], expected[k], 1e-12) << k;
  EXPECT_EQ(r.order, (std::vector<int>{1, 0, 2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(gatrec::fused_score(0, 1, 50), 0.8 + 0.1);
  EXPECT_DOUBLE_EQ(gatrec::fused_score(19, 20, 100, 0.5), 0.5);
}

TEST(RerankScored, TwentyCandidatesMoveAtMostAFewPlaces) {
  // A maximal score difference (99 points = 0.198) outweighs at most 4 rank steps of 0.8 / 19.
  taste_model m([](const std::string& t) { return t == "Batman Forever" ? 100.0 : 1.0; });
  auto chat = chat_of(m);
  const auto r = gatrec::rerank_scored(query_of(twenty, 20), chat, {});
  const auto got = reorder(twenty, r.order);
  EXPECT_EQ(got[15], "Batman Forever");  // from position 19 to 15
}

TEST(RerankScored, UnusableScoresGetTheUsersMeanAndAreCounted) {
  // Scores: Alpha 80, Bravo "150" (out of range), Charlie "" (empty), Delta "seven", Echo 20,
  // Foxtrot throws. Mean of usable = 50. Fused: .8+.16, .64+.1, .48+.1, .32+.1, .16+.04, 0+.1.
  const std::map<std::string, std::string> reply{
      {"Alpha", "80"}, {"Bravo", "150"}, {"Charlie", ""}, {"Delta", "seven"}, {"Echo", "Score: 20/100"}, {"Foxtrot", "!"}};
  gatrec::limited_chat chat([&](const rerank_request& r) -> std::string {
    const std::string& t = r.messages.back().content;
    const std::size_t at = t.find("Movie: ") + 7;
    const std::string title = t.substr(at, t.find(" (", at) - at);
    if (title == "Foxtrot") throw std::runtime_error("timeout");
    return reply.at(title);
  });
  const std::vector<std::string> titles{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"};
  const auto r = gatrec::rerank_scored(query_of(titles, 6), chat, {});
  EXPECT_EQ(r.counts.calls, 6u);
  EXPECT_EQ(r.counts.malformed, 3u);
  EXPECT_EQ(r.counts.call_errors, 1u);
  EXPECT_EQ(r.counts.fallback_users, 0u);
  EXPECT_EQ(r.scores[0], 80.0);
  EXPECT_TRUE(std::isnan(r.scores[1]));
  EXPECT_EQ(r.scores[4], 20.0);
  const std::vector<double> expected{0.96, 0.74, 0.58, 0.42, 0.2, 0.1};
  for (std::size_t k = 0; k < 6; ++k) EXPECT_NEAR(r.fused[k], expected[k], 1e-12) << k;
  EXPECT_EQ(r.order, gatrec::detail::identity_order(6));
}

TEST(RerankScored, NoUsableScoreKeepsTheBaseOrder) {
  for (const char* reply : {"", "0", "101", "great", "-3"}) {
    std::size_t asked = 0;
    gatrec::limited_chat chat(fixed_model{reply, &asked});
    const auto r = gatrec::rerank_scored(query_of(twenty, 20), chat, {});
    EXPECT_EQ(asked, 4u) << reply;  // given up after four unusable replies
    EXPECT_EQ(r.counts.malformed, 4u) << reply;
    EXPECT_EQ(r.counts.fallback_users, 1u) << reply;
    EXPECT_TRUE(r.fused.empty()) << reply;
    EXPECT_EQ(r.order, gatrec::detail::identity_order(20)) << reply;
  }
}

TEST(RerankScored, CallLimitLeavesTheRestAtTheMean) {
  taste_model m([](const std::string& t) { return t == "Toy Story" ? 10.0 : 90.0; });
  auto chat = chat_of(m);
  gatrec::rerank_options o;
  o.max_calls_per_user = 2;
  const auto r = gatrec::rerank_scored(query_of(twenty, 20), chat, o);
  EXPECT_EQ(r.counts.calls, 2u);
  EXPECT_EQ(r.counts.budget_limited, 1u);
  EXPECT_EQ(r.scores[1], 90.0);
  EXPECT_TRUE(std::isnan(r.scores[2]));
  EXPECT_NEAR(r.fused[2], 0.8 * (1 - 2.0 / 19) + 0.2 * 0.5, 1e-12);  // mean of 10 and 90
}

// ---------------------------------------------------------------------------------------------
// limits and the list-level driver

TEST(RerankLimits, ConsecutiveErrorsEndTheRun) {
  std::size_t asked = 0;
  gatrec::limited_chat chat(
      [&](const rerank_request&) -> std::string {
        ++asked;
        throw std::runtime_error("connection refused");
      },
      0, 3);
  gatrec::rerank_counts c;
  rerank_request r;
  EXPECT_FALSE(chat.ask(r, c).has_value());
  EXPECT_FALSE(chat.ask(r, c).has_value());
  EXPECT_THROW(chat.ask(r, c), std::runtime_error);
  EXPECT_EQ(c.call_errors, 3u);
  EXPECT_THROW(gatrec::limited_chat(gatrec::chat_function{}), gatrec::logic_error);
}

TEST(RerankLimits, StrategyOptionsAreValidated) {
  taste_model m(likes_star);
  auto chat = chat_of(m);
  gatrec::rerank_options o;
  o.stride = 6;
  EXPECT_THROW(gatrec::rerank_batches(query_of(twenty, 20), chat, o), gatrec::logic_error);
  o = {};
  o.gat_weight = 1.5;
  EXPECT_THROW(gatrec::rerank_scored(query_of(twenty, 20), chat, o), gatrec::logic_error);
  EXPECT_EQ(gatrec::parse_rerank_strategy("batches"), gatrec::rerank_strategy::batches);
  EXPECT_STREQ(gatrec::to_string(gatrec::rerank_strategy::scored), "scored");
  EXPECT_THROW(gatrec::parse_rerank_strategy("pointwise"), gatrec::logic_error);
}

struct lists_fixture {
  // 3 users, 30 items, lists of width 25 ranking items 0..24 for every user.
  gatrec::ranked_lists base{3, 25};
  gatrec::rerank_corpus corpus;
  lists_fixture() {
    for (gatrec::index_t u = 0; u < 3; ++u) {
      for (int p = 0; p < 25; ++p) base.row(u)[p] = p;
      corpus.user_texts.push_back("user " + std::to_string(u));
    }
    for (int i = 0; i < 30; ++i)
      corpus.items.push_back(rerank_item{i < 20 ? twenty[static_cast<std::size_t>(i)] : "Extra " + std::string(1, static_cast<char>('A' + i - 20)), 1995, {}, ""});
  }
};

TEST(RerankLists, OnlyTheTopNOfTheChosenUsersMove) {
  lists_fixture f;
  taste_model m(likes_star);
  auto chat = chat_of(m);
  gatrec::rerank_counts counts;
  std::vector<gatrec::index_t> seen;
  const auto out = gatrec::rerank_lists(f.base, {0, 2}, f.corpus, gatrec::rerank_strategy::listwise, chat, {}, counts,
                                        [&](gatrec::index_t u, const gatrec::rerank_outcome&) { seen.push_back(u); });
  out.validate(30);
  EXPECT_EQ(seen, (std::vector<gatrec::index_t>{0, 2}));
  EXPECT_EQ(counts.users, 2u);
  EXPECT_EQ(counts.calls, 2u);
  EXPECT_EQ(counts.changed_users, 2u);
  for (gatrec::index_t u : {0, 2}) {
    EXPECT_EQ(out.row(u)[0], 9);   // Star Wars
    EXPECT_EQ(out.row(u)[1], 12);  // Star Trek
    EXPECT_EQ(out.row(u)[2], 16);  // Stargate
    EXPECT_EQ(out.row(u)[3], 0);
    for (int p = 20; p < 25; ++p) EXPECT_EQ(out.row(u)[p], p);  // below the top 20: base order
  }
  for (int p = 0; p < 25; ++p) EXPECT_EQ(out.row(1)[p], p);  // user 1 not chosen
}

TEST(RerankLists, RunLimitIsHonouredAcrossUsers) {
  lists_fixture f;
  taste_model m([](const std::string& t) { return 50 + 40 * likes_star(t); });
  auto chat = chat_of(m, 8);
  gatrec::rerank_counts counts;
  gatrec::rerank_options o;
  o.max_calls_per_user = 5;
  gatrec::rerank_lists(f.base, {0, 1, 2}, f.corpus, gatrec::rerank_strategy::scored, chat, o, counts);
  EXPECT_EQ(counts.calls, 8u);           // 5 for user 0, 3 for user 1, none for user 2
  EXPECT_EQ(counts.budget_limited, 3u);  // every user stopped early
  EXPECT_EQ(counts.fallback_users, 1u);  // user 2 got no score at all
  EXPECT_EQ(chat.total_calls(), 8u);
}

TEST(RerankLists, EvaluatesLikeTheBaseLists) {
  // One user, test items Stargate (5 stars) and Toy Story (2 stars): the re-ranked list puts the
  // liked item first, so the rated-only NDCG@10 rises to 1.
  lists_fixture f;
  gatrec::rating_table test;
  test.push_back(0, 16, 5.0f);
  test.push_back(0, 0, 2.0f);
  gatrec::rated_only_options ro;
  ro.ks = {10};
  const auto before = gatrec::evaluate_rated_only(f.base, test, std::vector<gatrec::index_t>{0}, ro);
  taste_model m(likes_star_strictly);
  auto chat = chat_of(m);
  gatrec::rerank_counts counts;
  const auto out = gatrec::rerank_lists(f.base, {0}, f.corpus, gatrec::rerank_strategy::pairwise, chat, {}, counts);
  const auto after = gatrec::evaluate_rated_only(out, test, std::vector<gatrec::index_t>{0}, ro);
  EXPECT_DOUBLE_EQ(before.at("ndcg@10"), 0.0);  // Stargate at position 17: outside the top 10
  EXPECT_DOUBLE_EQ(after.at("ndcg@10"), 1.0);
  EXPECT_DOUBLE_EQ(after.at("precision@10"), 0.5);  // Stargate 3rd, Toy Story 4th
  EXPECT_EQ(out.row(0)[2], 16);
  EXPECT_EQ(out.row(0)[3], 0);
}

TEST(RerankLists, ApplyOrderChecksItsInput) {
  lists_fixture f;
  EXPECT_THROW(gatrec::apply_rerank_order(f.base, 0, {0, 0, 1}), gatrec::logic_error);
  EXPECT_THROW(gatrec::apply_rerank_order(f.base, 0, std::vector<int>(26, 0)), gatrec::logic_error);
  EXPECT_THROW(gatrec::apply_rerank_order(f.base, 5, {0}), gatrec::logic_error);
  gatrec::apply_rerank_order(f.base, 1, {2, 0, 1});
  EXPECT_EQ(f.base.row(1)[0], 2);
  EXPECT_EQ(f.base.row(1)[1], 0);
  EXPECT_EQ(f.base.row(1)[2], 1);
  EXPECT_EQ(f.base.row(1)[3], 3);
}

}  // namespace

}  // namespace test_rerank_strategies
