#pragma once

/// @file
/// @brief POSTing JSON to an LLM or embeddings server with libcurl: connect and total timeouts,
/// retries with exponential back-off and seeded jitter, `Retry-After` honoured, the API key taken
/// from the environment, and typed errors (llm_error).
///
/// Retried: connection failures (refused, reset, nothing received), timeouts, HTTP 429 and 5xx.
/// Not retried: other 4xx (the request itself is wrong; sending it again cannot help), malformed
/// URLs, answers larger than the configured limit. A 429 or 503 with `Retry-After` waits exactly
/// that long (the server knows when it will have room); without one, the k-th retry waits
/// min(max_backoff, initial_backoff * 2^k) scaled by a factor drawn uniformly from
/// [1 - jitter, 1], so that many clients started together do not retry in lock step.

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "gatrec/core/error.hpp"
#include "gatrec/llm/llm_error.hpp"
#include "gatrec/version.hpp"

namespace gatrec {

/// How an http_client talks to a server.
struct http_options {
  std::chrono::milliseconds connect_timeout{10'000};  ///< to establish the TCP connection
  std::chrono::milliseconds total_timeout{300'000};   ///< for one whole attempt; LLM replies can be slow
  std::size_t max_retries = 4;                        ///< attempts = 1 + max_retries
  std::chrono::milliseconds initial_backoff{500};     ///< wait before the first retry (before jitter)
  std::chrono::milliseconds max_backoff{30'000};      ///< longest wait between attempts (before jitter)
  double jitter = 0.5;                                ///< in [0, 1]: each wait is scaled by U[1 - jitter, 1]
  std::uint64_t seed = 0x6761747265636c6cULL;         ///< seeds the jitter, so that runs are repeatable
  /// A `Retry-After` longer than this ends the retries at once with an llm_error: waiting less
  /// than the server asks only earns another 429.
  std::chrono::seconds max_retry_after{120};
  /// The bearer token. Unset: read from the environment (api_key_from_environment()); set to an
  /// empty string: send no Authorization header.
  std::optional<std::string> api_key;
  std::size_t max_response_bytes = std::size_t{256} << 20;  ///< larger answers are an error
};

/// A 2xx answer.
struct http_response {
  long status = 0;   ///< the HTTP status
  std::string body;  ///< the body, as received
  std::size_t attempts = 1;  ///< requests it took (1 + retries)
};

/// What a client has done so far.
struct http_stats {
  std::size_t calls = 0;     ///< post_json calls
  std::size_t requests = 0;  ///< requests sent, retries included
  std::size_t retries = 0;   ///< requests sent again after a retryable failure
  std::size_t failures = 0;  ///< post_json calls that threw
};

/// The API key in the environment: `GATREC_LLM_API_KEY`, else `OPENAI_API_KEY`; empty values
/// count as unset. Local servers (llama.cpp, Ollama, vLLM) need none.
inline std::optional<std::string> api_key_from_environment() {
  for (const char* name : {"GATREC_LLM_API_KEY", "OPENAI_API_KEY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return std::string(value);
  }
  return std::nullopt;
}

namespace detail {

/// `url` with any "user:password@" removed, for messages.
inline std::string redact_url(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t host = scheme + 3;
  const std::size_t end = url.find_first_of("/?#", host);
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + "***@" + std::string(url.substr(at + 1));
}

/// Seconds a `Retry-After` header value asks for: either a number of seconds ("120", "1.5") or
/// an HTTP date, counted from `now`. nullopt when the value is neither; a date in the past is 0.
inline std::optional<double> parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' || value.back() == '\n'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  const std::string text(value);
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds < 0) return std::nullopt;
    return seconds;
  }
  const std::time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == static_cast<std::time_t>(-1)) return std::nullopt;
  return when > now ? static_cast<double>(when - now) : 0.0;
}

/// Wait before retry `retry` (0-based) without Retry-After: min(max, initial * 2^retry) scaled by
/// (1 - jitter * u) for u in [0, 1).
inline std::chrono::milliseconds backoff_delay(const http_options& o, std::size_t retry, double u) {
  const double base = std::min(static_cast<double>(o.max_backoff.count()),
                               static_cast<double>(o.initial_backoff.count()) * std::ldexp(1.0, static_cast<int>(std::min<std::size_t>(retry, 60))));
  const double scaled = base * (1.0 - std::clamp(o.jitter, 0.0, 1.0) * u);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(scaled)));
}

