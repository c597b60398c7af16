#pragma once

/// @file
/// @brief Weight initialisers (seeded).

#include <cmath>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/random.hpp"

namespace gatrec {

/// Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), PyG's default for
/// attention weights and vectors.
template <class Scalar>
void glorot_uniform(matrix<Scalar>& m, Eigen::Index fan_in, Eigen::Index fan_out, rng& gen) {
  const double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = static_cast<Scalar>((2.0 * gen.uniform() - 1.0) * a);
}

/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's nn.Linear default (Kaiming-uniform with a = sqrt(5))
/// for weights and biases. A third of Glorot's variance for square layers, which keeps residual
/// branches small at the start of training.
template <class Scalar>
void fan_in_uniform(matrix<Scalar>& m, Eigen::Index fan_in, rng& gen) {
  const double a = 1.0 / std::sqrt(static_cast<double>(fan_in));
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = static_cast<Scalar>((2.0 * gen.uniform() - 1.0) * a);
}

/// Normal N(0, std^2).
template <class Scalar>
void normal_init(matrix<Scalar>& m, double stddev, rng& gen) {
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = static_cast<Scalar>(gen.normal() * stddev);
}

}  // namespace gatrec
