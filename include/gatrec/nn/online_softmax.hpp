#pragma once

/// @file
/// @brief Online softmax: a running (max, sum) state that takes one logit at a time, and the merge
/// of two partial states over disjoint edge sets. Shared by the fused CUDA attention kernels
/// (kernels/gat_attention.cuh) and their CPU emulation (tests/unit/test_cuda_math_emulation.cpp).
///
/// For a destination i and one head, with logits l_e over in(i):
///
///     m = max_e l_e,   s = sum_e exp(l_e - m),   lse = m + log s,   alpha_e = exp(l_e - lse)
///     o = sum_e alpha_e z_e = (sum_e exp(l_e - m) z_e) / s
///
/// A state (m, s) over the edges seen so far is updated by `softmax_push`; an accumulator
/// acc = sum_e exp(l_e - m) z_e follows by `acc <- acc * rescale + weight * z_e`. Two states over
/// disjoint edge sets combine with `softmax_merge`, their accumulators with the two factors it
/// returns (docs/cuda.md derives both). Every exponent is <= 0, so nothing overflows, and the
/// largest term contributes exp(0) = 1, so s >= 1 once an edge has been seen.
///
/// Every function here is GATREC_HOST_DEVICE: plain inline functions for g++, __host__ __device__
/// for nvcc. No CUDA types appear, so the header compiles with any C++17 compiler.

#include <cmath>
#include <limits>

#include "gatrec/core/config.hpp"

