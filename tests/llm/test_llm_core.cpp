// The parts of gatrec::llm that need no server: SHA-256, the disk cache, Retry-After and back-off
// arithmetic, endpoint URLs, error messages, prompt templates, rating batches and reading replies.

#include <gatrec/llm/http_client.hpp>
#include <gatrec/llm/llm_error.hpp>
#include <gatrec/llm/openai_api.hpp>
#include <gatrec/llm/profile_builder.hpp>
#include <gatrec/llm/response_cache.hpp>
#include <gatrec/llm/sha256.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "llm/servers.hpp"

namespace test_llm_core {
namespace {

using gatrec::test::temp_dir;

// ------------------------------------------------------------------------------------------
// SHA-256: the FIPS 180-4 examples and block-boundary lengths.

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(gatrec::sha256::hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(gatrec::sha256::hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(gatrec::sha256::hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(gatrec::sha256::hex(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(gatrec::sha256::hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsWholeAtEveryLengthAroundBlocks) {
  std::string text;
  for (int k = 0; k < 200; ++k) text += static_cast<char>('a' + k % 26);
  for (std::size_t n : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    const std::string part = text.substr(0, n);
    gatrec::sha256 h;
    for (std::size_t k = 0; k < n; k += 7) h.update(part.substr(k, 7));
    EXPECT_EQ(h.hex_digest(), gatrec::sha256::hex(part)) << n;
  }
  EXPECT_NE(gatrec::sha256::hex(text.substr(0, 55)), gatrec::sha256::hex(text.substr(0, 56)));
}

// ------------------------------------------------------------------------------------------
// The disk cache.

TEST(ResponseCache, MissThenHitAndKeysSeparateKindModelAndContent) {
  temp_dir dir;
  gatrec::response_cache cache(dir.path() / "nested" / "llm");
  EXPECT_FALSE(cache.get("chat", "m", "hello"));
  ASSERT_TRUE(cache.put("chat", "m", "hello", std::string("payload\0with zero", 17)));
  const auto got = cache.get("chat", "m", "hello");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::string("payload\0with zero", 17));
  EXPECT_FALSE(cache.get("embeddings", "m", "hello"));
  EXPECT_FALSE(cache.get("chat", "m2", "hello"));
  EXPECT_FALSE(cache.get("chat", "m", "hello "));
  // Length prefixes: ("ab", "c") and ("a", "bc") are different keys.
  EXPECT_NE(gatrec::response_cache::key("chat", "ab", "c"), gatrec::response_cache::key("chat", "a", "bc"));
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 4u);
  EXPECT_EQ(s.writes, 1u);
  EXPECT_EQ(s.corrupt, 0u);
  // The entry lives where entry_path says, in a folder per kind; no temporary file is left.
  const auto path = cache.entry_path("chat", "m", "hello");
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_EQ(path.parent_path().parent_path().filename(), "chat");
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache.dir()))
    if (e.is_regular_file()) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(ResponseCache, EmptyPayloadAndOverwrite) {
  temp_dir dir;
  gatrec::response_cache cache(dir.path());
  ASSERT_TRUE(cache.put("chat", "m", "x", ""));
  ASSERT_TRUE(cache.get("chat", "m", "x"));
  EXPECT_EQ(*cache.get("chat", "m", "x"), "");
  ASSERT_TRUE(cache.put("chat", "m", "x", "second"));
  EXPECT_EQ(*cache.get("chat", "m", "x"), "second");
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ResponseCache, CorruptEntriesAreIgnoredRemovedAndRewritten) {
  temp_dir dir;
  gatrec::response_cache cache(dir.path());
  const std::string payload = "the answer of the server";
  ASSERT_TRUE(cache.put("embeddings", "m", "text", payload));
  const auto path = cache.entry_path("embeddings", "m", "text");
  const std::string good = read_file(path);

  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"truncated payload", good.substr(0, good.size() - 3)},
      {"longer payload", good + "x"},
      {"flipped payload byte", good.substr(0, good.size() - 1) + "?"},
      {"truncated header", good.substr(0, 30)},
      {"empty file", ""},
      {"binary garbage", std::string("\x00\xff\x10garbage\n\n", 12)},
      {"wrong magic", "something-else 1" + good.substr(good.find('\n'))},
  };
  std::size_t corrupt = 0;
  for (const auto& [what, text] : damaged) {
    write_file(path, text);
    EXPECT_FALSE(cache.get("embeddings", "m", "text")) << what;
    EXPECT_EQ(cache.stats().corrupt, ++corrupt) << what;
    EXPECT_FALSE(std::filesystem::exists(path)) << what << ": a corrupt entry is removed";
    ASSERT_TRUE(cache.put("embeddings", "m", "text", payload));  // what a client does after the miss
    EXPECT_EQ(*cache.get("embeddings", "m", "text"), payload) << what;
  }

  // An entry copied under another entry's name (its key line disagrees) is not trusted.
  ASSERT_TRUE(cache.put("embeddings", "m", "other", "another answer"));
  std::filesystem::copy_file(cache.entry_path("embeddings", "m", "other"), path,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_FALSE(cache.get("embeddings", "m", "text"));

  // A folder where the entry file belongs.
  std::filesystem::remove(path);
  std::filesystem::create_directories(path / "sub");
  EXPECT_FALSE(cache.get("embeddings", "m", "text"));
  EXPECT_TRUE(cache.put("embeddings", "m", "text", payload));
  EXPECT_EQ(*cache.get("embeddings", "m", "text"), payload);
}

TEST(ResponseCache, UnwritableFolderCountsAFailureInsteadOfThrowing) {
  temp_dir dir;
  gatrec::response_cache cache(dir.path());
  // A file where the kind's folder must go.
  write_file(dir.path() / "chat", "not a folder");
  EXPECT_FALSE(cache.put("chat", "m", "x", "payload"));
  EXPECT_EQ(cache.stats().write_failures, 1u);
  EXPECT_FALSE(cache.get("chat", "m", "x"));
}

TEST(ResponseCache, BadKindAndUncreatableFolderThrow) {
  temp_dir dir;
  gatrec::response_cache cache(dir.path());
  EXPECT_THROW(cache.get("../escape", "m", "x"), gatrec::logic_error);
  EXPECT_THROW(cache.put("", "m", "x", "p"), gatrec::logic_error);
  write_file(dir.path() / "file", "x");
  EXPECT_THROW(gatrec::response_cache(dir.path() / "file" / "llm"), gatrec::io_error);
}

TEST(ResponseCache, DefaultFolderFollowsGatrecCache) {
  const std::string saved = gatrec::test::env_or_empty("GATREC_CACHE");
  setenv("GATREC_CACHE", "/some/where", 1);
  EXPECT_EQ(gatrec::response_cache::default_dir(), std::filesystem::path("/some/where/llm"));
  unsetenv("GATREC_CACHE");
  const std::string home = gatrec::test::env_or_empty("HOME");
  if (!home.empty()) {
    EXPECT_EQ(gatrec::response_cache::default_dir(), std::filesystem::path(home) / ".cache/gatrec/llm");
  }
  if (!saved.empty()) setenv("GATREC_CACHE", saved.c_str(), 1);
}

// ------------------------------------------------------------------------------------------
// HTTP arithmetic and messages.

TEST(HttpClient, RetryAfterSecondsAndDates) {
  EXPECT_EQ(gatrec::detail::parse_retry_after("3", 0), 3.0);
  EXPECT_EQ(gatrec::detail::parse_retry_after(" 0 \r\n", 0), 0.0);
  EXPECT_EQ(gatrec::detail::parse_retry_after("1.5", 0), 1.5);
  EXPECT_FALSE(gatrec::detail::parse_retry_after("", 0));
  EXPECT_FALSE(gatrec::detail::parse_retry_after("soon", 0));
  EXPECT_FALSE(gatrec::detail::parse_retry_after("3s", 0));
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 seconds after the epoch.
  EXPECT_EQ(gatrec::detail::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 20), 20.0);
  EXPECT_EQ(gatrec::detail::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 20), 0.0);
}

TEST(HttpClient, BackoffDoublesUpToTheCapAndJitterOnlyShortens) {
  gatrec::http_options o;
  o.initial_backoff = std::chrono::milliseconds(100);
  o.max_backoff = std::chrono::milliseconds(1000);
  o.jitter = 0.5;
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 0, 0.0).count(), 100);
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 1, 0.0).count(), 200);
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 3, 0.0).count(), 800);
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 4, 0.0).count(), 1000);
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 200, 0.0).count(), 1000);
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 1, 0.999999).count(), 100);
  EXPECT_EQ(gatrec::detail::backoff_delay(o, 1, 0.5).count(), 150);
}

