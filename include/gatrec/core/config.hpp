#pragma once

/// @file
/// @brief Macros that let one function body serve both the CPU path and CUDA kernels.

#if defined(__CUDACC__)
/// Marks small math helpers shared by the CPU implementation (the test oracle) and the kernels.
#define GATREC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define GATREC_HOST_DEVICE inline
#endif

/// For the few tiny per-edge helpers that must be inlined into their loops to vectorise well.
#if defined(__GNUC__) || defined(__clang__)
#define GATREC_FORCEINLINE inline __attribute__((always_inline))
#else
#define GATREC_FORCEINLINE inline
#endif

#if defined(_OPENMP)
#define GATREC_HAS_OPENMP 1
#else
#define GATREC_HAS_OPENMP 0
#endif

/// Lets the compiler vectorise a loop that reduces into a scalar (reassociating the sum), which it
/// may not do on its own without -ffast-math. A no-op without OpenMP.
#if GATREC_HAS_OPENMP
#define GATREC_PRAGMA(x) _Pragma(#x)
#define GATREC_SIMD_REDUCTION(var) GATREC_PRAGMA(omp simd reduction(+ : var))
#else
#define GATREC_SIMD_REDUCTION(var)
#endif
