#pragma once

/// @file
/// @brief cuda_emulation::launch: checks a launch as the runtime would, then runs every block.

#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_emulation/block_scheduler.hpp"
#include "cuda_emulation/device_builtins.hpp"
#include "cuda_emulation/runtime.hpp"

namespace cuda_emulation {

/// Static shared memory is not counted: `__shared__` arrays live in static storage here.
inline constexpr std::size_t max_dynamic_shared_bytes = 48 * 1024;

template <class T>
bool pointer_argument_ok(const T& value) {
  if constexpr (std::is_pointer_v<T> && !std::is_function_v<std::remove_pointer_t<T>>)
    return value == nullptr || is_device_pointer(value);
  else
    return true;
}

template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t,
            Args&&... args) {
  runtime_state& r = runtime();
  if (r.sticky_error != cudaSuccess) {
    r.last_error = r.sticky_error;
    return;
  }
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
    report(cudaErrorInvalidConfiguration, "launch with grid (" + std::to_string(grid.x) + "," + std::to_string(grid.y) +
                                              "," + std::to_string(grid.z) + ") and block (" + std::to_string(block.x) +
                                              "," + std::to_string(block.y) + "," + std::to_string(block.z) + ")");
    return;
  }
  if (shared_bytes > max_dynamic_shared_bytes) {
    report(cudaErrorInvalidValue, "launch asks for " + std::to_string(shared_bytes) + " bytes of dynamic shared memory");
    return;
  }
  // The arguments are converted to the kernel's parameter types once, as a launch copies them.
  const std::tuple<std::decay_t<Params>...> bound(std::forward<Args>(args)...);
  int position = 0, bad = -1;
  std::apply([&](const auto&... p) { ((bad = (bad < 0 && !pointer_argument_ok(p)) ? position : bad, ++position), ...); },
             bound);
  if (bad >= 0) {
    report(cudaErrorInvalidValue, "kernel argument " + std::to_string(bad) + " is a pointer outside device memory");
    return;
  }
  ++r.activity.kernel_launches;
  const std::function<void()> body = [&] { std::apply(kernel, bound); };
  current_grid_dim = grid;
  current_block_dim = block;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        current_block_index = uint3{x, y, z};
        const std::string failure = scheduler().run_block(block, current_block_index, body);
        if (!failure.empty()) {
          fail_kernel("kernel failed: " + failure);
          return;
        }
      }
}

}  // namespace cuda_emulation
