#pragma once

// Helpers of the GPU tests: skip without a device, element-by-element comparison with the largest
// error printed, NaN poisoning of outputs, finite/non-zero input checks.

#include <gatrec/core/eigen.hpp>
#include <gatrec/cuda/device.cuh>
#include <gatrec/cuda/device_matrix.cuh>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#define GATREC_SKIP_WITHOUT_GPU() \
  if (!gatrec::cuda::has_device()) GTEST_SKIP() << "no CUDA device on this machine"

namespace gatrec::test {

/// Every element compared; fails when max |got - ref| > tol * max |ref|, or on a non-finite value,
/// or when the reference is all zeros (unless zero_reference_ok: then got must be exactly 0 too).
/// Prints the largest error.
inline void expect_matrix_near(const std::string& what, const matrix<float>& got, const matrix<float>& ref,
                               double tol, bool zero_reference_ok = false) {
  ASSERT_EQ(got.rows(), ref.rows()) << what;
  ASSERT_EQ(got.cols(), ref.cols()) << what;
  double max_err = 0, scale = 0;
  Eigen::Index worst = 0;
  bool finite = true;
  for (Eigen::Index k = 0; k < got.size(); ++k) {
    const double g = got.data()[k], r = ref.data()[k];
    if (!std::isfinite(g)) {
      if (finite) worst = k;
      finite = false;
    }
    const double e = std::abs(g - r);
    if (finite && e > max_err) {
      max_err = e;
      worst = k;
    }
    scale = std::max(scale, std::abs(r));
  }
  std::printf("  %-28s n=%-9ld max|err| %.3e  max|ref| %.3e  (normalised %.2e)\n", what.c_str(),
              static_cast<long>(got.size()), max_err, scale, max_err / std::max(scale, 1e-30));
  EXPECT_TRUE(finite) << what << ": element " << worst << " is " << got.data()[worst] << " (never written?)";
  if (!zero_reference_ok) {
    EXPECT_GT(scale, 0.0) << what << ": the reference is all zeros";
  }
  EXPECT_LE(max_err, tol * scale) << what << ": element " << worst << " got " << got.data()[worst] << " expected "
                                  << ref.data()[worst];
}

/// Inputs must be finite and not all zero (a test on zeros proves nothing).
inline void expect_usable_input(const std::string& what, const matrix<float>& m) {
  ASSERT_TRUE(m.allFinite()) << what;
  ASSERT_GT(m.cwiseAbs().maxCoeff(), 0.0f) << what << " is all zeros";
}

/// Bitwise equality of two runs.
inline void expect_bitwise_equal(const std::string& what, const matrix<float>& a, const matrix<float>& b) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (Eigen::Index k = 0; k < a.size(); ++k)
    ASSERT_EQ(std::memcmp(a.data() + k, b.data() + k, sizeof(float)), 0)
        << what << " differs between two runs at " << k << ": " << a.data()[k] << " vs " << b.data()[k];
}

/// Fills a device matrix with NaN (all bits set) so that unwritten elements show up.
inline void poison(cuda::device_matrix& m) { m.fill_bytes(0xff); }

}  // namespace gatrec::test
