#pragma once

/// @file
/// @brief Chat completions from an OpenAI-compatible `POST /v1/chat/completions` server
/// (llama.cpp server, Ollama, vLLM, OpenAI), with the HTTP layer's timeouts and retries and an
/// optional disk cache.
///
/// The cache key is the whole request body (model, messages, temperature, max_tokens, seed), so
/// a changed prompt or setting is a new entry. Answers are cached whatever the temperature: a
/// pipeline that is run again gets the same profiles. Give no cache for fresh samples.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/llm/http_client.hpp"
#include "gatrec/llm/llm_error.hpp"
#include "gatrec/llm/openai_api.hpp"
#include "gatrec/llm/response_cache.hpp"

namespace gatrec {

/// One message of a conversation.
struct chat_message {
  std::string role;     ///< "system", "user" or "assistant"
  std::string content;  ///< its text
};

/// What to ask.
struct chat_request {
  std::vector<chat_message> messages;
  double temperature = 0.0;         ///< 0: the most likely tokens (as deterministic as the server allows)
  int max_tokens = 512;             ///< reply length limit, in tokens
  std::optional<std::int64_t> seed; ///< sampling seed, sent when set and the client's send_seed is on
};

/// Where and how to ask.
struct chat_options {
  /// The server: its root, its "/v1" or the full ".../v1/chat/completions".
  std::string url;
  /// The model name sent with each request; it also keys the cache.
  std::string model;
  http_options http;                      ///< timeouts, retries, API key
  std::shared_ptr<response_cache> cache;  ///< null: no caching
  /// Whether a request's seed is sent; turn off for servers that reject the field.
  bool send_seed = true;
  /// Extra request members (for example {"top_p": 0.9}); they are part of the cache key.
  nlohmann::json extra_body = nlohmann::json::object();
};

/// A chat answer.
struct chat_reply {
  std::string content;        ///< the assistant message's text
  std::string finish_reason;  ///< "stop", "length" (cut at max_tokens), ... or empty when not given
  std::size_t prompt_tokens = 0;      ///< from the answer's usage, 0 when not given
  std::size_t completion_tokens = 0;  ///< from the answer's usage, 0 when not given
  bool from_cache = false;            ///< true when read from the cache
};

/// What a chat_client has done so far.
struct chat_stats {
  std::size_t calls = 0;       ///< complete() calls
  std::size_t cache_hits = 0;  ///< answered from the cache
  std::size_t fetched = 0;     ///< answered by the server
};

/// A client of one chat-completions endpoint and model.
class chat_client {
 public:
  /// @throw logic_error for an empty model, a URL without http(s):// or a non-object extra_body
  explicit chat_client(chat_options options)
      : options_(std::move(options)), endpoint_(openai_endpoint_url(options_.url, "chat/completions")), http_(options_.http) {
    GATREC_EXPECTS(!options_.model.empty(), "the chat model name is empty");
    GATREC_EXPECTS(options_.extra_body.is_object(), "extra_body must be a JSON object");
  }

  /// The request body that complete() sends for `request`.
  /// @throw logic_error for no messages, an empty role, max_tokens < 1 or text that is not UTF-8
  std::string request_body(const chat_request& request) const {
    GATREC_EXPECTS(!request.messages.empty(), "a chat request needs at least one message");
    GATREC_EXPECTS(request.max_tokens >= 1, "max_tokens must be at least 1");
    nlohmann::json j = options_.extra_body;
    j["model"] = options_.model;
    j["messages"] = nlohmann::json::array();
    for (const chat_message& m : request.messages) {
      GATREC_EXPECTS(!m.role.empty(), "a chat message has no role");
      j["messages"].push_back({{"role", m.role}, {"content", m.content}});
    }
    j["temperature"] = request.temperature;
    j["max_tokens"] = request.max_tokens;
    if (request.seed && options_.send_seed) j["seed"] = *request.seed;
    j["stream"] = false;
    try {
      return j.dump();
    } catch (const nlohmann::json::type_error& e) {
      throw logic_error(std::string("chat request is not valid UTF-8: ") + e.what());
    }
  }

