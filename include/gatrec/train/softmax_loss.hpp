#pragma once

/// @file
/// @brief Full-softmax (multinomial likelihood) ranking loss over the whole catalogue.
///
/// For each user u with liked items P_u and scores s_ui = <h_u, h_i> / tau over every item:
///   L = (1 / sum_u |P_u|) * sum_u sum_{i in P_u} (logsumexp_j s_uj - s_ui)
/// Every item the user did not like is a negative at once, instead of one sampled item per positive
/// (BPR). Full batch, the whole (users x items) score matrix is one matrix product per step: cheap
/// for MovieLens-size catalogues (ML-100K: 1.6M scores), refused above `max_scores`.
/// Gradient (docs/math.md, section 5b): dL/ds_ui = (|P_u| softmax_ui - [i in P_u]) / sum |P_u|.
///
/// Optional rated-only term (weight rated_weight): the same softmax restricted to the items u rated
/// in training, R_u (liked and not liked), so liked items are pushed above the user's own rated but
/// not liked ones, which is what the paper's rated-only protocol rewards:
///   L_R = (rated_weight / sum_u |P_u|) * sum_u sum_{i in P_u} (logsumexp_{j in R_u} s_uj - s_ui)
/// Users whose rated items are all liked carry no such contrast and are skipped.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/products.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/eval/user_item_sets.hpp"
#include "gatrec/models/score_prior.hpp"

