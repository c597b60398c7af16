#pragma once

// Central finite differences against a manual backward pass, in double precision.

#include <gatrec/nn/parameter.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

namespace gatrec::test {

struct gradient_check_result {
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;
  double max_abs_grad = 0.0;
  std::size_t checked = 0;
};

/// Compares analytic[k] with the central difference of `loss` w.r.t. values[k], for up to
/// `max_entries` entries spread over the tensor. Relative error uses max(|a|, |n|, floor).
inline gradient_check_result check_gradient(double* values, const double* analytic, std::size_t size,
                                            const std::function<double()>& loss, std::size_t max_entries = 400,
                                            double eps = 1e-6) {
  gradient_check_result r;
  const std::size_t stride = std::max<std::size_t>(1, size / max_entries);
  for (std::size_t k = 0; k < size; k += stride) {
    const double old = values[k];
    values[k] = old + eps;
    const double up = loss();
    values[k] = old - eps;
    const double down = loss();
    values[k] = old;
    const double numeric = (up - down) / (2 * eps);
    const double err = std::abs(numeric - analytic[k]);
    const double scale = std::max({std::abs(numeric), std::abs(analytic[k]), 1e-3});
    r.max_abs_error = std::max(r.max_abs_error, err);
    r.max_rel_error = std::max(r.max_rel_error, err / scale);
    r.max_abs_grad = std::max(r.max_abs_grad, std::abs(analytic[k]));
    ++r.checked;
  }
  return r;
}

/// Checks every parameter of a module and reports the worst relative error of each.
inline void expect_parameter_gradients(const parameter_list<double>& params, const std::function<double()>& loss,
                                       double tolerance = 1e-5) {
  for (auto* p : params) {
    const auto r = check_gradient(p->value.data(), p->grad.data(), static_cast<std::size_t>(p->value.size()), loss);
    EXPECT_LT(r.max_rel_error, tolerance) << "parameter " << p->name << ": max abs error " << r.max_abs_error;
    EXPECT_GT(r.max_abs_grad, 0.0) << "parameter " << p->name << " received no gradient";
  }
}

}  // namespace gatrec::test
