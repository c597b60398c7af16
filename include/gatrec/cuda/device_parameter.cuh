#pragma once

/// @file
/// @brief A trainable tensor on the device, mirroring gatrec::parameter<float>: value, gradient
/// (backward passes add into it), name and weight-decay flag.

#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/nn/parameter.hpp"

namespace gatrec::cuda {

struct device_parameter {
  std::string name;
  device_matrix value;
  device_matrix grad;
  bool decay = true;

  device_parameter() = default;
  /// Uploads the value of a host parameter; the gradient starts at zero.
  explicit device_parameter(const parameter<float>& p, cudaStream_t stream = nullptr)
      : name(p.name), value(p.value, stream), grad(p.value.rows(), p.value.cols()), decay(p.decay) {
    grad.set_zero(stream);
  }

  void zero_grad(cudaStream_t stream = nullptr) { grad.set_zero(stream); }
  /// Copies the value and the gradient back into a host parameter of the same shape and name.
  void download_to(parameter<float>& p, cudaStream_t stream = nullptr) const {
    GATREC_EXPECTS(p.name == name, "parameter names differ: " + p.name + " vs " + name);
    p.value = value.download(stream);
    p.grad = grad.download(stream);
  }
};

/// Non-owning list of a device model's parameters in the host model's order.
using device_parameter_list = std::vector<device_parameter*>;

inline void zero_grad(const device_parameter_list& params, cudaStream_t stream = nullptr) {
  for (auto* p : params) p->zero_grad(stream);
}

}  // namespace gatrec::cuda
