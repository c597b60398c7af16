#pragma once

/// @file
/// @brief Softmax of edge logits over each destination node's incoming edges, per head.
///
/// Logits and weights are (num_edges, heads) row-major in destination-CSR order, so a node's
/// in-edges are a contiguous row range. The max is subtracted before exponentiation; a node without
/// in-edges has nothing to normalise and contributes nothing (its aggregation is empty, never NaN).

#include <cmath>
#include <limits>

#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/graph/csr_graph.hpp"

namespace gatrec {

namespace detail {

/// Softmax over rows [first, last) of a (rows, heads) array, column by column, in place.
template <class Scalar>
inline void softmax_segment(Scalar* values, offset_t first, offset_t last, int heads) {
  if (first == last) return;
  for (int h = 0; h < heads; ++h) {
    Scalar m = -std::numeric_limits<Scalar>::infinity();
    for (offset_t e = first; e < last; ++e) m = std::max(m, values[e * heads + h]);
    Scalar sum = 0;
    for (offset_t e = first; e < last; ++e) {
      const Scalar x = std::exp(values[e * heads + h] - m);
      values[e * heads + h] = x;
      sum += x;
    }
    const Scalar inv = Scalar(1) / sum;  // sum >= 1: the max term contributes exp(0)
    for (offset_t e = first; e < last; ++e) values[e * heads + h] *= inv;
  }
}

/// Softmax backward over rows [first, last): dlogit = alpha * (dalpha - sum(alpha * dalpha)).
/// `grad` holds dalpha on entry and dlogit on exit.
template <class Scalar>
inline void softmax_segment_backward(const Scalar* alpha, Scalar* grad, offset_t first, offset_t last, int heads) {
  for (int h = 0; h < heads; ++h) {
    Scalar dot = 0;
    for (offset_t e = first; e < last; ++e) dot += alpha[e * heads + h] * grad[e * heads + h];
    for (offset_t e = first; e < last; ++e) grad[e * heads + h] = alpha[e * heads + h] * (grad[e * heads + h] - dot);
  }
}

}  // namespace detail

/// alpha = edge_softmax(logits) over each node's in-edges. `logits` and `alpha` are
/// (num_edges, heads); they may alias.
template <class Scalar>
void edge_softmax_forward(const csr_graph& g, int heads, const Scalar* logits, Scalar* alpha) {
  GATREC_EXPECTS(heads > 0, "heads must be positive");
  const auto& off = g.in_offsets();
  const offset_t total = g.num_edges() * heads;
  if (alpha != logits) std::copy(logits, logits + total, alpha);
  parallel_for<index_t>(0, g.num_nodes(), [&](index_t i) {
    detail::softmax_segment(alpha, off[i], off[i + 1], heads);
  });
}

/// dlogits from dalpha, given the forward's alpha. `dalpha` and `dlogits` may alias.
template <class Scalar>
void edge_softmax_backward(const csr_graph& g, int heads, const Scalar* alpha, const Scalar* dalpha, Scalar* dlogits) {
  GATREC_EXPECTS(heads > 0, "heads must be positive");
  const auto& off = g.in_offsets();
  const offset_t total = g.num_edges() * heads;
  if (dlogits != dalpha) std::copy(dalpha, dalpha + total, dlogits);
  parallel_for<index_t>(0, g.num_nodes(), [&](index_t i) {
    detail::softmax_segment_backward(alpha, dlogits, off[i], off[i + 1], heads);
  });
}

}  // namespace gatrec
