#pragma once

/// @file
/// @brief What the OpenAI-compatible clients share: endpoint URLs from a server address, and
/// reading a JSON answer into an llm_error when it is not JSON.
///
/// llama.cpp's server, Ollama, vLLM and OpenAI all serve `POST /v1/embeddings` and
/// `POST /v1/chat/completions` with the same request and answer shapes.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "gatrec/core/error.hpp"
#include "gatrec/llm/http_client.hpp"
#include "gatrec/llm/llm_error.hpp"

namespace gatrec {

/// The URL of an OpenAI-compatible endpoint from a server address. `base` may be the server root
/// ("http://127.0.0.1:8080"), its API root (".../v1") or already the endpoint itself; a trailing
/// slash is ignored.
/// @param base the address the user gave
/// @param endpoint "embeddings" or "chat/completions"
/// @throw logic_error when `base` is empty or has no "http://" or "https://" scheme
inline std::string openai_endpoint_url(std::string_view base, std::string_view endpoint) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  GATREC_EXPECTS(base.substr(0, 7) == "http://" || base.substr(0, 8) == "https://",
                 "server address '" + std::string(base) + "' must start with http:// or https://");
  const auto ends_with = [](std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
  };
  const std::string slash_endpoint = "/" + std::string(endpoint);
  if (ends_with(base, slash_endpoint)) return std::string(base);
  if (ends_with(base, "/v1")) return std::string(base) + slash_endpoint;
  return std::string(base) + "/v1" + slash_endpoint;
}

namespace detail {

/// Throws the bad_response llm_error for a 2xx answer from `url` whose content is wrong.
[[noreturn]] inline void throw_bad_answer(const std::string& url, const http_response& answer, const std::string& what) {
  throw llm_error(llm_error_kind::bad_response, redact_url(url), answer.status, answer.attempts, what, answer.body);
}

/// The JSON object in a 2xx answer's body.
/// @throw llm_error (bad_response) when the body is not JSON or not an object
inline nlohmann::json parse_json_answer(const std::string& url, const http_response& answer) {
  nlohmann::json j = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw_bad_answer(url, answer, "the answer is not valid JSON");
  if (!j.is_object()) throw_bad_answer(url, answer, std::string("the answer is JSON but not an object (") + j.type_name() + ")");
  return j;
}

}  // namespace detail

}  // namespace gatrec
