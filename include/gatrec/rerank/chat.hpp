#pragma once

/// @file
/// @brief What the re-ranking strategies talk to: a plain chat function (messages in, reply text
/// out) behind per-user and per-run call limits, with the counts a report needs.
///
/// The strategies never see HTTP: any callable that turns a rerank_request into a reply will do.
/// A real server is plugged in with `gatrec/llm/rerank_adapter.hpp` (needs gatrec::llm); tests
/// plug in an ordinary C++ function that computes its answer from the prompt text. So everything
/// under `gatrec/rerank/` compiles with the standard library alone.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"

namespace gatrec {

/// One message of a re-ranking prompt.
struct rerank_message {
  std::string role;     ///< "system" or "user"
  std::string content;  ///< its text
};

/// One request to the model.
struct rerank_request {
  std::vector<rerank_message> messages;
  int max_tokens = 64;       ///< reply length limit, in tokens
  double temperature = 0.0;  ///< 0: the most likely tokens, so that runs repeat
  std::int64_t seed = 42;    ///< sampling seed sent with the request
};

/// The model: the reply text of one request. It throws (any std::exception) when the call fails;
/// a reply it cannot make sense of is returned as it is, the strategies judge it.
using chat_function = std::function<std::string(const rerank_request&)>;

/// What re-ranking cost and how often the model's output had to be repaired or ignored. Counts add
/// up over users (operator+=).
struct rerank_counts {
  std::size_t users = 0;         ///< users re-ranked
  std::size_t calls = 0;         ///< chat calls made (answered from a disk cache or not)
  std::size_t call_errors = 0;   ///< calls that threw (server errors after the client's retries)
  std::size_t malformed = 0;     ///< replies that could not be used at all (garbage, empty, out of range)
  std::size_t repaired = 0;      ///< rankings used after repair (duplicates, unknown or missing ids)
  std::size_t budget_limited = 0;  ///< users for whom a call limit stopped the strategy early
  std::size_t fallback_users = 0;  ///< users left in the base order because nothing usable came back
  std::size_t memo_hits = 0;     ///< pairwise: comparisons answered from the per-user memo
  std::size_t changed_users = 0; ///< users whose top-N order differs from the base order

  rerank_counts& operator+=(const rerank_counts& o) {
    users += o.users;
    calls += o.calls;
    call_errors += o.call_errors;
    malformed += o.malformed;
    repaired += o.repaired;
    budget_limited += o.budget_limited;
    fallback_users += o.fallback_users;
    memo_hits += o.memo_hits;
    changed_users += o.changed_users;
    return *this;
  }
};

/// A chat function behind two call limits: one per user (reset by start_user) and one for the
/// object's lifetime (a whole run). A call that would pass either limit is not made. A call that
/// throws counts as a call and an error; after `max_consecutive_errors` failures in a row the
/// error is passed on, so that a server that is down stops the run instead of quietly leaving every
/// list in its base order.
class limited_chat {
 public:
  /// @param chat the model
  /// @param total_limit calls allowed over the object's lifetime; 0: no limit
  /// @param max_consecutive_errors failed calls in a row that end the run (at least 1)
  /// @throw logic_error for an empty chat function or max_consecutive_errors = 0
  explicit limited_chat(chat_function chat, std::size_t total_limit = 0, std::size_t max_consecutive_errors = 3)
      : chat_(std::move(chat)), total_limit_(total_limit), max_errors_(max_consecutive_errors) {
    GATREC_EXPECTS(static_cast<bool>(chat_), "the chat function is empty");
    GATREC_EXPECTS(max_errors_ >= 1, "max_consecutive_errors must be at least 1");
  }

  /// Starts a user's budget. @param per_user_limit calls allowed for this user; 0: no limit
  void start_user(std::size_t per_user_limit) {
    user_limit_ = per_user_limit;
    user_calls_ = 0;
  }

  /// True when one more call fits both limits.
  bool can_call() const {
    return (total_limit_ == 0 || total_calls_ < total_limit_) && (user_limit_ == 0 || user_calls_ < user_limit_);
  }

  /// Asks the model; nullopt when a limit forbids the call or the call failed (both counted in
  /// `counts`: a failed call in calls and call_errors).
  /// @throw whatever the chat function threw, once max_consecutive_errors calls in a row failed
  std::optional<std::string> ask(const rerank_request& request, rerank_counts& counts) {
    if (!can_call()) return std::nullopt;
    ++total_calls_;
    ++user_calls_;
    ++counts.calls;
    try {
      std::string reply = chat_(request);
      consecutive_errors_ = 0;
      return reply;
    } catch (const std::exception&) {
      ++counts.call_errors;
      if (++consecutive_errors_ >= max_errors_) throw;
      return std::nullopt;
    }
  }

  std::size_t total_calls() const { return total_calls_; }  ///< calls made so far
  std::size_t user_calls() const { return user_calls_; }    ///< calls made for the current user
  std::size_t total_limit() const { return total_limit_; }

 private:
  chat_function chat_;
  std::size_t total_limit_ = 0, user_limit_ = 0;
  std::size_t total_calls_ = 0, user_calls_ = 0;
  std::size_t max_errors_ = 3, consecutive_errors_ = 0;
};

}  // namespace gatrec