TEST(HttpClient, RetryableStatuses) {
  for (long s : {429L, 500L, 502L, 503L, 504L}) EXPECT_TRUE(gatrec::detail::retryable_status(s)) << s;
  for (long s : {400L, 401L, 403L, 404L, 413L, 422L}) EXPECT_FALSE(gatrec::detail::retryable_status(s)) << s;
}

TEST(HttpClient, ApiKeyFromEnvironmentPrefersGatrecVariable) {
  const std::string saved_gatrec = gatrec::test::env_or_empty("GATREC_LLM_API_KEY");
  const std::string saved_openai = gatrec::test::env_or_empty("OPENAI_API_KEY");
  unsetenv("GATREC_LLM_API_KEY");
  unsetenv("OPENAI_API_KEY");
  EXPECT_FALSE(gatrec::api_key_from_environment());
  setenv("OPENAI_API_KEY", "sk-openai", 1);
  EXPECT_EQ(gatrec::api_key_from_environment(), "sk-openai");
  setenv("GATREC_LLM_API_KEY", "", 1);  // empty counts as unset
  EXPECT_EQ(gatrec::api_key_from_environment(), "sk-openai");
  setenv("GATREC_LLM_API_KEY", "sk-gatrec", 1);
  EXPECT_EQ(gatrec::api_key_from_environment(), "sk-gatrec");
  {
    const gatrec::http_client from_env;
    EXPECT_TRUE(from_env.has_api_key());
    gatrec::http_options none;
    none.api_key = "";
    EXPECT_FALSE(gatrec::http_client(none).has_api_key());
  }
  unsetenv("GATREC_LLM_API_KEY");
  unsetenv("OPENAI_API_KEY");
  if (!saved_gatrec.empty()) setenv("GATREC_LLM_API_KEY", saved_gatrec.c_str(), 1);
  if (!saved_openai.empty()) setenv("OPENAI_API_KEY", saved_openai.c_str(), 1);
}

