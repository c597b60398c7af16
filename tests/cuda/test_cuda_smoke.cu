// The first CUDA translation unit: proves gatrec::cuda compiles and links everywhere, and checks
// the element-wise kernels against the CPU functions when a GPU is present.
#include <gatrec/cuda.cuh>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "cuda/device_test_support.cuh"

namespace test_cuda_smoke {
namespace {

TEST(CudaSmoke, DeviceCountNeverThrows) {
  EXPECT_GE(gatrec::cuda::device_count(), 0);
}

TEST(CudaSmoke, LeakyReluMatchesCpuElementByElement) {
  GATREC_SKIP_WITHOUT_GPU();
  const std::size_t n = 1000003;  // not a multiple of the block size
  gatrec::rng r(11);
  std::vector<float> x(n), dy(n);
  for (auto& v : x) v = static_cast<float>(r.normal());
  for (auto& v : dy) v = static_cast<float>(r.normal());
  gatrec::cuda::device_buffer<float> dx_in(x), ddy(dy), dy_out(n), ddx(n);
  gatrec::cuda::leaky_relu_forward(dx_in.data(), dy_out.data(), n, 0.2f);
  gatrec::cuda::leaky_relu_backward(dx_in.data(), ddy.data(), ddx.data(), n, 0.2f);
  const auto y = dy_out.to_host();
  const auto g = ddx.to_host();
  std::size_t nonzero = 0;
  for (std::size_t k = 0; k < n; ++k) {
    ASSERT_EQ(y[k], gatrec::leaky_relu(x[k], 0.2f)) << "at " << k;
    ASSERT_EQ(g[k], dy[k] * gatrec::leaky_relu_grad(x[k], 0.2f)) << "at " << k;
    nonzero += y[k] != 0.0f;
  }
  EXPECT_GT(nonzero, n / 2);
}

TEST(CudaSmoke, ErrorsBecomeCudaErrorWithTheCallSite) {
  GATREC_SKIP_WITHOUT_GPU();
  try {
    GATREC_CUDA_TRY(cudaMemcpy(nullptr, reinterpret_cast<void*>(0x1), 16, cudaMemcpyDeviceToDevice));
    FAIL() << "no exception";
  } catch (const gatrec::cuda_error& e) {
    EXPECT_NE(std::string(e.what()).find("test_cuda_smoke.cu"), std::string::npos);
  }
}

// What device buffers hold, now and at the peak: counted at allocation and release, moves carry
// their bytes, shrinking keeps the allocation (and its count), a reset starts the peak from what
// is held now.
TEST(CudaSmoke, BufferBytesCountWhatIsHeldAndThePeak) {
  GATREC_SKIP_WITHOUT_GPU();
  const std::size_t base = gatrec::cuda::buffer_bytes_in_use();
  gatrec::cuda::reset_buffer_bytes_peak();
  EXPECT_EQ(gatrec::cuda::buffer_bytes_peak(), base);
  {
    gatrec::cuda::device_buffer<float> a(1000);
    gatrec::cuda::device_buffer<double> b(500);
    EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base + 8000);
    gatrec::cuda::device_buffer<float> moved = std::move(a);
    EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base + 8000);
    const double* held = b.data();
    b.resize(100);  // shrinking keeps the allocation
    EXPECT_EQ(b.size(), 100u);
    EXPECT_EQ(b.capacity(), 500u);
    EXPECT_EQ(b.data(), held);
    EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base + 8000);
    b.resize(500);  // back within the capacity: no allocation
    EXPECT_EQ(b.data(), held);
    b.resize(600);  // growing: 4,000 bytes freed, 4,800 allocated
    EXPECT_EQ(b.capacity(), 600u);
    EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base + 8800);
    b.clear();
    EXPECT_EQ(b.capacity(), 0u);
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base + 4000);
  }
  EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base);
  EXPECT_EQ(gatrec::cuda::buffer_bytes_peak(), base + 8800);
  gatrec::cuda::reset_buffer_bytes_peak();
  EXPECT_EQ(gatrec::cuda::buffer_bytes_peak(), base);
  // A failed allocation counts nothing.
  std::size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  EXPECT_THROW(gatrec::cuda::device_buffer<char>(total_bytes + 1), gatrec::cuda_error);
  EXPECT_EQ(gatrec::cuda::buffer_bytes_in_use(), base);
  EXPECT_EQ(gatrec::cuda::buffer_bytes_peak(), base);
}

// Asking for more than the device holds: a cuda_error that says how much was asked and how much is
// free (not the bare cudaErrorMemoryAllocation), and the failure is not sticky: the next allocation
// and kernel work.
TEST(CudaSmoke, OutOfMemorySaysHowMuchAndIsNotSticky) {
  GATREC_SKIP_WITHOUT_GPU();
  std::size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  const std::size_t too_many = total_bytes / sizeof(float) + (std::size_t{1} << 28);  // 1 GiB more than all
  try {
    gatrec::cuda::device_buffer<float> huge(too_many);
    FAIL() << "no exception";
  } catch (const gatrec::cuda_error& e) {
    const std::string what = e.what();
    std::printf("  %s\n", what.c_str());
    const std::string asked = std::to_string((too_many * sizeof(float)) >> 20) + " MiB";
    EXPECT_NE(what.find("out of device memory"), std::string::npos) << what;
    EXPECT_NE(what.find(asked), std::string::npos) << what;
    EXPECT_NE(what.find("free of " + std::to_string(total_bytes >> 20) + " MiB"), std::string::npos) << what;
  }
  gatrec::cuda::device_buffer<float> x(std::vector<float>{-1.f, 2.f}), y(2);
  gatrec::cuda::leaky_relu_forward(x.data(), y.data(), 2, 0.5f);
  EXPECT_EQ(y.to_host(), (std::vector<float>{-0.5f, 2.f}));
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace

}  // namespace test_cuda_smoke
