// The clients against real sockets on loopback: tests/llm/fault_server.py (started here) serves
// OpenAI-shaped answers and, on request, error statuses, Retry-After, silence, dropped
// connections and malformed bodies. Nothing is mocked: every request crosses a TCP connection.

#include <gatrec/data/interactions.hpp>
#include <gatrec/embeddings/node_features.hpp>
#include <gatrec/llm/chat_client.hpp>
#include <gatrec/llm/embeddings_client.hpp>
#include <gatrec/llm/http_client.hpp>
#include <gatrec/llm/profile_builder.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "llm/servers.hpp"

namespace test_llm_failures {
namespace {

using clock_type = std::chrono::steady_clock;
using gatrec::test::temp_dir;

class LlmFailures : public testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = gatrec::test::fault_server::start(why_not_).release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "the fault server did not start: " << why_not_;
  }

  /// A token unique to the running test, so that its request counts are its own.
  static std::string token() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string t = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& c : t)
      if (c == '/') c = '-';
    return t;
  }
  /// The server URL with the test's token and behaviour segments ("status=500/times=2").
  static std::string url(const std::string& behaviour = "", const std::string& suffix = "") {
    return server_->url(token() + suffix + (behaviour.empty() ? "" : "/" + behaviour));
  }
  static std::size_t count(const std::string& suffix = "") { return server_->count(token() + suffix); }

  /// Fast retries: the tests check counts and kinds, not patience.
  static gatrec::http_options quick(std::size_t retries) {
    gatrec::http_options o;
    o.max_retries = retries;
    o.initial_backoff = std::chrono::milliseconds(10);
    o.max_backoff = std::chrono::milliseconds(40);
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.total_timeout = std::chrono::milliseconds(5000);
    o.api_key = "";
    return o;
  }

  static gatrec::http_response post(const gatrec::http_options& o, const std::string& endpoint_url,
                                    gatrec::http_stats* stats = nullptr) {
    gatrec::http_client c(o);
    struct record {
      gatrec::http_client& c;
      gatrec::http_stats* s;
      ~record() {
        if (s != nullptr) *s = c.stats();
      }
    } r{c, stats};
    return c.post_json(endpoint_url, R"({"model":"m","input":["a"]})");
  }

  static inline gatrec::test::fault_server* server_ = nullptr;
  static inline std::string why_not_;
};

template <class F>
gatrec::llm_error expect_llm_error(F&& f) {
  try {
    f();
  } catch (const gatrec::llm_error& e) {
    return e;
  }
  ADD_FAILURE() << "no llm_error was thrown";
  return gatrec::llm_error(gatrec::llm_error_kind::transport, "", 0, 0, "none");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ------------------------------------------------------------------------------------------
// The HTTP layer.

TEST_F(LlmFailures, ConnectionRefusedIsRetriedThenReported) {
  const std::string target = "http://127.0.0.1:" + std::to_string(gatrec::test::unused_loopback_port()) + "/v1/embeddings";
  gatrec::http_stats stats;
  const auto e = expect_llm_error([&] { post(quick(2), target, &stats); });
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::connection) << e.what();
  EXPECT_EQ(e.attempts(), 3u);
  EXPECT_EQ(e.status(), 0);
  EXPECT_EQ(e.url(), target);
  EXPECT_TRUE(contains(e.what(), target)) << e.what();
  EXPECT_TRUE(contains(e.what(), "retries exhausted")) << e.what();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(stats.failures, 1u);
}

TEST_F(LlmFailures, SilentServerTimesOutOnEveryAttempt) {
  gatrec::http_options o = quick(1);
  o.total_timeout = std::chrono::milliseconds(400);
  const auto start = clock_type::now();
  const auto e = expect_llm_error([&] { post(o, url("hang=20") + "/v1/embeddings"); });
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::timeout) << e.what();
  EXPECT_EQ(e.attempts(), 2u);
  EXPECT_TRUE(contains(e.what(), "timeout")) << e.what();
  EXPECT_GE(seconds, 0.8);
  EXPECT_LT(seconds, 5.0);
  EXPECT_EQ(count(), 2u);
}

TEST_F(LlmFailures, DroppedConnectionIsAConnectionErrorAndRetried) {
  const auto e = expect_llm_error([&] { post(quick(1), url("close=1") + "/v1/embeddings"); });
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::connection) << e.what();
  EXPECT_EQ(e.attempts(), 2u);
  EXPECT_EQ(count(), 2u);
}

