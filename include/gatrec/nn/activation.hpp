#pragma once

/// @file
/// @brief Scalar activations shared by the CPU path and the CUDA kernels.

#include "gatrec/core/config.hpp"

namespace gatrec {

/// LeakyReLU: x for x > 0, slope * x otherwise.
template <class Scalar>
GATREC_HOST_DEVICE Scalar leaky_relu(Scalar x, Scalar slope) {
  return x > Scalar(0) ? x : slope * x;
}

/// Derivative of LeakyReLU with respect to its input (taken as `slope` at 0, as PyTorch does).
template <class Scalar>
GATREC_HOST_DEVICE Scalar leaky_relu_grad(Scalar x, Scalar slope) {
  return x > Scalar(0) ? Scalar(1) : slope;
}

}  // namespace gatrec