/// Whether an HTTP status is worth sending the request again for.
inline bool retryable_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

/// libcurl's global state, set up once per process before the first handle (thread-safe since
/// C++11 static initialisation) and cleaned up at exit.
inline void curl_global_setup() {
  struct global {
    global() : code(curl_global_init(CURL_GLOBAL_DEFAULT)) {}
    ~global() {
      if (code == CURLE_OK) curl_global_cleanup();
    }
    global(const global&) = delete;
    global& operator=(const global&) = delete;
    CURLcode code;
  };
  static const global state;
  if (state.code != CURLE_OK)
    throw error(std::string("libcurl could not be initialised: ") + curl_easy_strerror(state.code));
}

struct curl_easy_deleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct curl_slist_deleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

/// An owned libcurl easy handle.
using curl_easy_ptr = std::unique_ptr<CURL, curl_easy_deleter>;
/// An owned libcurl header list.
using curl_slist_ptr = std::unique_ptr<curl_slist, curl_slist_deleter>;

/// What one attempt brought back.
struct http_attempt {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::optional<double> retry_after;
  bool too_large = false;
  std::string curl_message;
};

inline bool ascii_iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t k = 0; k < prefix.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(text[k])) != std::tolower(static_cast<unsigned char>(prefix[k])))
      return false;
  return true;
}

}  // namespace detail

