// The CPU emulation's own rules (tests/emulation/include/cuda_emulation/block_scheduler.hpp): what
// barriers and warp shuffles return, the order in which threads run, and that a block which can
// never finish, or a shuffle that reads a lane outside its mask, fails the kernel with a message
// naming the block, the thread and where it waits. Every GPU test that runs on the emulation relies
// on these; they run only there (this file is compiled against tests/emulation alone).
#include <gatrec/cuda/device_buffer.cuh>

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace test_block_scheduler {
namespace {

using gatrec::cuda::device_buffer;

__global__ void rotate_through_shared_kernel(int* out) {
  __shared__ int slots[96];
  const int t = static_cast<int>(threadIdx.x);
  slots[t] = 3 * t;
  __syncthreads();
  out[t] = slots[(t + 1) % 96];
}

TEST(BlockScheduler, ABarrierMakesEveryThreadsSharedWriteVisible) {
  device_buffer<int> out(96);
  cuda_emulation::launch(rotate_through_shared_kernel, dim3(1), dim3(96), 0, nullptr, out.data());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<int> got = out.to_host();
  for (int t = 0; t < 96; ++t) EXPECT_EQ(got[t], 3 * ((t + 1) % 96)) << "thread " << t;
}

// Block of 48: warp 0 is whole, warp 1 has lanes 0-15 only. Each thread holds t + 1.
__global__ void shuffle_kernel(int* sums, int* down_sums, int* broadcasts) {
  const int t = static_cast<int>(threadIdx.x);
  const bool whole = t < 32;
  const unsigned mask = whole ? 0xffffffffu : 0x0000ffffu;
  const int width = whole ? 32 : 16;
  int butterfly = t + 1, down = t + 1;
  for (int offset = width / 2; offset > 0; offset /= 2) {
    butterfly += __shfl_xor_sync(mask, butterfly, offset, width);
    down += __shfl_down_sync(mask, down, static_cast<unsigned>(offset), width);
  }
  sums[t] = butterfly;
  down_sums[t] = down;
  broadcasts[t] = __shfl_sync(mask, t + 1, 5, width);
}

TEST(BlockScheduler, ShufflesExchangeValuesInWholeAndPartialWarps) {
  device_buffer<int> sums(48), down_sums(48), broadcasts(48);
  cuda_emulation::launch(shuffle_kernel, dim3(1), dim3(48), 0, nullptr, sums.data(), down_sums.data(),
                         broadcasts.data());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<int> s = sums.to_host(), d = down_sums.to_host(), b = broadcasts.to_host();
  const int warp0 = 32 * 33 / 2;                  // 1 + ... + 32
  const int warp1 = (33 + 48) * 16 / 2;           // 33 + ... + 48
  for (int t = 0; t < 48; ++t) {
    EXPECT_EQ(s[t], t < 32 ? warp0 : warp1) << "xor butterfly, thread " << t;
    EXPECT_EQ(b[t], t < 32 ? 6 : 32 + 6) << "broadcast from lane 5, thread " << t;
  }
  // A down-shuffle tree leaves the whole sum in lane 0 of each segment.
  EXPECT_EQ(d[0], warp0);
  EXPECT_EQ(d[32], warp1);
}

std::vector<int> run_order;

__global__ void record_order_kernel() {
  const int t = static_cast<int>(threadIdx.x);
  run_order.push_back(t);
  __syncthreads();
  run_order.push_back(t);
  __syncthreads();
  run_order.push_back(t);
}

TEST(BlockScheduler, ResumesThreadsInAscendingAndDescendingOrderOnAlternateRounds) {
  run_order.clear();
  cuda_emulation::launch(record_order_kernel, dim3(1), dim3(4), 0, nullptr);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  // The last thread to reach a barrier goes on at once, so each phase starts with the thread that
  // ended the one before: code that reads another thread's shared write without a barrier sees the
  // order change from one phase to the next, as it may on a GPU.
  EXPECT_EQ(run_order, (std::vector<int>{0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3}));
}

__global__ void exit_early_kernel(int* out) {
  const int t = static_cast<int>(threadIdx.x);
  if (t % 3 == 0) return;
  __syncthreads();  // exited threads no longer count, as on the hardware
  out[t] = t;
}

TEST(BlockScheduler, ThreadsThatExitedDoNotHoldABarrier) {
  device_buffer<int> out(std::vector<int>(64, -1));
  cuda_emulation::launch(exit_early_kernel, dim3(1), dim3(64), 0, nullptr, out.data());
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<int> got = out.to_host();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(got[t], t % 3 == 0 ? -1 : t) << "thread " << t;
}

// The failing launches run in child processes: a failed kernel leaves a sticky error, and the
// failed block's fibers are abandoned (LeakSanitizer would report what their frames hold).
cudaError_t launch_and_sync(void (*kernel)(), dim3 grid, dim3 block) {
  cuda_emulation::launch(kernel, grid, block, 0, nullptr);
  return cudaDeviceSynchronize();
}

__global__ void barrier_against_shuffle_kernel() {
  if (threadIdx.x == 0)
    __syncthreads();
  else
    static_cast<void>(__shfl_sync(0xffffffffu, 1, 0));
}

__global__ void shuffle_with_an_exited_lane_kernel() {
  if (threadIdx.x == 31) return;
  static_cast<void>(__shfl_xor_sync(0xffffffffu, 1, 1));
}

TEST(BlockScheduler, ABlockWhereNoThreadCanRunFailsWithWhereEachWaits) {
  EXPECT_EXIT(std::_Exit(launch_and_sync(barrier_against_shuffle_kernel, dim3(2), dim3(32)) ==
                                 cudaErrorLaunchFailure
                             ? 0
                             : 1),
              ::testing::ExitedWithCode(0),
              "block \\(0,0,0\\) deadlocks: thread 0 waits at __syncthreads; thread 1 waits at __shfl_sync "
              "\\(mask 0xffffffff\\);.* 0 threads have exited");
  EXPECT_EXIT(std::_Exit(launch_and_sync(shuffle_with_an_exited_lane_kernel, dim3(1), dim3(32)) ==
                                 cudaErrorLaunchFailure
                             ? 0
                             : 1),
              ::testing::ExitedWithCode(0),
              "deadlocks: thread 0 waits at __shfl_xor_sync \\(mask 0xffffffff\\);.* 1 threads have exited");
}

__global__ void read_outside_the_mask_kernel() {
  // Block (8, 4): the failing thread, linear index 13, is thread (5, 1, 0), in block (2, 0, 0).
  const int t = static_cast<int>(threadIdx.x + 8 * threadIdx.y);
  if (blockIdx.x == 2 && t < 16) static_cast<void>(__shfl_sync(0x0000ffffu, t, t == 13 ? 20 : 0));
}

__global__ void call_outside_the_mask_kernel() {
  if (threadIdx.x == 7) static_cast<void>(__shfl_sync(0x0000ff00u, 1, 8));
}

TEST(BlockScheduler, AShuffleOutsideItsMaskFailsNamingTheBlockAndThread) {
  EXPECT_EXIT(std::_Exit(launch_and_sync(read_outside_the_mask_kernel, dim3(3), dim3(8, 4)) ==
                                 cudaErrorLaunchFailure
                             ? 0
                             : 1),
              ::testing::ExitedWithCode(0),
              "block \\(2,0,0\\) thread \\(5,1,0\\): __shfl_sync reads lane 20, which is not in the mask");
  EXPECT_EXIT(std::_Exit(launch_and_sync(call_outside_the_mask_kernel, dim3(1), dim3(32)) ==
                                 cudaErrorLaunchFailure
                             ? 0
                             : 1),
              ::testing::ExitedWithCode(0), "thread \\(7,0,0\\): __shfl_sync called by a lane outside its mask");
}

// After a failed kernel every call returns the failure, as a GPU context is lost.
bool later_calls_fail_after_a_failed_kernel() {
  static_cast<void>(launch_and_sync(call_outside_the_mask_kernel, dim3(1), dim3(32)));
  int* p = nullptr;
  return cudaMalloc(&p, 4) == cudaErrorLaunchFailure && cudaGetLastError() == cudaErrorLaunchFailure &&
         launch_and_sync(record_order_kernel, dim3(1), dim3(1)) == cudaErrorLaunchFailure;
}

TEST(BlockScheduler, AFailedKernelLeavesAStickyError) {
  EXPECT_EXIT(std::_Exit(later_calls_fail_after_a_failed_kernel() ? 0 : 1), ::testing::ExitedWithCode(0),
              "called by a lane outside its mask");
}

}  // namespace
}  // namespace test_block_scheduler
