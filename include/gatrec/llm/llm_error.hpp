#pragma once

/// @file
/// @brief The exception every gatrec::llm client throws when a language-model or embeddings
/// server cannot be reached or answers something unusable.
///
/// The message names the URL, the HTTP status when there was one, how many attempts were made
/// and a short, printable excerpt of the body. It never contains request headers, so an API key
/// cannot leak through it.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "gatrec/core/error.hpp"

namespace gatrec {

/// What went wrong with a request to an LLM or embeddings server.
enum class llm_error_kind {
  connection,    ///< no connection (refused, unreachable, reset, name not resolved)
  timeout,       ///< the connect or total timeout ran out
  http_status,   ///< the server answered with a non-2xx status
  bad_response,  ///< a 2xx answer that is not what the endpoint promises (JSON, fields, counts, values)
  transport,     ///< any other transfer failure reported by libcurl
};

/// Name of a kind, for messages: "connection", "timeout", ...
inline const char* to_string(llm_error_kind kind) {
  switch (kind) {
    case llm_error_kind::connection: return "connection";
    case llm_error_kind::timeout: return "timeout";
    case llm_error_kind::http_status: return "http_status";
    case llm_error_kind::bad_response: return "bad_response";
    case llm_error_kind::transport: return "transport";
  }
  return "?";
}

namespace detail {

/// At most `max_bytes` of `body` on one line: control characters become spaces, a cut in the
/// middle of a UTF-8 sequence is moved back to its start, and "..." marks a cut.
inline std::string body_excerpt(std::string_view body, std::size_t max_bytes = 200) {
  std::size_t n = body.size() <= max_bytes ? body.size() : max_bytes;
  if (n < body.size())
    while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80) --n;  // continuation byte
  std::string out;
  out.reserve(n + 3);
  for (std::size_t k = 0; k < n; ++k) {
    const auto c = static_cast<unsigned char>(body[k]);
    out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
  }
  if (n < body.size()) out += "...";
  return out;
}

}  // namespace detail

/// A request to an LLM or embeddings server failed.
class llm_error : public error {
 public:
  /// @param kind what failed
  /// @param url the URL requested (never with credentials)
  /// @param status the HTTP status of the last answer, 0 when there was none
  /// @param attempts how many times the request was sent
  /// @param what what went wrong, in words
  /// @param body the body of the last answer (only an excerpt is kept)
  llm_error(llm_error_kind kind, std::string url, long status, std::size_t attempts, const std::string& what,
            std::string_view body = {})
      : error(format(kind, url, status, attempts, what, body)),
        kind_(kind),
        url_(std::move(url)),
        status_(status),
        attempts_(attempts),
        excerpt_(detail::body_excerpt(body)) {}

  llm_error_kind kind() const noexcept { return kind_; }
  /// The URL that was requested.
  const std::string& url() const noexcept { return url_; }
  /// HTTP status of the last answer; 0 when no answer came (connection errors, timeouts).
  long status() const noexcept { return status_; }
  /// How many times the request was sent (1 + retries).
  std::size_t attempts() const noexcept { return attempts_; }
  /// The first 200 bytes of the last answer's body, on one line.
  const std::string& body_excerpt() const noexcept { return excerpt_; }

 private:
  static std::string format(llm_error_kind kind, const std::string& url, long status, std::size_t attempts,
                            const std::string& what, std::string_view body) {
    std::string msg = "llm request to " + url + " failed (" + to_string(kind);
    if (status != 0) msg += ", HTTP " + std::to_string(status);
    msg += ", " + std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)");
    if (!what.empty()) msg += ": " + what;
    if (!body.empty()) msg += "; body: " + detail::body_excerpt(body);
    return msg;
  }

  llm_error_kind kind_;
  std::string url_;
  long status_;
  std::size_t attempts_;
  std::string excerpt_;
};

}  // namespace gatrec
