#pragma once

/// @file
/// @brief The one header a CPU user includes: everything in gatrec that needs only a C++17 compiler
/// and Eigen. CUDA users add <gatrec/cuda.cuh> in their .cu files.

#include "gatrec/version.hpp"

#include "gatrec/core/config.hpp"
#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"

#include "gatrec/data/interactions.hpp"

#include "gatrec/graph/bipartite_graph.hpp"
#include "gatrec/graph/csr_graph.hpp"

#include "gatrec/nn/activation.hpp"
