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

#include <algorithm>
#include <cmath>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/products.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/models/score_prior.hpp"

namespace gatrec {

/// Options of softmax_loss.
struct softmax_loss_options {
  double weight = 1.0;        ///< multiplies the loss and its gradient
  double temperature = 1.0;   ///< scores are divided by it
  double max_scores = 2e8;    ///< refuse users x items above this (memory: 4 bytes per score)
};

/// Computes the full-softmax loss and *adds* its gradient into `grad` (same shape as h).
/// @param h (num_users + num_items, d) node embeddings, users first
/// @param offsets (num_users + 1) row offsets of the liked items (negative_sampler::positive_offsets)
/// @param positives liked items by user (negative_sampler::positives)
/// @param prior optional fixed scores added before the temperature (s = <h_u,h_i> + prior)
/// @return the loss value (weighted)
template <class Scalar>
double softmax_loss(const matrix<Scalar>& h, index_t num_users, const std::vector<offset_t>& offsets,
                    const std::vector<index_t>& positives, const softmax_loss_options& opt, matrix<Scalar>& grad,
                    const score_prior* prior = nullptr) {
  const index_t num_items = static_cast<index_t>(h.rows()) - num_users;
  GATREC_EXPECTS(num_users > 0 && num_items > 0, "need users and items");
  GATREC_EXPECTS(offsets.size() == static_cast<std::size_t>(num_users) + 1, "offsets must have num_users + 1 entries");
  GATREC_EXPECTS(opt.temperature > 0, "temperature must be positive");
  GATREC_EXPECTS(static_cast<double>(num_users) * num_items <= opt.max_scores,
                 "full softmax over " + std::to_string(num_users) + " x " + std::to_string(num_items) +
                     " scores exceeds max_scores; use the sampled BPR loss");
  GATREC_EXPECTS(grad.rows() == h.rows() && grad.cols() == h.cols(), "grad must be shaped like h");
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
    user_loss[static_cast<std::size_t>(u)] = loss;
    const double scale = opt.weight / total;
    for (index_t i = 0; i < num_items; ++i)
      row(i) = static_cast<Scalar>(scale * count * std::exp(static_cast<double>(row(i)) - lse));
    for (offset_t k = first; k < last; ++k) row(positives[static_cast<std::size_t>(k)]) -= static_cast<Scalar>(scale);
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