TEST_F(LlmFailures, Http500IsRetriedUntilTheServerRecovers) {
  gatrec::http_stats stats;
  const auto r = post(quick(3), url("status=500/times=2") + "/v1/embeddings", &stats);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 3u);
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(count(), 3u);
}

TEST_F(LlmFailures, Http500ExhaustsTheRetriesWithStatusAndBody) {
  const auto e = expect_llm_error([&] { post(quick(2), url("status=500") + "/v1/embeddings"); });
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::http_status);
  EXPECT_EQ(e.status(), 500);
  EXPECT_EQ(e.attempts(), 3u);
  EXPECT_TRUE(contains(e.body_excerpt(), "fault server: status 500 on request 3")) << e.body_excerpt();
  EXPECT_TRUE(contains(e.what(), "HTTP 500")) << e.what();
  EXPECT_EQ(count(), 3u);
}

TEST_F(LlmFailures, Http429WaitsForRetryAfter) {
  gatrec::http_options o = quick(2);
  o.initial_backoff = std::chrono::milliseconds(1);  // so that only Retry-After can explain the wait
  o.max_backoff = std::chrono::milliseconds(1);
  const auto start = clock_type::now();
  const auto r = post(o, url("status=429/times=1/retry_after=1") + "/v1/embeddings");
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.attempts, 2u);
  EXPECT_GE(seconds, 0.99);
  EXPECT_LT(seconds, 4.0);
  EXPECT_EQ(count(), 2u);
}

TEST_F(LlmFailures, Http429WithoutRetryAfterBacksOffAndGivesUp) {
  const auto e = expect_llm_error([&] { post(quick(3), url("status=429") + "/v1/embeddings"); });
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::http_status);
  EXPECT_EQ(e.status(), 429);
  EXPECT_EQ(e.attempts(), 4u);
  EXPECT_EQ(count(), 4u);
}

TEST_F(LlmFailures, RetryAfterLongerThanTheLimitStopsAtOnce) {
  gatrec::http_options o = quick(5);
  o.max_retry_after = std::chrono::seconds(5);
  const auto start = clock_type::now();
  const auto e = expect_llm_error([&] { post(o, url("status=503/retry_after=3600") + "/v1/embeddings"); });
  EXPECT_LT(std::chrono::duration<double>(clock_type::now() - start).count(), 2.0);
  EXPECT_EQ(e.status(), 503);
  EXPECT_EQ(e.attempts(), 1u);
  EXPECT_TRUE(contains(e.what(), "Retry-After asks for 3600 s")) << e.what();
  EXPECT_EQ(count(), 1u);
}

TEST_F(LlmFailures, ClientErrorsAreNotRetried) {
  for (const int status : {400, 404, 422}) {
    const std::string suffix = "-" + std::to_string(status);
    const auto e = expect_llm_error(
        [&] { post(quick(4), url("status=" + std::to_string(status), suffix) + "/v1/embeddings"); });
    EXPECT_EQ(e.status(), status);
    EXPECT_EQ(e.attempts(), 1u);
    EXPECT_TRUE(contains(e.what(), "refused the request")) << e.what();
    EXPECT_EQ(count(suffix), 1u);
  }
}

TEST_F(LlmFailures, ApiKeyIsSentAsBearerAndNeverShownInErrors) {
  gatrec::http_options o = quick(0);
  o.api_key = "sk-test-secret-123";
  EXPECT_EQ(post(o, url("require_key=sk-test-secret-123") + "/v1/embeddings").status, 200);

  o.api_key = "sk-wrong-secret-456";
  const auto e = expect_llm_error([&] { post(o, url("require_key=sk-test-secret-123") + "/v1/embeddings"); });
  EXPECT_EQ(e.status(), 401);
  EXPECT_EQ(e.attempts(), 1u);
  EXPECT_FALSE(contains(e.what(), "sk-wrong-secret-456")) << e.what();

  // From the environment.
  const std::string saved = gatrec::test::env_or_empty("GATREC_LLM_API_KEY");
  setenv("GATREC_LLM_API_KEY", "sk-test-secret-123", 1);
  gatrec::http_options from_env = quick(0);
  from_env.api_key.reset();
  EXPECT_EQ(post(from_env, url("require_key=sk-test-secret-123") + "/v1/embeddings").status, 200);
  if (saved.empty()) {
    unsetenv("GATREC_LLM_API_KEY");
  } else {
    setenv("GATREC_LLM_API_KEY", saved.c_str(), 1);
  }
}

TEST_F(LlmFailures, UnsupportedSchemeIsNotRetried) {
  gatrec::http_client c(quick(3));
  const auto e = expect_llm_error([&] { c.post_json("ftp://127.0.0.1/v1/embeddings", "{}"); });
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::transport) << e.what();
  EXPECT_EQ(e.attempts(), 1u);
}

