#pragma once

/// @file
/// @brief Everything in gatrec::cuda (include from .cu files compiled by nvcc; link gatrec::cuda).

#include "gatrec/gat.hpp"

#include "gatrec/cuda/blas.cuh"
#include "gatrec/cuda/device_adamw.cuh"
#include "gatrec/cuda/device.cuh"
#include "gatrec/cuda/device_attention.cuh"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/device_gat_model.cuh"
#include "gatrec/cuda/device_gat_recommender.cuh"
#include "gatrec/cuda/device_graph.cuh"
#include "gatrec/cuda/device_hybrid_loss.cuh"
#include "gatrec/cuda/device_loss_incidence.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/device_memory.cuh"
#include "gatrec/cuda/device_parameter.cuh"
#include "gatrec/cuda/device_softmax_loss.cuh"
#include "gatrec/cuda/device_top_k.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/library_attention.cuh"
#include "gatrec/cuda/library_handles.cuh"

#include "adamw.cuh"
#include "baseline_softmax.cuh"
#include "dense.cuh"
#include "elementwise.cuh"
#include "fixed_order_sum.cuh"
#include "gat_attention.cuh"
#include "gat_attention_backward.cuh"
#include "hybrid_loss.cuh"
#include "layer_norm.cuh"
#include "row_normalize.cuh"
#include "softmax_loss.cuh"
#include "top_k.cuh"