namespace gatrec {

namespace detail {

/// exp(x) with the same single-precision function on the host and the device (no fast-math
/// intrinsics: `expf` is correctly rounded to within 2 ulp on both).
GATREC_HOST_DEVICE float exp_of(float x) {
#if defined(__CUDA_ARCH__)
  return ::expf(x);
#else
  return std::exp(x);
#endif
}
GATREC_HOST_DEVICE double exp_of(double x) {
#if defined(__CUDA_ARCH__)
  return ::exp(x);
#else
  return std::exp(x);
#endif
}
GATREC_HOST_DEVICE float log_of(float x) {
#if defined(__CUDA_ARCH__)
  return ::logf(x);
#else
  return std::log(x);
#endif
}
GATREC_HOST_DEVICE double log_of(double x) {
#if defined(__CUDA_ARCH__)
  return ::log(x);
#else
  return std::log(x);
#endif
}

template <class Scalar>
GATREC_HOST_DEVICE Scalar negative_infinity() {
  return -std::numeric_limits<Scalar>::infinity();
}

}  // namespace detail

/// The running state of a softmax over the logits seen so far.
template <class Scalar>
struct softmax_state {
  Scalar max;  ///< the largest logit seen; -inf before the first
  Scalar sum;  ///< sum of exp(logit - max) over the logits seen; 0 before the first
};

/// The state before any logit: (max, sum) = (-inf, 0). Merging with it changes nothing.
template <class Scalar>
GATREC_HOST_DEVICE softmax_state<Scalar> softmax_empty() {
  return {detail::negative_infinity<Scalar>(), Scalar(0)};
}

/// What `softmax_push` did: an accumulator over the same logits follows with
/// `acc = acc * rescale + weight * value`.
template <class Scalar>
struct softmax_step {
  Scalar rescale;  ///< factor for everything accumulated before (exp(old max - new max))
  Scalar weight;   ///< exp(logit - new max), the new term's unnormalised weight
};

/// Adds one logit to the state. When the logit is a new maximum, the old sum is rescaled by
/// exp(old max - logit) (0 for the first logit, since the old max is -inf) and the new term weighs
/// exp(0) = 1; otherwise the new term weighs exp(logit - max) <= 1. A NaN logit makes the sum NaN
/// (it never passes silently).
template <class Scalar>
GATREC_HOST_DEVICE softmax_step<Scalar> softmax_push(softmax_state<Scalar>& state, Scalar logit) {
  if (logit > state.max) {
    const Scalar rescale = detail::exp_of(state.max - logit);
    state.sum = state.sum * rescale + Scalar(1);
    state.max = logit;
    return {rescale, Scalar(1)};
  }
  const Scalar weight = detail::exp_of(logit - state.max);
  state.sum = state.sum + weight;
  return {Scalar(1), weight};
}

/// Factors that `softmax_merge` applied to each side: acc = acc_first * first + acc_second * second.
template <class Scalar>
struct softmax_merge_factors {
  Scalar first;
  Scalar second;
};

/// Merges `second` into `first` (states over disjoint edge sets). The result and the factors depend
/// on the order of the arguments only through rounding: callers that need bit-identical results on
/// both sides of an exchange (a warp butterfly) pass the two states in a canonical order.
/// Merging two empty states leaves an empty state (factors 0, never NaN).
template <class Scalar>
GATREC_HOST_DEVICE softmax_merge_factors<Scalar> softmax_merge(softmax_state<Scalar>& first,
                                                               const softmax_state<Scalar>& second) {
  const Scalar m = first.max > second.max ? first.max : second.max;
  if (m == detail::negative_infinity<Scalar>()) return {Scalar(0), Scalar(0)};
  const Scalar f = detail::exp_of(first.max - m);   // 0 when `first` is empty
  const Scalar g = detail::exp_of(second.max - m);  // 0 when `second` is empty
  first.sum = first.sum * f + second.sum * g;
  first.max = m;
  return {f, g};
}

/// log(sum_e exp(l_e)) = max + log(sum); -inf for an empty state (a node without in-edges).
template <class Scalar>
GATREC_HOST_DEVICE Scalar softmax_log_sum_exp(const softmax_state<Scalar>& state) {
  return state.max + detail::log_of(state.sum);
}

/// 1 / sum, the normalisation of an accumulator; 0 for an empty state, whose accumulator is an
/// empty sum (so a node without in-edges aggregates to 0, never NaN).
template <class Scalar>
GATREC_HOST_DEVICE Scalar softmax_normaliser(const softmax_state<Scalar>& state) {
  return state.sum > Scalar(0) ? Scalar(1) / state.sum : Scalar(0);
}

/// alpha_e = exp(l_e - lse): the attention weight recomputed from the logit and the stored
/// log-sum-exp of its destination (what backward does instead of storing alpha).
template <class Scalar>
GATREC_HOST_DEVICE Scalar softmax_weight(Scalar logit, Scalar log_sum_exp) {
  return detail::exp_of(logit - log_sum_exp);
}

/// Softmax backward for one edge: dl_e = alpha_e (dalpha_e - sum_f alpha_f dalpha_f). The sum over
/// the destination's edges is passed in (`weighted_sum`): the fused kernels sum it in a first sweep
/// over the destination's edges (kernels/gat_attention_backward.cuh says why not <g_i, o_i>).
template <class Scalar>
GATREC_HOST_DEVICE Scalar softmax_logit_grad(Scalar alpha, Scalar dalpha, Scalar weighted_sum) {
  return alpha * (dalpha - weighted_sum);
}

/// acc <- acc * rescale + weight * value over N values (one lane's fragment of a row).
template <class Scalar, int N>
GATREC_HOST_DEVICE void softmax_accumulate(Scalar (&acc)[N], Scalar rescale, Scalar weight, const Scalar (&value)[N]) {
  for (int n = 0; n < N; ++n) acc[n] = acc[n] * rescale + weight * value[n];
}

/// out = a * fa + b * fb over N values: the accumulator side of `softmax_merge`.
template <class Scalar, int N>
GATREC_HOST_DEVICE void softmax_combine(const Scalar (&a)[N], Scalar fa, const Scalar (&b)[N], Scalar fb,
                                        Scalar (&out)[N]) {
  for (int n = 0; n < N; ++n) out[n] = a[n] * fa + b[n] * fb;
}

}  // namespace gatrec
