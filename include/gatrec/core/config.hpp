#pragma once

/// @file
/// @brief Macros that let one function body serve both the CPU path and CUDA kernels.

#if defined(__CUDACC__)
/// Marks small math helpers shared by the CPU implementation (the test oracle) and the kernels.
#define GATREC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define GATREC_HOST_DEVICE inline
#endif

#if defined(_OPENMP)
#define GATREC_HAS_OPENMP 1
#else
#define GATREC_HAS_OPENMP 0
#endif