// ------------------------------------------------------------------------------------------
// Embeddings.

std::shared_ptr<gatrec::embeddings_client> embeddings(const std::string& base, std::size_t batch = 3,
                                                      std::shared_ptr<gatrec::response_cache> cache = nullptr,
                                                      gatrec::index_t dim = 0) {
  gatrec::embeddings_options o;
  o.url = base;
  o.model = "fault-embedder";
  o.batch_size = batch;
  o.dim = dim;
  o.http.max_retries = 0;
  o.http.api_key = "";
  o.cache = std::move(cache);
  return std::make_shared<gatrec::embeddings_client>(o);
}

TEST_F(LlmFailures, EmbeddingsArePlacedByIndexBatchedAndDeduplicated) {
  auto client = embeddings(url("dim=8"), 3);
  std::vector<std::string> texts;
  for (int k = 0; k < 10; ++k) texts.push_back("text number " + std::to_string(k));
  texts.push_back("text number 4");  // a repeat is fetched once
  const gatrec::matrix<float> m = client->embed(texts);
  ASSERT_EQ(m.rows(), 11);
  ASSERT_EQ(m.cols(), 8);
  EXPECT_EQ(client->dim(), 8);
  EXPECT_EQ(count(), 4u);  // ceil(10 / 3) requests
  EXPECT_EQ(client->stats().batches, 4u);
  EXPECT_EQ(client->stats().fetched, 10u);
  EXPECT_TRUE(m.row(10).isApprox(m.row(4)));
  // The server returns rows in reverse order; each row must still be its own text's vector.
  for (int k = 0; k < 10; ++k) {
    const gatrec::matrix<float> single = client->embed({texts[static_cast<std::size_t>(k)]});
    EXPECT_TRUE(single.row(0).isApprox(m.row(k))) << k;
    EXPECT_NEAR(m.row(k).norm(), 1.0f, 1e-5f);
  }
  for (int k = 1; k < 10; ++k) EXPECT_FALSE(m.row(k).isApprox(m.row(0))) << k;
}

TEST_F(LlmFailures, EmbeddingsCacheAnswersTheSecondCallWithoutRequests) {
  temp_dir dir;
  auto cache = std::make_shared<gatrec::response_cache>(dir.path());
  const std::vector<std::string> texts = {"alpha", "beta", "gamma", "delta"};
  const gatrec::matrix<float> first = embeddings(url("dim=8"), 2, cache)->embed(texts);
  EXPECT_EQ(count(), 2u);
  auto again = embeddings(url("dim=8"), 2, cache);
  const gatrec::matrix<float> second = again->embed(texts);
  EXPECT_EQ(count(), 2u);  // nothing new reached the server
  EXPECT_EQ(again->stats().cache_hits, 4u);
  EXPECT_EQ(again->transport_stats().requests, 0u);
  EXPECT_TRUE(first.isApprox(second, 0.0f));
  // Only the new text is fetched.
  (void)again->embed({"alpha", "epsilon"});
  EXPECT_EQ(count(), 3u);
  // A corrupt entry is refetched, not trusted.
  const auto path = cache->entry_path("embeddings", "fault-embedder", nlohmann::json::object().dump() + "\nbeta");
  ASSERT_TRUE(std::filesystem::exists(path));
  { std::ofstream(path, std::ios::trunc) << "gatrec-llm-cache 1\nkey x\n"; }
  auto third = embeddings(url("dim=8"), 2, cache);
  const gatrec::matrix<float> refetched = third->embed(texts);
  EXPECT_EQ(count(), 4u);
  EXPECT_EQ(cache->stats().corrupt, 1u);
  EXPECT_TRUE(refetched.isApprox(first, 0.0f));
}

struct malformed_case {
  const char* body;
  const char* message;
};

void PrintTo(const malformed_case& c, std::ostream* os) { *os << "body=" << c.body; }

class LlmMalformedEmbeddings : public LlmFailures, public testing::WithParamInterface<malformed_case> {};

