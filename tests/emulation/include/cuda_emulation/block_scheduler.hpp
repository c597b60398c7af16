#pragma once

/// @file
/// @brief Runs the threads of one emulated thread block as cooperative fibers on one CPU thread.
///
/// Each CUDA thread gets its own stack (fiber_switch.hpp). A thread runs until it finishes or reaches a
/// barrier (__syncthreads) or a warp collective (__shfl_*_sync, __syncwarp), then switches straight
/// to the next thread that may run. A barrier opens when every live thread of the block has reached
/// it, a collective when every lane of its mask has. Threads are resumed in ascending and descending
/// order on alternate rounds, so code that reads shared memory another thread wrote without a
/// barrier in between sees a different interleaving on each round. A block in which no
/// thread can run and some are waiting is a deadlock (a barrier inside divergent code, a mask
/// naming a lane that exited): the launch fails with a message that says where each thread waits.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cuda_emulation/fiber_switch.hpp"
#include "cuda_emulation/vector_types.hpp"

namespace cuda_emulation {

/// A failed launch: a deadlock or a bad collective; the message names the block and threads.
struct launch_failure {
  std::string message;
};

class block_scheduler {
 public:
  static constexpr int warp_size = 32;
  static constexpr std::size_t stack_bytes = 256 * 1024;

  block_scheduler() = default;
  block_scheduler(const block_scheduler&) = delete;
  block_scheduler& operator=(const block_scheduler&) = delete;
  ~block_scheduler() {
    for (char* s : stacks_) std::free(s);
  }

  /// Runs `body` once per thread of a block of shape `block` (threadIdx set for each thread).
  /// Returns an empty string, or the reason the block failed.
  std::string run_block(dim3 block, uint3 block_index, const std::function<void()>& body) {
    const int count = static_cast<int>(block.x * block.y * block.z);
    threads_.assign(count, emulated_thread{});
    while (static_cast<int>(stacks_.size()) < count) stacks_.push_back(static_cast<char*>(std::malloc(stack_bytes)));
    body_ = &body;
    barrier_ = {};
    warps_.assign((count + warp_size - 1) / warp_size, warp_state{});
    failure_.clear();
    live_ = count;
    block_index_ = block_index;
    for (int t = 0; t < count; ++t) {
      emulated_thread& th = threads_[t];
      th.index = uint3{static_cast<unsigned>(t % block.x), static_cast<unsigned>((t / block.x) % block.y),
                       static_cast<unsigned>(t / (block.x * block.y))};
      // Stack tops staggered by a few cache lines: tops 256 KiB apart would all map to the same
      // cache sets, and every switch would miss.
      th.context.prepare(stacks_[t], stack_bytes - static_cast<std::size_t>(t % 61) * 192, &block_scheduler::thread_entry);
    }
    // The first thread starts; from then on each thread that waits or exits switches straight to
    // the next one (half the switches of going through the scheduler), and the scheduler's context
    // is resumed only when the block is done, has failed or deadlocks.
    round_ = 0;
    step_ = -1;
    progressed_ = false;
    const int first = next_thread();
    if (first >= 0) {
      enter(first);
      switch_fiber(scheduler_context_, threads_[first].context);
    }
    current_ = -1;
    return failure_;
  }

  /// Linear index of the running thread within its block.
  int current_thread() const noexcept { return current_; }

  /// __syncthreads(): waits until every live thread of the block has arrived.
  void sync_threads() {
    emulated_thread& th = threads_[current_];
    const std::uint64_t generation = barrier_.generation;
    if (++barrier_.arrived == live_) {
      open_barrier();
      return;
    }
    th.wait = wait_kind::barrier;
    th.waited_generation = generation;
    yield();
  }

