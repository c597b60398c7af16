#pragma once

/// @file
/// @brief Everything in gatrec::cuda (include from .cu files compiled by nvcc; link gatrec::cuda).

#include "gatrec/gat.hpp"

#include "gatrec/cuda/device.cuh"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/error.cuh"

#include "elementwise.cuh"
