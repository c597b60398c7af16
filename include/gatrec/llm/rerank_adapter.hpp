#pragma once

/// @file
/// @brief A gatrec::chat_client as the chat function of the re-ranking strategies
/// (`gatrec/rerank/`), which know nothing of HTTP. Needs gatrec::llm.
///
/// The client's disk cache (chat_options::cache) keys each answer by the whole request body
/// (model, messages, temperature, max_tokens, seed): the strategies send temperature 0 and a fixed
/// seed, so a second run over the same users reads every answer from the cache.

#include <string>

#include "gatrec/llm/chat_client.hpp"
#include "gatrec/rerank/chat.hpp"

namespace gatrec {

/// The chat request for a re-ranking request: same messages, max_tokens, temperature and seed.
inline chat_request to_chat_request(const rerank_request& r) {
  chat_request c;
  for (const rerank_message& m : r.messages) c.messages.push_back(chat_message{m.role, m.content});
  c.max_tokens = r.max_tokens;
  c.temperature = r.temperature;
  c.seed = r.seed;
  return c;
}

/// A chat function that sends each request through `client` and returns the reply text. The client
/// must outlive the function. Its llm_error (server unreachable after retries, a malformed
/// answer) propagates to limited_chat, which counts it.
inline chat_function rerank_chat(chat_client& client) {
  return [&client](const rerank_request& r) -> std::string { return client.complete(to_chat_request(r)).content; };
}

}  // namespace gatrec