  /// One warp collective: every lane of `mask` deposits `bits`; returns the bits deposited by
  /// `source_lane` (which must be in the mask). `what` names the intrinsic in error messages.
  std::uint64_t exchange(unsigned mask, std::uint64_t bits, int source_lane, const char* what) {
    const int lane = current_ % warp_size;
    const int warp = current_ / warp_size;
    if ((mask >> lane & 1u) == 0) fail_collective(what, " called by a lane outside its mask");
    if (source_lane < 0 || source_lane >= warp_size || (mask >> source_lane & 1u) == 0)
      fail_collective(what, " reads lane " + std::to_string(source_lane) + ", which is not in the mask");
    collective& c = warps_[warp].for_mask(mask);
    const std::uint64_t generation = c.generation;
    c.slots[generation & 1][lane] = bits;
    c.arrived |= 1u << lane;
    if (c.arrived == (mask & lanes_present(warp))) {
      if ((mask & ~lanes_present(warp)) != 0) fail_collective(what, " mask names lanes beyond the block");
      c.arrived = 0;
      ++c.generation;
    } else {
      emulated_thread& th = threads_[current_];
      th.wait = wait_kind::collective;
      th.waited_generation = generation;
      th.waited_mask = mask;
      th.waited_collective = &c;
      th.waited_what = what;
      yield();
    }
    return c.slots[generation & 1][source_lane];
  }

  /// Records a failure of the running thread and never returns to it.
  [[noreturn]] void fail(const std::string& why) {
    const emulated_thread& th = threads_[current_];
    if (failure_.empty())
      failure_ = "block (" + std::to_string(block_index_.x) + "," + std::to_string(block_index_.y) + "," +
                 std::to_string(block_index_.z) + ") thread (" + std::to_string(th.index.x) + "," +
                 std::to_string(th.index.y) + "," + std::to_string(th.index.z) + "): " + why;
    for (;;) yield();
  }

 private:
  // Out of line and cold, so that exchange(), run at every shuffle, keeps a small frame.
  [[noreturn, gnu::noinline, gnu::cold]] void fail_collective(const char* what, const std::string& why) {
    fail(std::string(what) + why);
  }

  enum class wait_kind { none, barrier, collective, done };

  struct collective {
    std::uint64_t generation = 0;
    unsigned arrived = 0;
    std::uint64_t slots[2][warp_size] = {};
  };
  struct emulated_thread {
    fiber context;
    uint3 index{};
    wait_kind wait = wait_kind::none;
    std::uint64_t waited_generation = 0;
    unsigned waited_mask = 0;
    const collective* waited_collective = nullptr;
    const char* waited_what = "";
  };
  // A warp's collectives, one per mask in use (nearly always just the full mask); std::map keeps
  // their addresses stable for the waiting threads that point at them.
  struct warp_state {
    std::map<unsigned, collective> by_mask;
    unsigned last_mask = 0;
    collective* last = nullptr;

    collective& for_mask(unsigned mask) {
      if (last == nullptr || last_mask != mask) {
        last = &by_mask[mask];
        last_mask = mask;
      }
      return *last;
    }
  };
  struct barrier_state {
    std::uint64_t generation = 0;
    int arrived = 0;
  };

  static void thread_entry();

  static bool runnable(const emulated_thread& th, const barrier_state& barrier) {
    switch (th.wait) {
      case wait_kind::none: return true;
      case wait_kind::barrier: return barrier.generation != th.waited_generation;
      case wait_kind::collective: return th.waited_collective->generation != th.waited_generation;
      case wait_kind::done: return false;
    }
    return false;
  }

  // Lanes of `warp` that exist in this block (the last warp may be partial).
  unsigned lanes_present(int warp) const {
    const int n = static_cast<int>(threads_.size()) - warp * warp_size;
    return n >= warp_size ? ~0u : (1u << n) - 1u;
  }

  void open_barrier() {
    barrier_.arrived = 0;
    ++barrier_.generation;
  }

  void enter(int t);
  int next_thread();
  void yield();