TEST_P(LlmMalformedEmbeddings, AreClearBadResponseErrors) {
  auto client = embeddings(url(std::string("dim=8/body=") + GetParam().body), 8);
  const auto e = expect_llm_error([&] { client->embed({"one", "two", "three"}); });
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::bad_response) << e.what();
  EXPECT_EQ(e.status(), 200);
  EXPECT_TRUE(contains(e.what(), GetParam().message)) << e.what();
  EXPECT_TRUE(contains(e.what(), "/v1/embeddings")) << e.what();
  EXPECT_EQ(count(), 1u);  // a bad answer is not asked for again
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, LlmMalformedEmbeddings,
    testing::Values(malformed_case{"garbage", "not valid JSON"}, malformed_case{"notobject", "not an object (array)"},
                    malformed_case{"nodata", "no 'data' array"},
                    malformed_case{"wrongcount", "asked for 3 embeddings, the answer has 2"},
                    malformed_case{"badindex", "has index 6, outside [0, 3)"},
                    malformed_case{"dupindex", "appears twice"}, malformed_case{"noindex", "no integer 'index'"},
                    malformed_case{"dims", "differ in width: text 2 has 9 dimensions, text 1 has 8"}, malformed_case{"inf", "is not finite"},
                    malformed_case{"strings", "is not a number"}),
    [](const testing::TestParamInfo<malformed_case>& info) { return std::string(info.param.body); });

TEST_F(LlmFailures, EmbeddingsOfTheWrongConfiguredWidthAreRefused) {
  auto client = embeddings(url("dim=8"), 4, nullptr, 16);
  const auto e = expect_llm_error([&] { client->embed({"one"}); });
  EXPECT_TRUE(contains(e.what(), "has 8 dimensions, expected 16")) << e.what();
}

TEST_F(LlmFailures, EmbeddingProviderFeedsBuildNodeFeaturesByText) {
  gatrec::dataset ds;
  for (gatrec::raw_id_t u : {10, 20}) ds.users.insert(u);
  for (gatrec::raw_id_t i : {1, 2, 3}) ds.items.insert(i);
  const std::vector<std::string> user_text = {"user ten likes drama", "user twenty likes comedy"};
  const std::vector<std::string> item_text = {"item one", "item two", "item three"};
  auto client = embeddings(url("dim=8"), 16);
  const gatrec::llm_embedding_provider provider(client);
  EXPECT_EQ(provider.dim(), 8);
  EXPECT_EQ(count(), 1u);  // the width probe
  gatrec::node_feature_keys keys;
  keys.user = [&](gatrec::raw_id_t raw) { return user_text[static_cast<std::size_t>(*ds.users.find(raw))]; };
  keys.item = [&](gatrec::raw_id_t raw) { return item_text[static_cast<std::size_t>(*ds.items.find(raw))]; };
  const gatrec::node_features f = gatrec::build_node_features(provider, provider, ds, keys);
  ASSERT_EQ(f.users.rows(), 2);
  ASSERT_EQ(f.items.rows(), 3);
  EXPECT_EQ(count(), 3u);  // one request for the users, one for the items
  EXPECT_TRUE(f.items.row(1).isApprox(client->embed({"item two"}).row(0)));
  EXPECT_TRUE(contains(provider.description(), "fault-embedder")) << provider.description();
}

// ------------------------------------------------------------------------------------------
// Chat.

gatrec::chat_client chat(const std::string& base, std::shared_ptr<gatrec::response_cache> cache = nullptr) {
  gatrec::chat_options o;
  o.url = base;
  o.model = "fault-chat";
  o.http.max_retries = 1;
  o.http.initial_backoff = std::chrono::milliseconds(10);
  o.http.api_key = "";
  o.cache = std::move(cache);
  return gatrec::chat_client(o);
}

TEST_F(LlmFailures, ChatReturnsTheMessageAndCachesIt) {
  temp_dir dir;
  auto cache = std::make_shared<gatrec::response_cache>(dir.path());
  auto c = chat(url(), cache);
  gatrec::chat_request request;
  request.messages = {{"system", "Be brief."}, {"user", "Say hello."}};
  request.seed = 7;
  const gatrec::chat_reply first = c.complete(request);
  EXPECT_EQ(first.content, "hello from the fault server");
  EXPECT_EQ(first.finish_reason, "stop");
  EXPECT_EQ(first.completion_tokens, 5u);
  EXPECT_FALSE(first.from_cache);
  const gatrec::chat_reply second = c.complete(request);
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(second.content, first.content);
  EXPECT_EQ(second.finish_reason, "stop");
  EXPECT_EQ(count(), 1u);
  request.temperature = 0.5;  // a different request is a different entry
  EXPECT_FALSE(c.complete(request).from_cache);
  EXPECT_EQ(count(), 2u);
  EXPECT_EQ(c.stats().cache_hits, 1u);
  EXPECT_EQ(c.stats().fetched, 2u);
  EXPECT_TRUE(contains(c.request_body(request), R"("seed":7)"));
}

