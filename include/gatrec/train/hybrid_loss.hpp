#pragma once

/// @file
/// @brief The paper's hybrid loss, w_bpr * BPR + w_cos * (1 - cosine), value and gradient in one pass.
///
/// With s(u, i) = <h_u, h_i> and triples (u, i, j):
///   L_bpr = mean over triples of -log sigmoid(s(u,i) - s(u,j))
///   L_cos = 1 - mean over distinct positive pairs (u, i) of cos(h_u, h_i)
/// Each positive pair is counted once in L_cos even when it is sampled with several negatives.
/// See docs/math.md for the gradients.

#include <cmath>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/models/score_prior.hpp"
#include "gatrec/train/hybrid_loss_terms.hpp"
#include "gatrec/train/training_pairs.hpp"

namespace gatrec {

/// Weights of the two terms (defaults: the authors' final code).
struct hybrid_loss_options {
  double bpr_weight = 5.0;
  double cosine_weight = 2.0;
};

/// The loss value and its parts.
struct loss_value {
  double total = 0.0;
  double bpr = 0.0;     ///< L_bpr (unweighted)
  double cosine = 0.0;  ///< L_cos (unweighted)
};

/// Computes the hybrid loss on node embeddings and writes its gradient.
/// @param embeddings (num_users + num_items, d): users first, then items (the graph's node order)
/// @param num_users offset of item rows
/// @param triples training triples; the positive pairs for the cosine term are the triples'
///        (user, positive) pairs, each counted once (triples must be grouped so that the
///        `pairs_per_positive` triples of one positive are consecutive)
/// @param pairs_per_positive negatives sampled per positive (triples come in groups of this size)
/// @param grad (same shape as embeddings) overwritten with dL/d embeddings
/// @param prior optional fixed scores added to the dot products in the BPR term (s = <h_u,h_i> + prior)
template <class Scalar>
loss_value hybrid_loss(const matrix<Scalar>& embeddings, index_t num_users, const training_triples& triples,
                       int pairs_per_positive, const hybrid_loss_options& opt, matrix<Scalar>& grad,
                       const score_prior* prior = nullptr) {
  GATREC_EXPECTS(pairs_per_positive >= 1, "pairs_per_positive must be at least 1");
  GATREC_EXPECTS(triples.size() % static_cast<std::size_t>(pairs_per_positive) == 0,
                 "triple count is not a multiple of pairs_per_positive");
  GATREC_EXPECTS(!triples.empty(), "no training triples");
  const std::size_t t_count = triples.size();
  const std::size_t p_count = t_count / static_cast<std::size_t>(pairs_per_positive);
  const Eigen::Index d = embeddings.cols();
  grad.setZero(embeddings.rows(), d);

  // Per-triple and per-pair coefficients are computed in parallel (each entry owned by one index);
  // the scatter into embedding rows is then done in a fixed order, so the result is deterministic.
  std::vector<double> bpr_value(t_count), bpr_coef(t_count);
  const double bpr_scale = opt.bpr_weight / static_cast<double>(t_count);
  parallel_for<std::int64_t>(0, static_cast<std::int64_t>(t_count), [&](std::int64_t t) {
    const auto hu = embeddings.row(triples.user[t]);
    double x = static_cast<double>(hu.dot(embeddings.row(num_users + triples.positive[t]))) -
               static_cast<double>(hu.dot(embeddings.row(num_users + triples.negative[t])));
    if (prior != nullptr)
      x += static_cast<double>(prior->in_loss(triples.user[t], triples.positive[t])) -
           static_cast<double>(prior->in_loss(triples.user[t], triples.negative[t]));
    const auto term = bpr_term_of(x, bpr_scale);
    bpr_value[t] = term.value;
    bpr_coef[t] = term.coefficient;
  }, std::int64_t(1024));

  std::vector<double> cos_value(p_count), cos_coef_u(p_count), cos_coef_i(p_count), cos_coef_cross(p_count);
  const double cos_scale = -opt.cosine_weight / static_cast<double>(p_count);
  if (opt.cosine_weight != 0.0) {
    parallel_for<std::int64_t>(0, static_cast<std::int64_t>(p_count), [&](std::int64_t p) {
      const std::size_t t = static_cast<std::size_t>(p) * static_cast<std::size_t>(pairs_per_positive);
      const auto hu = embeddings.row(triples.user[t]);
      const auto hi = embeddings.row(num_users + triples.positive[t]);
      const auto term = cosine_term_of(static_cast<double>(hu.dot(hi)), static_cast<double>(hu.norm()),
                                       static_cast<double>(hi.norm()), cos_scale);
      cos_value[p] = term.value;
      cos_coef_cross[p] = term.cross;
      cos_coef_u[p] = term.user;
      cos_coef_i[p] = term.item;
    }, std::int64_t(1024));
  }

  loss_value out;
  for (std::size_t t = 0; t < t_count; ++t) {
    out.bpr += bpr_value[t];
    const index_t u = triples.user[t];
    const index_t i = num_users + triples.positive[t];
    const index_t j = num_users + triples.negative[t];
    const Scalar c = static_cast<Scalar>(bpr_coef[t]);
    grad.row(u) += c * (embeddings.row(i) - embeddings.row(j));
    grad.row(i) += c * embeddings.row(u);
    grad.row(j) -= c * embeddings.row(u);
  }
  out.bpr /= static_cast<double>(t_count);
  if (opt.cosine_weight != 0.0) {
    double sum = 0.0;
    for (std::size_t p = 0; p < p_count; ++p) {
      const std::size_t t = p * static_cast<std::size_t>(pairs_per_positive);
      const index_t u = triples.user[t];
      const index_t i = num_users + triples.positive[t];
      sum += cos_value[p];
      grad.row(u) += static_cast<Scalar>(cos_coef_cross[p]) * embeddings.row(i) +
                     static_cast<Scalar>(cos_coef_u[p]) * embeddings.row(u);
      grad.row(i) += static_cast<Scalar>(cos_coef_cross[p]) * embeddings.row(u) +
                     static_cast<Scalar>(cos_coef_i[p]) * embeddings.row(i);
    }
    out.cosine = 1.0 - sum / static_cast<double>(p_count);
  }
  out.total = opt.bpr_weight * out.bpr + opt.cosine_weight * out.cosine;
  return out;
}

}  // namespace gatrec