  void finish_current() {
    threads_[current_].wait = wait_kind::done;
    --live_;
    // Threads that have exited no longer count for __syncthreads (as on the hardware).
    if (barrier_.arrived > 0 && barrier_.arrived == live_) open_barrier();
  }

  std::string describe_deadlock() const {
    std::string s = "block (" + std::to_string(block_index_.x) + "," + std::to_string(block_index_.y) + "," +
                    std::to_string(block_index_.z) + ") deadlocks:";
    int shown = 0;
    for (std::size_t t = 0; t < threads_.size() && shown < 8; ++t) {
      const emulated_thread& th = threads_[t];
      if (th.wait == wait_kind::barrier) {
        s += " thread " + std::to_string(t) + " waits at __syncthreads;";
        ++shown;
      } else if (th.wait == wait_kind::collective) {
        char mask[16];
        std::snprintf(mask, sizeof mask, "%08x", th.waited_mask);
        s += " thread " + std::to_string(t) + " waits at " + th.waited_what + " (mask 0x" + mask + ");";
        ++shown;
      }
    }
    int exited = 0;
    for (const emulated_thread& th : threads_) exited += th.wait == wait_kind::done;
    return s + " " + std::to_string(exited) + " threads have exited";
  }

  std::vector<emulated_thread> threads_;
  std::vector<char*> stacks_;
  std::vector<warp_state> warps_;
  barrier_state barrier_;
  const std::function<void()>* body_ = nullptr;
  fiber scheduler_context_;
  std::string failure_;
  uint3 block_index_{};
  int live_ = 0;
  int current_ = -1;
  // Where the scan for the next thread to run stands: round (even: ascending) and step within it,
  // and whether any thread ran in this round (a round where none can is a deadlock).
  int round_ = 0;
  int step_ = -1;
  bool progressed_ = false;
};

/// The scheduler of this process (kernels run one block at a time).
inline block_scheduler& scheduler() {
  static block_scheduler instance;
  return instance;
}

/// threadIdx of the running emulated thread (set on every switch).
inline uint3 current_thread_index;

inline void block_scheduler::enter(int t) {
  current_ = t;
  threads_[t].wait = wait_kind::none;
  current_thread_index = threads_[t].index;
}

/// The next thread that may run in round order, or -1 when the scheduler must take over: every
/// thread has exited, one failed, or a whole round passed with none able to run (a deadlock).
inline int block_scheduler::next_thread() {
  const int count = static_cast<int>(threads_.size());
  if (live_ == 0 || !failure_.empty()) return -1;
  for (;;) {
    while (++step_ < count) {
      const int t = (round_ % 2 == 0) ? step_ : count - 1 - step_;
      if (runnable(threads_[t], barrier_)) {
        progressed_ = true;
        return t;
      }
    }
    if (!progressed_) {
      failure_ = describe_deadlock();
      return -1;
    }
    ++round_;
    step_ = -1;
    progressed_ = false;
  }
}

inline void block_scheduler::yield() {
  const int from = current_;
  const int to = next_thread();
  // A thread that waits is not runnable until another one moves, so `to` is never `from`; were it,
  // switching a fiber to itself would load a stale stack pointer, so it just goes on.
  if (to == from) {
    enter(to);
    return;
  }
  if (to < 0) {
    current_ = -1;
    switch_fiber(threads_[from].context, scheduler_context_);
    return;  // never reached: the scheduler does not resume a thread of a finished block
  }
  enter(to);
  switch_fiber(threads_[from].context, threads_[to].context);
}

inline void block_scheduler::thread_entry() {
  block_scheduler& s = scheduler();
  try {
    (*s.body_)();
  } catch (const std::exception& e) {
    s.fail(std::string("exception in device code: ") + e.what());
  }
  s.finish_current();
  s.yield();  // never resumed: the scheduler does not run finished threads
  std::abort();
}

}  // namespace cuda_emulation