/// A JSON-over-HTTP client with timeouts, retries and typed errors.
///
/// One client holds one libcurl handle, so consecutive requests reuse the connection. Calls are
/// serialised by a mutex: share a client between threads only when that is acceptable.
class http_client {
 public:
  /// @throw logic_error for negative timeouts or a jitter outside [0, 1]
  /// @throw error when libcurl cannot be initialised
  explicit http_client(http_options options = {}) : options_(std::move(options)), rng_(options_.seed) {
    GATREC_EXPECTS(options_.connect_timeout.count() > 0 && options_.total_timeout.count() > 0,
                   "timeouts must be positive");
    GATREC_EXPECTS(options_.initial_backoff.count() >= 0 && options_.max_backoff.count() >= 0,
                   "back-off times must not be negative");
    GATREC_EXPECTS(options_.jitter >= 0.0 && options_.jitter <= 1.0, "jitter must be in [0, 1]");
    if (!options_.api_key) options_.api_key = api_key_from_environment();
    detail::curl_global_setup();
    handle_.reset(curl_easy_init());
    if (!handle_) throw error("libcurl could not create a handle");
  }

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// POSTs `json_body` with `Content-Type: application/json` (and `Authorization: Bearer <key>`
  /// when a key is set), retrying as the file comment describes.
  /// @param url the full endpoint URL (http or https)
  /// @param json_body the request body
  /// @return the first 2xx answer
  /// @throw llm_error with the kind, the URL, the last status, the number of attempts and a body
  ///        excerpt when no attempt succeeds, or at once for a non-retryable failure
  http_response post_json(const std::string& url, const std::string& json_body) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.calls;
    const std::string shown_url = detail::redact_url(url);
    const std::size_t max_attempts = options_.max_retries + 1;
    for (std::size_t attempt = 1;; ++attempt) {
      ++stats_.requests;
      detail::http_attempt a = perform(url, json_body);

      llm_error_kind kind = llm_error_kind::transport;
      bool retry = false;
      std::string what;
      if (a.code == CURLE_OK) {
        if (a.status >= 200 && a.status <= 299) return {a.status, std::move(a.body), attempt};
        kind = llm_error_kind::http_status;
        retry = detail::retryable_status(a.status);
        what = retry ? "the server answered " + std::to_string(a.status) : "the server refused the request";
      } else if (a.too_large) {
        kind = llm_error_kind::bad_response;
        what = "the answer is larger than " + std::to_string(options_.max_response_bytes) + " bytes";
      } else {
        switch (a.code) {
          case CURLE_OPERATION_TIMEDOUT:
            kind = llm_error_kind::timeout;
            retry = true;
            break;
          case CURLE_COULDNT_CONNECT:
          case CURLE_COULDNT_RESOLVE_HOST:
          case CURLE_COULDNT_RESOLVE_PROXY:
          case CURLE_SEND_ERROR:
          case CURLE_RECV_ERROR:
          case CURLE_GOT_NOTHING:
          case CURLE_PARTIAL_FILE:
            kind = llm_error_kind::connection;
            retry = true;
            break;
          default: break;
        }
        what = a.curl_message;
      }

      if (!retry || attempt >= max_attempts) {
        ++stats_.failures;
        if (retry) what += " (retries exhausted)";
        throw llm_error(kind, shown_url, a.status, attempt, what, a.body);
      }
      std::chrono::milliseconds wait{};
      if (a.retry_after) {
        if (*a.retry_after > static_cast<double>(options_.max_retry_after.count())) {
          ++stats_.failures;
          throw llm_error(kind, shown_url, a.status, attempt,
                          what + "; Retry-After asks for " + std::to_string(static_cast<long long>(*a.retry_after)) +
                              " s, more than the limit of " + std::to_string(options_.max_retry_after.count()) + " s",
                          a.body);
        }
        wait = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*a.retry_after * 1000.0)));
      } else {
        wait = detail::backoff_delay(options_, attempt - 1, std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
      }
      ++stats_.retries;
      std::this_thread::sleep_for(wait);
    }
  }

  /// Counts of calls, requests and retries so far.
  http_stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  /// The options in force (the API key resolved from the environment when it was not given).
  const http_options& options() const { return options_; }

  /// True when requests carry an Authorization header.
  bool has_api_key() const { return options_.api_key && !options_.api_key->empty(); }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* a = static_cast<std::pair<detail::http_attempt*, std::size_t>*>(user);
    const std::size_t n = size * count;
    if (a->first->body.size() + n > a->second) {
      a->first->too_large = true;
      return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    a->first->body.append(data, n);
    return n;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* a = static_cast<std::pair<detail::http_attempt*, std::size_t>*>(user);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    if (detail::ascii_iequals_prefix(line, "HTTP/")) {
      a->first->retry_after.reset();  // a new response (after a 100 Continue, say) starts over
    } else if (detail::ascii_iequals_prefix(line, "retry-after:")) {
      a->first->retry_after = detail::parse_retry_after(line.substr(12), std::time(nullptr));
    }
    return n;
  }

  detail::http_attempt perform(const std::string& url, const std::string& body) {
    detail::http_attempt a;
    CURL* h = handle_.get();
    curl_easy_reset(h);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    std::pair<detail::http_attempt*, std::size_t> sink{&a, options_.max_response_bytes};

    detail::curl_slist_ptr headers;
    const auto add_header = [&headers](const std::string& header) {
      curl_slist* grown = curl_slist_append(headers.get(), header.c_str());
      if (grown == nullptr) throw error("libcurl could not allocate a header list");
      (void)headers.release();
      headers.reset(grown);
    };
    add_header("Content-Type: application/json");
    add_header("Accept: application/json");
    add_header("Expect:");  // no "100 Continue" round trip for large bodies
    if (has_api_key()) add_header("Authorization: Bearer " + *options_.api_key);

    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: safe in threads
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    const std::string agent = "gatrec/" + std::to_string(GATREC_VERSION_MAJOR) + "." +
                              std::to_string(GATREC_VERSION_MINOR) + "." + std::to_string(GATREC_VERSION_PATCH);
    curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());  // libcurl copies string options
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &http_client::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &http_client::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode

    a.code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    if (a.code != CURLE_OK) {
      a.curl_message = curl_easy_strerror(a.code);
      if (error_buffer[0] != '\0') a.curl_message += std::string(" (") + error_buffer + ")";
    }
    // The handle must not keep pointers into this frame.
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    return a;
  }

  http_options options_;
  detail::curl_easy_ptr handle_;
  std::mt19937_64 rng_;
  http_stats stats_;
  mutable std::mutex mutex_;
};

}  // namespace gatrec
