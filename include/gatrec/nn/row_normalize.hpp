#pragma once

/// @file
/// @brief Row-wise L2 normalisation y_r = x_r / max(|x_r|, eps) and its backward pass.
///
/// Used on the encoder's output so that <h_u, h_i> is a cosine similarity: with a softmax loss and a
/// temperature this is the cosine contrastive form, which keeps popular items from winning through
/// large norms alone. Backward (|x_r| > eps): dL/dx_r = (g_r − (g_r·y_r) y_r) / |x_r|; a clamped row
/// (|x_r| <= eps) is a plain scaling, so dL/dx_r = g_r / eps.

#include <cstddef>
#include <vector>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/types.hpp"

namespace gatrec {

/// Keeps what the backward pass needs: the output and each row's divisor max(|x_r|, eps).
template <class Scalar>
struct row_normalize_context {
  matrix<Scalar> y;
  std::vector<Scalar> norm;
  Scalar eps = Scalar(0);
  /// Whether row r was divided by eps rather than by its length.
  bool clamped(std::size_t r) const { return !(norm[r] > eps); }
};

/// y = rows of x scaled to unit length (rows shorter than eps are divided by eps instead).
template <class Scalar>
const matrix<Scalar>& row_normalize_forward(const matrix<Scalar>& x, row_normalize_context<Scalar>& ctx,
                                            Scalar eps = Scalar(1e-8)) {
  const index_t n = static_cast<index_t>(x.rows());
  ctx.y.resize(x.rows(), x.cols());
  ctx.norm.assign(static_cast<std::size_t>(n), Scalar(0));
  ctx.eps = eps;
  parallel_for<index_t>(0, n, [&](index_t r) {
    const Scalar len = x.row(r).norm();
    const std::size_t k = static_cast<std::size_t>(r);
    ctx.norm[k] = len > eps ? len : eps;
    ctx.y.row(r) = x.row(r) / ctx.norm[k];
  }, index_t(256));
  return ctx.y;
}

/// dL/dx from dL/dy (same shapes), given the context of the forward pass.
template <class Scalar>
void row_normalize_backward(const row_normalize_context<Scalar>& ctx, const matrix<Scalar>& grad_y,
                            matrix<Scalar>& grad_x) {
  GATREC_EXPECTS(grad_y.rows() == ctx.y.rows() && grad_y.cols() == ctx.y.cols(),
                 "gradient shape differs from the normalised output");
  grad_x.resize(grad_y.rows(), grad_y.cols());
  parallel_for<index_t>(0, static_cast<index_t>(grad_y.rows()), [&](index_t r) {
    const std::size_t k = static_cast<std::size_t>(r);
    if (ctx.clamped(k)) {
      grad_x.row(r) = grad_y.row(r) / ctx.norm[k];
      return;
    }
    const Scalar along = grad_y.row(r).dot(ctx.y.row(r));
    grad_x.row(r) = (grad_y.row(r) - along * ctx.y.row(r)) / ctx.norm[k];
  }, index_t(256));
}

}  // namespace gatrec
