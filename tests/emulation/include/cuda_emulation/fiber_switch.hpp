#pragma once

/// @file
/// @brief The stack switch under the emulated threads: a few instructions on x86-64 (callee-saved
/// registers and the floating-point control words), ucontext elsewhere. swapcontext makes a
/// system call per switch to save the signal mask; the block scheduler switches at every barrier
/// and warp shuffle, so that call dominated the emulation's run time.

#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// A fiber stack is reused by the next block's threads; frames abandoned there (a thread's last
// frame never returns) leave AddressSanitizer's poison behind, so clear it before each reuse.
#define CUDA_EMULATION_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define CUDA_EMULATION_UNPOISON(p, n) static_cast<void>(0)
#endif

#if defined(__x86_64__)

extern "C" void cuda_emulation_switch(void** save_sp, void* load_sp);

// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack, stores
// the stack pointer in *save_sp, loads load_sp and restores the same from there. `.weak`: every
// test program that includes this header emits it; the linker keeps one.
asm(R"(
  .text
  .weak cuda_emulation_switch
  .type cuda_emulation_switch, @function
cuda_emulation_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cuda_emulation_switch, .-cuda_emulation_switch
)");

namespace cuda_emulation {

/// A suspended execution context: its saved stack pointer.
struct fiber {
  void* sp = nullptr;

  /// Prepares `stack` so that the first switch to this fiber calls entry() (which must not return).
  void prepare(char* stack, std::size_t bytes, void (*entry)()) {
    CUDA_EMULATION_UNPOISON(stack, bytes);
    auto top = reinterpret_cast<std::uintptr_t>(stack + bytes) & ~std::uintptr_t{15};
    auto* slot = reinterpret_cast<std::uint64_t*>(top);
    // From the top: a dummy return address (entry() is entered with rsp = 8 mod 16, as after a
    // call), entry itself (popped by `ret`), six zeroed registers, the control words.
    slot[-1] = 0;
    slot[-2] = reinterpret_cast<std::uint64_t>(entry);
    for (int r = 3; r <= 8; ++r) slot[-r] = 0;
    std::uint32_t mxcsr = 0;
    std::uint16_t x87 = 0;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(x87));
    slot[-9] = static_cast<std::uint64_t>(mxcsr) | static_cast<std::uint64_t>(x87) << 32;
    sp = &slot[-9];
  }
};

/// Saves the running context into `from` and resumes `to`.
inline void switch_fiber(fiber& from, const fiber& to) { cuda_emulation_switch(&from.sp, to.sp); }

}  // namespace cuda_emulation

#else

#include <ucontext.h>

namespace cuda_emulation {

struct fiber {
  ucontext_t context{};
  void prepare(char* stack, std::size_t bytes, void (*entry)()) {
    CUDA_EMULATION_UNPOISON(stack, bytes);
    getcontext(&context);
    context.uc_stack.ss_sp = stack;
    context.uc_stack.ss_size = bytes;
    context.uc_link = nullptr;
    makecontext(&context, entry, 0);
  }
};

inline void switch_fiber(fiber& from, const fiber& to) { swapcontext(&from.context, &to.context); }

}  // namespace cuda_emulation

#endif