TEST(HttpClient, BadOptionsAreLogicErrors) {
  gatrec::http_options o;
  o.jitter = 1.5;
  EXPECT_THROW(gatrec::http_client{o}, gatrec::logic_error);
  o = {};
  o.total_timeout = std::chrono::milliseconds(0);
  EXPECT_THROW(gatrec::http_client{o}, gatrec::logic_error);
}

TEST(LlmError, MessageNamesKindUrlStatusAttemptsAndAShortBody) {
  const std::string body = std::string(300, 'x') + "never shown";
  const gatrec::llm_error e(gatrec::llm_error_kind::http_status, "http://h:1/v1/chat/completions", 503, 3,
                            "the server answered 503", "line one\nline two" + body);
  const std::string what = e.what();
  EXPECT_NE(what.find("http://h:1/v1/chat/completions"), std::string::npos) << what;
  EXPECT_NE(what.find("HTTP 503"), std::string::npos) << what;
  EXPECT_NE(what.find("3 attempts"), std::string::npos) << what;
  EXPECT_NE(what.find("line one line two"), std::string::npos) << what;
  EXPECT_EQ(what.find("never shown"), std::string::npos) << what;
  EXPECT_EQ(e.status(), 503);
  EXPECT_EQ(e.attempts(), 3u);
  EXPECT_EQ(e.kind(), gatrec::llm_error_kind::http_status);
  EXPECT_LE(e.body_excerpt().size(), 203u);
  EXPECT_TRUE(dynamic_cast<const gatrec::error*>(&e) != nullptr);
  // Cutting inside a UTF-8 sequence moves the cut back to its start.
  const std::string accents = std::string(199, 'a') + "\xc3\xa9" + "tail";
  EXPECT_EQ(gatrec::detail::body_excerpt(accents), std::string(199, 'a') + "...");
}

TEST(LlmError, CredentialsInUrlsAreRedacted) {
  EXPECT_EQ(gatrec::detail::redact_url("http://user:secret@host:8080/v1/x"), "http://***@host:8080/v1/x");
  EXPECT_EQ(gatrec::detail::redact_url("http://host:8080/v1/x?a=b@c"), "http://host:8080/v1/x?a=b@c");
  EXPECT_EQ(gatrec::detail::redact_url("http://host/p"), "http://host/p");
}