TEST_F(LlmFailures, ChatMalformedAnswersAreBadResponses) {
  for (const auto& [body, message] : {std::pair<std::string, std::string>{"garbage", "not valid JSON"},
                                      {"nochoices", "no 'choices'"},
                                      {"nocontent", "no text 'content'"}}) {
    auto c = chat(url("body=" + body, "-" + body));
    const auto e = expect_llm_error([&] { c.complete("", "hello"); });
    EXPECT_EQ(e.kind(), gatrec::llm_error_kind::bad_response) << e.what();
    EXPECT_TRUE(contains(e.what(), message)) << e.what();
    EXPECT_EQ(count("-" + body), 1u);
  }
}

TEST_F(LlmFailures, ChatRetries503ThenAnswers) {
  auto c = chat(url("status=503/times=1"));
  EXPECT_EQ(c.complete("", "hello"), "hello from the fault server");
  EXPECT_EQ(c.transport_stats().retries, 1u);
  EXPECT_EQ(count(), 2u);
}

// ------------------------------------------------------------------------------------------
// Profile builder over the wire.

std::vector<gatrec::item_info> some_items(int n) {
  std::vector<gatrec::item_info> items(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    items[static_cast<std::size_t>(k)].title = "Movie " + std::to_string(k);
    items[static_cast<std::size_t>(k)].year = 1990 + k % 10;
    items[static_cast<std::size_t>(k)].genres = {"Drama"};
  }
  return items;
}

TEST_F(LlmFailures, ProfileBuilderAsksOncePerStepAndParsesTheReplies) {
  auto c = chat(url("reply=profile"));
  gatrec::llm_profile_builder builder(c);
  gatrec::item_info toy;
  toy.title = "Toy Story";
  toy.year = 1995;
  toy.genres = {"Animation", "Comedy"};
  const gatrec::profile item = builder.item_profile(toy);
  EXPECT_EQ(item.title, "Toy Story");
  EXPECT_EQ(item.genres, (std::vector<std::string>{"Drama", "Comedy"}));
  EXPECT_EQ(item.dislikes, (std::vector<std::string>{"explosions", "car chases"}));
  EXPECT_EQ(gatrec::profile::parse(item.render()), item);

  gatrec::rating_table t;
  for (int k = 0; k < 12; ++k) t.push_back(0, k, 5.0f, k);
  for (int k = 0; k < 6; ++k) t.push_back(0, 20 + k, 1.0f, k);
  const gatrec::profile user = builder.user_profile(t, 0, some_items(30));
  EXPECT_TRUE(user.title.empty());
  EXPECT_FALSE(user.overview.empty());
  EXPECT_EQ(count(), 1u + 4u);  // the item, then 2 liked and 2 disliked steps
  EXPECT_EQ(builder.stats().requests, 5u);
  EXPECT_EQ(builder.stats().accepted, 5u);
  EXPECT_EQ(builder.stats().rejected, 0u);
}

TEST_F(LlmFailures, ProfileBuilderFallsBackOnGarbageAndCountsIt) {
  auto c = chat(url("reply=garbage"));
  gatrec::llm_profile_builder builder(c);
  const auto items = some_items(10);
  const gatrec::profile item = builder.item_profile(items[3], "An overview.");
  EXPECT_EQ(item, gatrec::item_template_profile(items[3], "An overview."));
  gatrec::rating_table t;
  for (int k = 0; k < 6; ++k) t.push_back(0, k, 4.0f, k);
  t.push_back(1, 2, 3.0f, 1);
  const gatrec::profile user = builder.user_profile(t, 0, items);
  EXPECT_EQ(user, gatrec::user_template_profile(t, 0, items));
  const gatrec::profile neutral = builder.user_profile(t, 1, items);  // no liked or disliked rating
  EXPECT_EQ(neutral, gatrec::user_template_profile(t, 1, items));
  const auto& s = builder.stats();
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.rejected, 3u);
  EXPECT_EQ(s.item_templates, 1u);
  EXPECT_EQ(s.users_all_rejected, 1u);
  EXPECT_EQ(s.users_without_steps, 1u);
  EXPECT_EQ(s.last_rejection, "no Markdown heading");
  EXPECT_EQ(count(), 3u);
}

TEST_F(LlmFailures, ProfileBuilderPassesServerFailuresOn) {
  auto c = chat(url("status=500"));
  gatrec::llm_profile_builder builder(c);
  const auto e = expect_llm_error([&] { builder.item_profile(some_items(1)[0]); });
  EXPECT_EQ(e.status(), 500);
  EXPECT_EQ(e.attempts(), 2u);
}

}  // namespace

}  // namespace test_llm_failures