namespace gatrec {

/// Options of softmax_loss.
struct softmax_loss_options {
  double weight = 1.0;        ///< multiplies the loss and its gradient
  double temperature = 1.0;   ///< scores are divided by it
  double max_scores = 2e8;    ///< refuse users x items above this (memory: 4 bytes per score; the device loss, which goes in blocks of users, ignores it)
  double rated_weight = 0.0;  ///< weight of the rated-only term (needs the rated item sets)
};

/// Computes the full-softmax loss and *adds* its gradient into `grad` (same shape as h).
/// @param h (num_users + num_items, d) node embeddings, users first
/// @param offsets (num_users + 1) row offsets of the liked items (negative_sampler::positive_offsets)
/// @param positives liked items by user (negative_sampler::positives)
/// @param prior optional fixed scores added before the temperature (s = <h_u,h_i> + prior)
/// @param rated every user's training items (liked or not), for the rated-only term; must hold the
///        positives; required when opt.rated_weight > 0
/// @return the loss value (weighted)
template <class Scalar>
double softmax_loss(const matrix<Scalar>& h, index_t num_users, const std::vector<offset_t>& offsets,
                    const std::vector<index_t>& positives, const softmax_loss_options& opt, matrix<Scalar>& grad,
                    const score_prior* prior = nullptr, const user_item_sets* rated = nullptr) {
  const index_t num_items = static_cast<index_t>(h.rows()) - num_users;
  GATREC_EXPECTS(num_users > 0 && num_items > 0, "need users and items");
  GATREC_EXPECTS(offsets.size() == static_cast<std::size_t>(num_users) + 1, "offsets must have num_users + 1 entries");
  GATREC_EXPECTS(opt.temperature > 0, "temperature must be positive");
  GATREC_EXPECTS(static_cast<double>(num_users) * num_items <= opt.max_scores,
                 "full softmax over " + std::to_string(num_users) + " x " + std::to_string(num_items) +
                     " scores exceeds max_scores; use the sampled BPR loss");
  GATREC_EXPECTS(grad.rows() == h.rows() && grad.cols() == h.cols(), "grad must be shaped like h");
  GATREC_EXPECTS(opt.rated_weight >= 0, "rated_weight must not be negative");
  const bool rated_term = opt.rated_weight > 0;
  if (rated_term) {
    GATREC_EXPECTS(rated != nullptr && rated->num_users() == num_users && rated->num_items() == num_items,
                   "the rated-only term needs every user's rated items over the same catalogue");
    // Checked here, not in the parallel loop below: an exception must not leave an OpenMP region.
    for (index_t u = 0; u < num_users; ++u)
      for (offset_t k = offsets[static_cast<std::size_t>(u)]; k < offsets[static_cast<std::size_t>(u) + 1]; ++k)
        GATREC_EXPECTS(rated->contains(u, positives[static_cast<std::size_t>(k)]),
                       "liked item " + std::to_string(positives[static_cast<std::size_t>(k)]) + " of user " +
                           std::to_string(u) + " is missing from the user's rated items");
  }
  const double total = static_cast<double>(positives.size());
  GATREC_EXPECTS(total > 0, "no positive pairs");

  const matrix<Scalar> users = h.topRows(num_users), items = h.bottomRows(num_items);
  matrix<Scalar> s;
  product_transposed(users, items, s);  // (U, I)
  const Scalar inv_t = static_cast<Scalar>(1.0 / opt.temperature);
  std::vector<double> user_loss(static_cast<std::size_t>(num_users), 0.0);
  // Row by row: scores -> dL/ds in place.
  parallel_for<index_t>(0, num_users, [&](index_t u) {
    auto row = s.row(u);
    if (prior != nullptr)
      for (index_t i = 0; i < num_items; ++i) row(i) += prior->in_loss(u, i);
    row *= inv_t;
    const offset_t first = offsets[static_cast<std::size_t>(u)], last = offsets[static_cast<std::size_t>(u) + 1];
    const double count = static_cast<double>(last - first);
    if (count == 0) {
      row.setZero();
      return;
    }
    const Scalar m = row.maxCoeff();
    double sum = 0;
    for (index_t i = 0; i < num_items; ++i) sum += std::exp(static_cast<double>(row(i) - m));
    const double lse = static_cast<double>(m) + std::log(sum);
    double loss = 0;
    for (offset_t k = first; k < last; ++k) loss += lse - static_cast<double>(row(positives[static_cast<std::size_t>(k)]));
    // Rated-only term, read from the logits before they are overwritten by the gradient.
    const double scale = opt.weight / total, rated_scale = scale * opt.rated_weight;
    const item_span r = rated_term ? rated->items_of(u) : item_span{};
    std::vector<double> rated_grad;
    if (r.size() > last - first) {
      double mr = -std::numeric_limits<double>::infinity(), sr = 0;
      for (index_t j : r) mr = std::max(mr, static_cast<double>(row(j)));
      for (index_t j : r) sr += std::exp(static_cast<double>(row(j)) - mr);
      const double lse_r = mr + std::log(sr);
      double loss_r = 0;
      for (offset_t k = first; k < last; ++k) {
        loss_r += lse_r - static_cast<double>(row(positives[static_cast<std::size_t>(k)]));
      }
      loss += opt.rated_weight * loss_r;
      rated_grad.reserve(static_cast<std::size_t>(r.size()));
      for (index_t j : r) rated_grad.push_back(rated_scale * count * std::exp(static_cast<double>(row(j)) - lse_r));
    }
    user_loss[static_cast<std::size_t>(u)] = loss;
    for (index_t i = 0; i < num_items; ++i)
      row(i) = static_cast<Scalar>(scale * count * std::exp(static_cast<double>(row(i)) - lse));
    for (offset_t k = first; k < last; ++k) row(positives[static_cast<std::size_t>(k)]) -= static_cast<Scalar>(scale);
    if (!rated_grad.empty()) {
      std::size_t n = 0;
      for (index_t j : r) row(j) += static_cast<Scalar>(rated_grad[n++]);
      for (offset_t k = first; k < last; ++k)
        row(positives[static_cast<std::size_t>(k)]) -= static_cast<Scalar>(rated_scale);
    }
    row *= inv_t;  // chain rule through the temperature
  }, index_t(16));
  // dL/dH_U = dS H_I, dL/dH_I = dS^T H_U.
  matrix<Scalar> du, di = matrix<Scalar>::Zero(num_items, h.cols());
  product(s, items, du);
  accumulate_transposed_product(s, users, di);
  grad.topRows(num_users) += du;
  grad.bottomRows(num_items) += di;
  double loss = 0;
  for (double l : user_loss) loss += l;
  return opt.weight * loss / total;
}

}  // namespace gatrec