TEST(OpenAiApi, EndpointUrls) {
  EXPECT_EQ(gatrec::openai_endpoint_url("http://127.0.0.1:8080", "embeddings"), "http://127.0.0.1:8080/v1/embeddings");
  EXPECT_EQ(gatrec::openai_endpoint_url("http://127.0.0.1:8080/", "embeddings"), "http://127.0.0.1:8080/v1/embeddings");
  EXPECT_EQ(gatrec::openai_endpoint_url("https://api.example/v1", "chat/completions"),
            "https://api.example/v1/chat/completions");
  EXPECT_EQ(gatrec::openai_endpoint_url("http://h/v1/chat/completions/", "chat/completions"),
            "http://h/v1/chat/completions");
  EXPECT_EQ(gatrec::openai_endpoint_url("http://h/prefix", "embeddings"), "http://h/prefix/v1/embeddings");
  EXPECT_THROW(gatrec::openai_endpoint_url("127.0.0.1:8080", "embeddings"), gatrec::logic_error);
  EXPECT_THROW(gatrec::openai_endpoint_url("", "embeddings"), gatrec::logic_error);
}

// ------------------------------------------------------------------------------------------
// Prompts, batches and replies.

TEST(ProfilePrompts, FillReplacesFieldsAndRefusesUnknownOnes) {
  EXPECT_EQ(gatrec::fill_prompt("a {{x}} b {{y}}{{x}}", {{"x", "1"}, {"y", "{{x}}"}}), "a 1 b {{x}}1");
  EXPECT_EQ(gatrec::fill_prompt("no fields", {}), "no fields");
  EXPECT_EQ(gatrec::fill_prompt("open {{ only", {}), "open {{ only");
  EXPECT_THROW(gatrec::fill_prompt("{{typo}}", {{"x", "1"}}), gatrec::logic_error);
}

TEST(ProfilePrompts, ReadFromFilesOverridesSomeDefaults) {
  temp_dir dir;
  write_file(dir.path() / "system.md", "\n  Be brief.  \n\n");
  const gatrec::profile_prompts p = gatrec::read_profile_prompts(dir.path());
  EXPECT_EQ(p.system, "Be brief.");
  EXPECT_EQ(p.item, gatrec::default_profile_prompts().item);
  EXPECT_THROW(gatrec::read_profile_prompts(dir.path() / "missing"), gatrec::io_error);
}

gatrec::rating_table ratings_of_user_zero() {
  // 13 likes (timestamps 100..112), 12 dislikes (200..211), 3 neutral; another user interleaved.
  gatrec::rating_table t;
  for (int k = 0; k < 13; ++k) {
    t.push_back(0, k, k % 2 ? 4.0f : 5.0f, 100 + k);
    t.push_back(1, k, 5.0f, 1000 + k);
  }
  for (int k = 0; k < 12; ++k) t.push_back(0, 20 + k, k % 2 ? 1.0f : 2.0f, 200 + k);
  for (int k = 0; k < 3; ++k) t.push_back(0, 40 + k, 3.0f, 300 + k);
  return t;
}

TEST(ProfileBuilder, BatchesAreFiveLikedTwiceThenFiveDislikedTwiceMostRecentFirst) {
  const gatrec::rating_table t = ratings_of_user_zero();
  const auto batches = gatrec::user_rating_batches(t, 0);
  ASSERT_EQ(batches.size(), 4u);
  const auto items_of = [&](const gatrec::rating_batch& b) {
    std::vector<int> items;
    for (const std::size_t r : b.rows) {
      EXPECT_EQ(t.user[r], 0);
      items.push_back(t.item[r]);
    }
    return items;
  };
  EXPECT_TRUE(batches[0].liked);
  EXPECT_EQ(items_of(batches[0]), (std::vector<int>{12, 11, 10, 9, 8}));
  EXPECT_TRUE(batches[1].liked);
  EXPECT_EQ(items_of(batches[1]), (std::vector<int>{7, 6, 5, 4, 3}));
  EXPECT_FALSE(batches[2].liked);
  EXPECT_EQ(items_of(batches[2]), (std::vector<int>{31, 30, 29, 28, 27}));
  EXPECT_FALSE(batches[3].liked);
  EXPECT_EQ(items_of(batches[3]), (std::vector<int>{26, 25, 24, 23, 22}));
}

