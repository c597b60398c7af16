#pragma once

/// @file
/// @brief Named evaluation results ("recall@10" -> 0.2173), each with the number of users its mean
/// ran over.

#include <cstdio>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// One result: a mean over users and how many users it averaged.
struct metric_entry {
  std::string name;  ///< lower-case metric name and cut-off, e.g. "ndcg@20"
  double value = 0.0;
  index_t users = 0;  ///< users in the mean; the value is 0 when this is 0
};

/// Evaluation results keyed by lower-case names such as "recall@10", in the order they were added.
///
/// Means carry their own user count because protocols average different metrics over different
/// users (the rated-only protocol averages precision over users with a non-empty filtered list and
/// recall over users with a relevant test item), and a figure is only comparable with its population.
class metric_table {
 public:
  /// Number of users the protocol evaluated (see each protocol for which users these are).
  index_t num_users = 0;

  /// Adds or replaces `name`.
  void set(const std::string& name, double value, index_t users) {
    for (auto& e : entries_)
      if (e.name == name) {
        e.value = value;
        e.users = users;
        return;
      }
    entries_.push_back(metric_entry{name, value, users});
  }

  /// True when `name` is present.
  bool contains(const std::string& name) const { return find(name) != nullptr; }

  /// The value of `name`. @throw logic_error when absent, listing the names that exist
  double at(const std::string& name) const { return entry(name).value; }
  /// Shorthand for at().
  double operator[](const std::string& name) const { return at(name); }

  /// The entry of `name`. @throw logic_error when absent
  const metric_entry& entry(const std::string& name) const {
    if (const metric_entry* e = find(name)) return *e;
    std::string known;
    for (const auto& e : entries_) known += (known.empty() ? "" : ", ") + e.name;
    detail::throw_logic_error("metric_table::at", "no metric '" + name + "' (have: " + known + ")");
  }

  /// Every entry, in insertion order.
  const std::vector<metric_entry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

  /// One "name value (users)" line per entry, values to `decimals` places: for logs and reports.
  std::string to_string(int decimals = 4) const {
    std::string out;
    char buf[64];
    for (const auto& e : entries_) {
      std::snprintf(buf, sizeof buf, "%.*f", decimals, e.value);
      out += e.name + " " + buf + " (" + std::to_string(e.users) + " users)\n";
    }
    return out;
  }

 private:
  const metric_entry* find(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e;
    return nullptr;
  }

  std::vector<metric_entry> entries_;
};

/// The conventional name of a metric at a cut-off: metric_name("ndcg", 10) == "ndcg@10".
inline std::string metric_name(const std::string& metric, int k) { return metric + "@" + std::to_string(k); }

}  // namespace gatrec
