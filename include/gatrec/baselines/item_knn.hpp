#pragma once

/// @file
/// @brief ItemKNN: item-item cosine similarity over the binary training matrix, pruned to each item's
/// k nearest neighbours; scores = X · S_k (Deshpande & Karypis, "Item-based top-N recommendation
/// algorithms", TOIS 2004; Sarwar et al., WWW 2001).
///
/// With n_i the number of users of item i and c_ij the number of users of both i and j (X binary):
///
///     s_ij = c_ij / (sqrt(n_i · n_j) + h)        (i ≠ j; h >= 0 the shrinkage, 0 for plain cosine)
///
/// Row i of S_k keeps the k largest s_ij (ties to the lower j; zero similarities are never kept) and
/// the diagonal is excluded. score(u, j) = Σ_{i ∈ X_u} S_k[i, j]: each item the user has votes for
/// its own k nearest neighbours. The shrinkage damps similarities supported by few common users.
///
/// S_k is sparse (at most k entries per item) and computed row by row from the sparse data, so the
/// model scales to catalogues where a dense items x items matrix (EASE) does not fit.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "gatrec/baselines/interaction_matrix.hpp"
#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/models/scorer.hpp"

namespace gatrec {

/// Options of item_knn_scorer.
struct item_knn_options {
  index_t neighbours = 100;  ///< k, neighbours kept per item (capped at num_items - 1)
  double shrinkage = 0.0;    ///< h in the denominator; 0 is plain cosine
  /// X[u, i] = 1 for training ratings >= this value; std::nullopt uses every training rating.
  std::optional<float> min_rating = 4.0f;
};

/// ItemKNN as a scorer: S_k fitted once at construction.
class item_knn_scorer final : public scorer {
 public:
  /// Fits S_k on the training ratings.
  /// @throw logic_error when k < 1, the shrinkage is negative or not finite, or a rating is out of range
  item_knn_scorer(index_t num_users, index_t num_items, const rating_table& train,
                  const item_knn_options& options = item_knn_options())
      : options_(options) {
    GATREC_EXPECTS(options.neighbours >= 1, "neighbours must be at least 1, got " + std::to_string(options.neighbours));
    GATREC_EXPECTS(options.shrinkage >= 0.0 && std::isfinite(options.shrinkage),
                   "shrinkage must be finite and not negative, got " + std::to_string(options.shrinkage));
    x_ = interaction_matrix(num_users, num_items, train, options.min_rating);
    fit();
  }

  index_t num_users() const override { return x_.num_users(); }
  index_t num_items() const override { return x_.num_items(); }

  /// Scores of users [first_user, first_user + count): for each of the user's items in ascending
  /// order, its kept similarities are added to the row.
  /// @throw logic_error when the range leaves [0, num_users)
  void score_block(index_t first_user, index_t count, matrix<float>& out) const override {
    GATREC_EXPECTS(first_user >= 0 && count >= 0 && first_user + count <= num_users(),
                   "users [" + std::to_string(first_user) + ", " + std::to_string(first_user + count) +
                       ") outside [0, " + std::to_string(num_users()) + ")");
    if (out.rows() != count || out.cols() != num_items()) out.resize(count, num_items());
    out.setZero();
    for (index_t r = 0; r < count; ++r) {
      float* row = out.row(r).data();
      for (index_t i : x_.items_of(first_user + r))
        for (offset_t e = offsets_[static_cast<std::size_t>(i)]; e < offsets_[static_cast<std::size_t>(i) + 1]; ++e)
          row[neighbours_[static_cast<std::size_t>(e)]] += similarities_[static_cast<std::size_t>(e)];
    }
  }

  /// S_k[i, j]: the kept similarity, or 0 when j is not among i's neighbours.
  float similarity(index_t i, index_t j) const {
    GATREC_EXPECTS(i >= 0 && i < num_items() && j >= 0 && j < num_items(), "item index out of range");
    const auto first = neighbours_.begin() + offsets_[static_cast<std::size_t>(i)];
    const auto last = neighbours_.begin() + offsets_[static_cast<std::size_t>(i) + 1];
    const auto at = std::lower_bound(first, last, j);
    return at != last && *at == j ? similarities_[static_cast<std::size_t>(at - neighbours_.begin())] : 0.0f;
  }