  /// Sends `request` (or reads its answer from the cache).
  /// @throw llm_error when the server cannot be reached or the answer has no message text
  /// @throw logic_error for a malformed request (see request_body)
  chat_reply complete(const chat_request& request) {
    const std::string body = request_body(request);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.calls;
    }
    if (options_.cache) {
      if (std::optional<chat_reply> r = cached(body)) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.cache_hits;
        return *r;
      }
    }
    const http_response answer = http_.post_json(endpoint_, body);
    chat_reply r = parse_answer(answer);
    if (options_.cache) {
      const nlohmann::json payload = {{"content", r.content},
                                      {"finish_reason", r.finish_reason},
                                      {"prompt_tokens", r.prompt_tokens},
                                      {"completion_tokens", r.completion_tokens}};
      options_.cache->put(cache_kind, options_.model, body, payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.fetched;
    return r;
  }

  /// A system message and a user message; the reply's text.
  std::string complete(const std::string& system, const std::string& user, int max_tokens = 512) {
    chat_request request;
    if (!system.empty()) request.messages.push_back({"system", system});
    request.messages.push_back({"user", user});
    request.max_tokens = max_tokens;
    return complete(request).content;
  }

  /// The endpoint URL requests go to.
  const std::string& endpoint() const { return endpoint_; }
  /// The model name.
  const std::string& model() const { return options_.model; }
  /// Calls, cache hits and fetched answers so far.
  chat_stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  /// HTTP requests and retries so far.
  http_stats transport_stats() const { return http_.stats(); }

 private:
  static constexpr const char* cache_kind = "chat";

  /// The cached reply to `body`; nullopt for a miss or a payload this version cannot read (the
  /// fresh answer then replaces it).
  std::optional<chat_reply> cached(const std::string& body) const {
    const std::optional<std::string> payload = options_.cache->get(cache_kind, options_.model, body);
    if (!payload) return std::nullopt;
    const nlohmann::json j = nlohmann::json::parse(*payload, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    const auto content = j.find("content");
    if (content == j.end() || !content->is_string()) return std::nullopt;
    chat_reply r;
    r.content = content->get<std::string>();
    if (const auto it = j.find("finish_reason"); it != j.end() && it->is_string()) r.finish_reason = it->get<std::string>();
    if (const auto it = j.find("prompt_tokens"); it != j.end() && it->is_number_unsigned())
      r.prompt_tokens = it->get<std::size_t>();
    if (const auto it = j.find("completion_tokens"); it != j.end() && it->is_number_unsigned())
      r.completion_tokens = it->get<std::size_t>();
    r.from_cache = true;
    return r;
  }

  chat_reply parse_answer(const http_response& answer) const {
    const nlohmann::json j = detail::parse_json_answer(endpoint_, answer);
    const auto bad = [&](const std::string& what) { detail::throw_bad_answer(endpoint_, answer, what); };
    const auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty()) bad("the answer has no 'choices'");
    const nlohmann::json& first = (*choices)[0];
    if (!first.is_object()) bad("choices[0] is not an object");
    const auto message = first.find("message");
    if (message == first.end() || !message->is_object()) bad("choices[0] has no 'message' object");
    const auto content = message->find("content");
    if (content == message->end() || !content->is_string()) bad("choices[0].message has no text 'content'");
    chat_reply r;
    r.content = content->get<std::string>();
    if (const auto reason = first.find("finish_reason"); reason != first.end() && reason->is_string())
      r.finish_reason = reason->get<std::string>();
    if (const auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
      const auto count = [&](const char* name) -> std::size_t {
        const auto it = usage->find(name);
        return it != usage->end() && it->is_number_unsigned() ? it->get<std::size_t>() : 0;
      };
      r.prompt_tokens = count("prompt_tokens");
      r.completion_tokens = count("completion_tokens");
    }
    return r;
  }

  chat_options options_;
  std::string endpoint_;
  http_client http_;
  chat_stats stats_;
  mutable std::mutex mutex_;
};

}  // namespace gatrec
