#pragma once

/// @file
/// @brief One AdamW update of one float parameter element, with the step's constants folded in
/// once per step: the device optimiser's arithmetic (kernels/adamw.cuh), in the order of
/// gatrec::adamw::step on the host.

#include <math.h>

#include <cmath>

#include "gatrec/core/config.hpp"
#include "gatrec/train/adamw.hpp"

namespace gatrec {

/// The per-step constants of AdamW (the bias corrections depend on the step number).
struct adamw_step_constants {
  float decay_factor;   ///< 1 - lr * weight_decay, for parameters that decay
  float beta1, beta2;
  float one_minus_beta1, one_minus_beta2;
  float step_size;      ///< lr / (1 - beta1^step)
  float inv_sqrt_bc2;   ///< 1 / sqrt(1 - beta2^step)
  float eps;

  /// The constants of update number `step` (1-based) as gatrec::adamw computes them.
  static adamw_step_constants of(const adamw_options& opt, long long step) {
    const double bc1 = 1.0 - std::pow(opt.beta1, static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(opt.beta2, static_cast<double>(step));
    adamw_step_constants c;
    c.decay_factor = static_cast<float>(1.0 - opt.lr * opt.weight_decay);
    c.beta1 = static_cast<float>(opt.beta1);
    c.beta2 = static_cast<float>(opt.beta2);
    c.one_minus_beta1 = 1.0f - c.beta1;
    c.one_minus_beta2 = 1.0f - c.beta2;
    c.step_size = static_cast<float>(opt.lr / bc1);
    c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    c.eps = static_cast<float>(opt.eps);
    return c;
  }
};

/// value, m, v updated in place from the gradient g.
GATREC_HOST_DEVICE void adamw_update(float& value, float g, float& m, float& v, const adamw_step_constants& c,
                                     bool decay) {
  if (decay) value *= c.decay_factor;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * (g * g);
  value -= c.step_size * m / (::sqrtf(v) * c.inv_sqrt_bc2 + c.eps);
}

}  // namespace gatrec