TEST(ProfileBuilder, ShortHistoriesGiveTheBatchesThereAre) {
  gatrec::rating_table t;
  for (int k = 0; k < 7; ++k) t.push_back(0, k, 4.0f, k);
  t.push_back(0, 9, 1.0f, 50);
  t.push_back(1, 3, 3.0f, 5);  // user 1: neutral only
  auto b = gatrec::user_rating_batches(t, 0);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].rows.size(), 5u);
  EXPECT_EQ(b[1].rows.size(), 2u);
  EXPECT_FALSE(b[2].liked);
  EXPECT_EQ(b[2].rows.size(), 1u);
  EXPECT_TRUE(gatrec::user_rating_batches(t, 1).empty());
  EXPECT_TRUE(gatrec::user_rating_batches(t, 7).empty());
  // Equal timestamps keep the table order.
  gatrec::rating_table same;
  for (int k = 0; k < 3; ++k) same.push_back(0, k, 5.0f, 42);
  EXPECT_EQ(gatrec::user_rating_batches(same, 0)[0].rows, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(ProfileBuilder, ReadingRepliesAcceptsTheSchemaAndRejectsGarbage) {
  const std::string good =
      "## Overview\nLikes quiet dramas.\n\n## Attributes\n- **Genre**: Drama\n- **Tags**: slow\n\n## Description\n"
      "Patient viewer.\n\n## Dislikes:\n- explosions";
  auto r = gatrec::read_llm_profile(good);
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.value.overview, "Likes quiet dramas.");
  EXPECT_EQ(r.value.dislikes, (std::vector<std::string>{"explosions"}));

  // Chatter before the profile and code fences are removed; a user's title is dropped.
  r = gatrec::read_llm_profile("Sure! Here it is:\n```markdown\n# Viewer 7\n" + good + "\n```\nHope this helps.");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_TRUE(r.value.title.empty());
  EXPECT_TRUE(r.value.other_sections.empty());

  // An item without a title gets the given one.
  r = gatrec::read_llm_profile(good, "Toy Story");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.value.title, "Toy Story");

  // A copy of the format's placeholders is not a profile.
  const std::string skeleton = gatrec::default_profile_prompts().user_schema;
  EXPECT_TRUE(gatrec::read_llm_profile(skeleton).ok);
  r = gatrec::read_llm_profile(skeleton, {}, skeleton);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "the Overview copies the format's placeholder text");
  EXPECT_TRUE(gatrec::read_llm_profile(good, {}, skeleton).ok);

  EXPECT_FALSE(gatrec::read_llm_profile("I cannot help with that.").ok);
  EXPECT_EQ(gatrec::read_llm_profile("I cannot help with that.").reason, "no Markdown heading");
  EXPECT_FALSE(gatrec::read_llm_profile("# Title\n## Description\nonly this").ok);
  EXPECT_FALSE(gatrec::read_llm_profile("## Overview\nonly an overview").ok);
  EXPECT_FALSE(gatrec::read_llm_profile("").ok);
}

TEST(ProfileBuilder, PromptsCarryTheBatchAndThePreviousProfile) {
  gatrec::chat_options co;
  co.url = "http://127.0.0.1:9";  // never contacted: prompts are built without a request
  co.model = "m";
  gatrec::chat_client chat(co);
  const gatrec::llm_profile_builder builder(chat);
  std::vector<gatrec::item_info> items(50);
  for (int k = 0; k < 50; ++k) items[static_cast<std::size_t>(k)] = {"Movie " + std::to_string(k), 1990 + k % 10, {"Drama"}, "", "", "", 0, {}};
  items[12].title = "Usual Suspects, The";
  items[12].year = 1995;
  const gatrec::rating_table t = ratings_of_user_zero();
  const auto batches = gatrec::user_rating_batches(t, 0);
  const std::string first = builder.user_prompt(t, batches[0], items, nullptr);
  EXPECT_NE(first.find("- The Usual Suspects (1995); Drama; rated 5"), std::string::npos) << first;
  EXPECT_NE(first.find("rated 4 or higher"), std::string::npos) << first;
  EXPECT_EQ(first.find("{{"), std::string::npos) << first;
  gatrec::profile previous;
  previous.overview = "PREVIOUS OVERVIEW";
  const std::string later = builder.user_prompt(t, batches[2], items, &previous);
  EXPECT_NE(later.find("PREVIOUS OVERVIEW"), std::string::npos) << later;
  EXPECT_NE(later.find("rated 2 or lower"), std::string::npos) << later;
  const std::string item = builder.item_prompt(items[12], "Five criminals meet in a line-up.");
  EXPECT_NE(item.find("Title: The Usual Suspects"), std::string::npos) << item;
  EXPECT_NE(item.find("Plot: Five criminals meet in a line-up."), std::string::npos) << item;
  EXPECT_NE(item.find("# The Usual Suspects\n## Overview"), std::string::npos) << item;

  gatrec::profile_builder_options bad;
  bad.prompts.item = "{{title}} {{plot}}";
  EXPECT_THROW(gatrec::llm_profile_builder(chat, bad), gatrec::logic_error);
}

}  // namespace

}  // namespace test_llm_core
