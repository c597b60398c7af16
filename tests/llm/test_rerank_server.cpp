// The four re-ranking strategies against the real chat server of scripts/llm_servers.sh
// (SmolLM2-135M-Instruct on loopback), through gatrec::chat_client and llm/rerank_adapter.hpp.
// Skipped unless GATREC_CHAT_URL is set. A 135M model re-ranks poorly; what is checked is the
// machinery: valid permutations, every call counted, failures counted instead of thrown, and a
// second run answered entirely from the disk cache with the same result.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gatrec/llm/chat_client.hpp>
#include <gatrec/llm/rerank_adapter.hpp>
#include <gatrec/llm/response_cache.hpp>
#include <gatrec/rerank/rerank_lists.hpp>
#include <gatrec/rerank/strategies.hpp>

#include "llm/servers.hpp"

namespace test_rerank_server {
namespace {

using gatrec::test::temp_dir;

gatrec::chat_client chat_client(const std::string& url, std::shared_ptr<gatrec::response_cache> cache) {
  gatrec::chat_options o;
  o.url = url;
  const std::string model = gatrec::test::env_or_empty("GATREC_CHAT_MODEL");
  o.model = model.empty() ? "smollm2-135m-instruct" : model;
  o.http.total_timeout = std::chrono::seconds(300);
  o.cache = std::move(cache);
  return gatrec::chat_client(o);
}

// Two users, six candidates each (ML-100K titles), lists of width 8.
struct corpus_fixture {
  gatrec::rerank_corpus corpus;
  gatrec::ranked_lists base{2, 8};
  corpus_fixture() {
    corpus.user_texts = {
        "Loves animated family films and light comedies; avoids horror and violence.\nLikes genres: Animation, "
        "Children's, Comedy",
        "Enjoys dark crime thrillers and war dramas; avoids musicals and children's films.\nLikes genres: Crime, "
        "Thriller, War"};
    corpus.items = {
        {"Toy Story", 1995, {"Animation", "Children's", "Comedy"}, ""},
        {"Heat", 1995, {"Action", "Crime", "Thriller"}, ""},
        {"Babe", 1995, {"Children's", "Comedy", "Drama"}, ""},
        {"Seven", 1995, {"Crime", "Thriller"}, ""},
        {"The Lion King", 1994, {"Animation", "Children's", "Musical"}, ""},
        {"Apocalypse Now", 1979, {"Drama", "War"}, ""},
        {"Aladdin", 1992, {"Animation", "Children's", "Comedy", "Musical"}, ""},
        {"Scream", 1996, {"Horror", "Thriller"}, ""},
    };
    for (gatrec::index_t u = 0; u < 2; ++u)
      for (int p = 0; p < 8; ++p) base.row(u)[p] = u == 0 ? 7 - p : p;  // user 0 sees the list reversed
  }
};

TEST(RerankServer, EveryStrategyReranksTwoUsersAndRerunsFromTheCache) {
  GATREC_REQUIRE_SERVER(url, "GATREC_CHAT_URL");
  corpus_fixture f;
  temp_dir dir;
  auto cache = std::make_shared<gatrec::response_cache>(dir.path());
  gatrec::rerank_options o;
  o.top_n = 6;
  const std::vector<gatrec::index_t> users{0, 1};
  for (const auto strategy : {gatrec::rerank_strategy::listwise, gatrec::rerank_strategy::pairwise,
                              gatrec::rerank_strategy::batches, gatrec::rerank_strategy::scored}) {
    auto client = chat_client(url, cache);
    gatrec::limited_chat chat(gatrec::rerank_chat(client));
    gatrec::rerank_counts counts;
    const auto start = std::chrono::steady_clock::now();
    const gatrec::ranked_lists out = gatrec::rerank_lists(f.base, users, f.corpus, strategy, chat, o, counts);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%-8s calls %zu, errors %zu, malformed %zu, repaired %zu, fallback users %zu, changed %zu, %.1fs\n",
                gatrec::to_string(strategy), counts.calls, counts.call_errors, counts.malformed, counts.repaired,
                counts.fallback_users, counts.changed_users, seconds);
    out.validate(8);
    EXPECT_EQ(counts.users, 2u);
    EXPECT_EQ(counts.call_errors, 0u);
    EXPECT_EQ(counts.calls, client.stats().calls);
    EXPECT_EQ(client.stats().fetched + client.stats().cache_hits, counts.calls);
    for (gatrec::index_t u : users)
      for (int p = 6; p < 8; ++p) EXPECT_EQ(out.row(u)[p], f.base.row(u)[p]) << "below the top 6 nothing moves";
    switch (strategy) {
      case gatrec::rerank_strategy::listwise: EXPECT_EQ(counts.calls, 2u); break;
      case gatrec::rerank_strategy::batches: EXPECT_LE(counts.calls, 4u); break;  // windows at 1 and 0
      case gatrec::rerank_strategy::scored: EXPECT_LE(counts.calls, 12u); break;
      case gatrec::rerank_strategy::pairwise: EXPECT_LE(counts.calls, 30u); break;  // at most 15 pairs a user
    }

    // Again with the same cache: no request reaches the server, the lists are the same.
    auto again_client = chat_client(url, cache);
    gatrec::limited_chat again_chat(gatrec::rerank_chat(again_client));
    gatrec::rerank_counts again_counts;
    const gatrec::ranked_lists again = gatrec::rerank_lists(f.base, users, f.corpus, strategy, again_chat, o, again_counts);
    EXPECT_EQ(again.items, out.items);
    EXPECT_EQ(again_client.stats().fetched, 0u);
    EXPECT_EQ(again_client.stats().cache_hits, again_counts.calls);
  }
}

TEST(RerankServer, CallLimitsHoldAgainstARealServer) {
  GATREC_REQUIRE_SERVER(url, "GATREC_CHAT_URL");
  corpus_fixture f;
  temp_dir dir;
  auto client = chat_client(url, std::make_shared<gatrec::response_cache>(dir.path()));
  gatrec::limited_chat chat(gatrec::rerank_chat(client), 5);
  gatrec::rerank_options o;
  o.top_n = 6;
  o.max_calls_per_user = 3;
  gatrec::rerank_counts counts;
  const auto out = gatrec::rerank_lists(f.base, {0, 1}, f.corpus, gatrec::rerank_strategy::pairwise, chat, o, counts);
  out.validate(8);
  EXPECT_EQ(counts.calls, 5u);  // 3 for user 0, the run's last 2 for user 1
  EXPECT_EQ(client.stats().calls, 5u);
  EXPECT_EQ(counts.budget_limited, 2u);
}

}  // namespace

}  // namespace test_rerank_server
