#pragma once

/// @file
/// @brief The per-triple and per-pair coefficients of the hybrid loss (BPR + cosine), shared by
/// gatrec::hybrid_loss on the CPU and the device loss (kernels/hybrid_loss.cuh), so that both
/// compute the same doubles from the same dot products.
///
/// With x = s(u,i) - s(u,j) the BPR term of a triple is softplus(-x) = -log sigmoid(x) and its
/// derivative -sigmoid(-x), scaled by w_bpr / T; for a positive pair with c = <h_u,h_i> /
/// (|h_u| |h_i|), d c / d h_u = h_i / (|h_u||h_i|) - c h_u / |h_u|^2 (symmetric for h_i), scaled by
/// -w_cos / P. The gradient rows are then sums of coefficient x embedding-row products
/// (docs/math.md).

#include <math.h>

#include "gatrec/core/config.hpp"

namespace gatrec {

/// log(1 + exp(x)) without overflow.
GATREC_HOST_DEVICE double softplus(double x) { return x > 0 ? x + ::log1p(::exp(-x)) : ::log1p(::exp(x)); }

GATREC_HOST_DEVICE double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + ::exp(-x));
  const double e = ::exp(x);
  return e / (1.0 + e);
}

/// One triple's BPR value and dL/dx.
struct bpr_term {
  double value;        ///< -log sigmoid(x)
  double coefficient;  ///< dL/dx with the weight and the 1/T mean folded in
};

/// @param x s(u,i) - s(u,j) (prior included when it enters the loss)
/// @param scale w_bpr / T
GATREC_HOST_DEVICE bpr_term bpr_term_of(double x, double scale) { return bpr_term{softplus(-x), -sigmoid(-x) * scale}; }

/// One positive pair's cosine and the coefficients of its gradient:
///   dL/dh_u = cross h_i + user h_u,  dL/dh_i = cross h_u + item h_i.
struct cosine_term {
  double value;  ///< cos(h_u, h_i)
  double cross, user, item;
};

/// Norms are clamped from below by this (as torch's cosine_similarity).
inline constexpr double cosine_norm_eps = 1e-8;

/// @param dot <h_u, h_i>; @param norm_u |h_u|; @param norm_i |h_i| (unclamped)
/// @param scale -w_cos / P
GATREC_HOST_DEVICE cosine_term cosine_term_of(double dot, double norm_u, double norm_i, double scale) {
  const double nu = norm_u > cosine_norm_eps ? norm_u : cosine_norm_eps;
  const double ni = norm_i > cosine_norm_eps ? norm_i : cosine_norm_eps;
  const double c = dot / (nu * ni);
  return cosine_term{c, scale / (nu * ni), -scale * c / (nu * nu), -scale * c / (ni * ni)};
}

}  // namespace gatrec
