#pragma once

/// @file
/// @brief A trainable tensor with its gradient, and the list type optimisers and checkpoints walk.

#include <string>
#include <vector>

#include "gatrec/core/eigen.hpp"

namespace gatrec {

/// A named trainable matrix and the gradient accumulated into it by backward passes.
/// Backward passes *add* into `grad`, so a tensor used twice receives both contributions; the
/// trainer zeroes gradients once per step.
template <class Scalar>
struct parameter {
  std::string name;
  matrix<Scalar> value;
  matrix<Scalar> grad;
  bool decay = true;  ///< whether weight decay applies (off for biases and LayerNorm)

  parameter() = default;
  parameter(std::string n, Eigen::Index rows, Eigen::Index cols, bool weight_decay = true)
      : name(std::move(n)),
        value(matrix<Scalar>::Zero(rows, cols)),
        grad(matrix<Scalar>::Zero(rows, cols)),
        decay(weight_decay) {}

  void zero_grad() { grad.setZero(value.rows(), value.cols()); }
  Eigen::Index size() const { return value.size(); }
};

/// Non-owning list of a model's parameters, in a fixed order (optimiser state and checkpoints rely
/// on that order and on the names).
template <class Scalar>
using parameter_list = std::vector<parameter<Scalar>*>;

/// Zeroes every gradient in the list.
template <class Scalar>
void zero_grad(const parameter_list<Scalar>& params) {
  for (auto* p : params) p->zero_grad();
}

}  // namespace gatrec