  /// (num_items + 1) offsets: item i's neighbours are entries [offsets[i], offsets[i + 1]).
  const std::vector<offset_t>& neighbour_offsets() const { return offsets_; }
  /// Neighbour item of each entry, ascending within an item.
  const std::vector<index_t>& neighbour_items() const { return neighbours_; }
  /// Similarity of each entry.
  const std::vector<float>& neighbour_similarities() const { return similarities_; }
  /// The X the similarities come from (and scores are computed from).
  const interaction_matrix& interactions() const { return x_; }
  const item_knn_options& options() const { return options_; }

 private:
  struct candidate {
    double similarity;
    index_t item;
  };

  static bool ranks_before(const candidate& a, const candidate& b) {
    return a.similarity > b.similarity || (a.similarity == b.similarity && a.item < b.item);
  }

  void fit() {
    const index_t n = x_.num_items();
    const std::size_t k = static_cast<std::size_t>(std::min<index_t>(options_.neighbours, std::max<index_t>(n - 1, 0)));
    // Rows are found in parallel into fixed slots of width k, then compacted.
    std::vector<index_t> slot_items(static_cast<std::size_t>(n) * k);
    std::vector<float> slot_values(static_cast<std::size_t>(n) * k);
    std::vector<index_t> kept(static_cast<std::size_t>(n), 0);
    constexpr index_t block = 64;
    const index_t blocks = (n + block - 1) / block;
    parallel_for<index_t>(
        0, blocks,
        [&](index_t b) {
          // Scratch per block of items, not per item: co-occurrence counts over the catalogue, the
          // items touched (to reset the counts sparsely), and the candidates of one row.
          std::vector<index_t> common(static_cast<std::size_t>(n), 0);
          std::vector<index_t> touched;
          std::vector<candidate> candidates;
          for (index_t i = b * block; i < std::min(n, (b + 1) * block); ++i) {
            touched.clear();
            for (index_t u : x_.users_of(i))
              for (index_t j : x_.items_of(u))
                if (j != i && common[static_cast<std::size_t>(j)]++ == 0) touched.push_back(j);
            candidates.clear();
            const double ni = static_cast<double>(x_.item_degree(i));
            for (index_t j : touched) {
              const double c = static_cast<double>(common[static_cast<std::size_t>(j)]);
              common[static_cast<std::size_t>(j)] = 0;
              candidates.push_back({c / (std::sqrt(ni * static_cast<double>(x_.item_degree(j))) + options_.shrinkage), j});
            }
            if (k == 0) {
              candidates.clear();  // a catalogue of one item has no neighbours
            } else if (candidates.size() > k) {
              std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k) - 1,
                               candidates.end(), ranks_before);
              candidates.resize(k);
            }
            // Ascending item order: a fixed summation order in score_block and binary search in
            // similarity().
            std::sort(candidates.begin(), candidates.end(),
                      [](const candidate& a, const candidate& c) { return a.item < c.item; });
            const std::size_t base = static_cast<std::size_t>(i) * k;
            for (std::size_t t = 0; t < candidates.size(); ++t) {
              slot_items[base + t] = candidates[t].item;
              slot_values[base + t] = static_cast<float>(candidates[t].similarity);
            }
            kept[static_cast<std::size_t>(i)] = static_cast<index_t>(candidates.size());
          }
        },
        index_t(1));

    offsets_.assign(static_cast<std::size_t>(n) + 1, 0);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) offsets_[i + 1] = offsets_[i] + kept[i];
    neighbours_.resize(static_cast<std::size_t>(offsets_.back()));
    similarities_.resize(neighbours_.size());
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      std::copy_n(slot_items.begin() + static_cast<std::ptrdiff_t>(i * k), kept[i],
                  neighbours_.begin() + offsets_[i]);
      std::copy_n(slot_values.begin() + static_cast<std::ptrdiff_t>(i * k), kept[i],
                  similarities_.begin() + offsets_[i]);
    }
  }

  item_knn_options options_;
  interaction_matrix x_;
  std::vector<offset_t> offsets_{0};  // (num_items + 1)
  std::vector<index_t> neighbours_;   // (kept entries) neighbour item, ascending per row
  std::vector<float> similarities_;   // (kept entries)
};

}  // namespace gatrec
