#pragma once

/// @file
/// @brief The part of the CUDA runtime API the project calls, on host memory.
///
/// Device memory is host memory from an allocation registry, so that every call can check what
/// the real runtime would reject: a device pointer that is not inside a device allocation, a copy
/// whose direction does not match its pointers, a range past the end of an allocation. All work
/// is synchronous; streams are tokens. A failed kernel leaves a sticky error, as on a GPU.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

struct CUstream_st {};
using cudaStream_t = CUstream_st*;

namespace cuda_emulation {

/// What the host has asked of the device so far: tests take the difference over a region (a
/// training step, a validation ranking) to check what a GPU would spend there besides arithmetic:
/// allocations (cudaMalloc and cudaFree synchronise the device), bytes over the bus, launches.
struct activity_counters {
  std::int64_t allocations = 0, frees = 0;
  std::int64_t host_to_device_copies = 0, device_to_host_copies = 0, device_to_device_copies = 0, memsets = 0;
  std::size_t host_to_device_bytes = 0, device_to_host_bytes = 0, device_to_device_bytes = 0;
  std::int64_t kernel_launches = 0;
  std::int64_t library_calls = 0;  ///< cuBLAS, cuSPARSE and CUB operations (each one or more kernels)
};

inline activity_counters operator-(const activity_counters& a, const activity_counters& b) {
  activity_counters d;
  d.allocations = a.allocations - b.allocations;
  d.frees = a.frees - b.frees;
  d.host_to_device_copies = a.host_to_device_copies - b.host_to_device_copies;
  d.device_to_host_copies = a.device_to_host_copies - b.device_to_host_copies;
  d.device_to_device_copies = a.device_to_device_copies - b.device_to_device_copies;
  d.memsets = a.memsets - b.memsets;
  d.host_to_device_bytes = a.host_to_device_bytes - b.host_to_device_bytes;
  d.device_to_host_bytes = a.device_to_host_bytes - b.device_to_host_bytes;
  d.device_to_device_bytes = a.device_to_device_bytes - b.device_to_device_bytes;
  d.kernel_launches = a.kernel_launches - b.kernel_launches;
  d.library_calls = a.library_calls - b.library_calls;
  return d;
}

/// The emulated device's memory: cudaMalloc refuses what would exceed it, as a GPU does.
inline constexpr std::size_t device_memory_bytes = std::size_t{16} << 30;

struct runtime_state {
  std::map<std::uintptr_t, std::size_t> allocations;  // base -> bytes
  std::size_t allocated_bytes = 0;
  activity_counters activity;
  cudaError_t last_error = cudaSuccess;
  cudaError_t sticky_error = cudaSuccess;
  std::string last_message;
};

inline runtime_state& runtime() {
  static runtime_state state;
  return state;
}

/// Records an error for cudaGetLastError and prints why (the real runtime only gives a code).
inline cudaError_t report(cudaError_t e, const std::string& why) {
  runtime().last_error = e;
  runtime().last_message = why;
  std::fprintf(stderr, "[cuda emulation] %s\n", why.c_str());
  return e;
}

/// True when [p, p + bytes) lies inside one device allocation (bytes 0: p may be its end).
inline bool is_device_range(const void* p, std::size_t bytes) {
  const auto& a = runtime().allocations;
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  auto it = a.upper_bound(address);
  if (it == a.begin()) return false;
  --it;
  return address >= it->first && address + bytes <= it->first + it->second;
}

inline bool is_device_pointer(const void* p) { return is_device_range(p, 0); }

/// The counters so far (take differences).
inline const activity_counters& activity() { return runtime().activity; }

/// Marks a failed kernel: every later call returns the error, as after a launch failure on a GPU.
inline void fail_kernel(const std::string& why) {
  runtime().sticky_error = cudaErrorLaunchFailure;
  report(cudaErrorLaunchFailure, why);
}

}  // namespace cuda_emulation

inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }

inline cudaError_t cudaGetLastError() {
  auto& r = cuda_emulation::runtime();
  const cudaError_t e = r.sticky_error != cudaSuccess ? r.sticky_error : r.last_error;
  r.last_error = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() {
  auto& r = cuda_emulation::runtime();
  return r.sticky_error != cudaSuccess ? r.sticky_error : r.last_error;
}

inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : cuda_emulation::report(cudaErrorInvalidValue, "cudaSetDevice: only device 0");
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

/// What the emulation reports as its device (an H100-like compute capability, host memory).
struct cudaDeviceProp {
  char name[256];
  int major;
  int minor;
  std::size_t totalGlobalMem;
  int multiProcessorCount;
  int warpSize;
  std::size_t sharedMemPerBlock;
};
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return cuda_emulation::report(cudaErrorInvalidValue, "cudaGetDeviceProperties: only device 0");
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "%s", "CPU emulation of CUDA (tests/emulation)");
  prop->major = 9;
  prop->minor = 0;
  prop->totalGlobalMem = cuda_emulation::device_memory_bytes;
  prop->multiProcessorCount = 1;
  prop->warpSize = 32;
  prop->sharedMemPerBlock = 48 * 1024;
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  auto& r = cuda_emulation::runtime();
  if (r.sticky_error != cudaSuccess) return r.sticky_error;
  if (bytes > cuda_emulation::device_memory_bytes - r.allocated_bytes)
    return cuda_emulation::report(cudaErrorMemoryAllocation, "cudaMalloc of " + std::to_string(bytes) +
                                                                 " bytes: more than the emulated device has free");
  // 256-byte alignment like cudaMalloc, and exactly `bytes` long (a zero-byte request still gets a
  // distinct address), so that AddressSanitizer sees an access one element past the end.
  void* q = nullptr;
  if (posix_memalign(&q, 256, bytes == 0 ? 1 : bytes) != 0)
    return cuda_emulation::report(cudaErrorMemoryAllocation, "cudaMalloc: out of host memory");
  // Fresh device memory holds garbage, not zeros: tests must not depend on it.
  std::memset(q, 0xa5, bytes);
  r.allocations[reinterpret_cast<std::uintptr_t>(q)] = bytes;
  r.allocated_bytes += bytes;
  ++r.activity.allocations;
  *p = q;
  return cudaSuccess;
}
template <class T>
cudaError_t cudaMalloc(T** p, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}

inline cudaError_t cudaFree(void* p) {
  if (p == nullptr) return cudaSuccess;
  auto& a = cuda_emulation::runtime().allocations;
  const auto it = a.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == a.end()) return cuda_emulation::report(cudaErrorInvalidDevicePointer, "cudaFree: not the start of a device allocation");
  cuda_emulation::runtime().allocated_bytes -= it->second;
  a.erase(it);
  ++cuda_emulation::runtime().activity.frees;
  std::free(p);
  return cudaSuccess;
}

inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  using namespace cuda_emulation;
  auto& r = runtime();
  if (r.sticky_error != cudaSuccess) return r.sticky_error;
  if (bytes == 0) return cudaSuccess;
  const bool dst_device = is_device_range(dst, bytes), src_device = is_device_range(src, bytes);
  const bool dst_ok = kind == cudaMemcpyDefault || (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice) == dst_device;
  const bool src_ok = kind == cudaMemcpyDefault || (kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice) == src_device;
  if (!dst_ok || !src_ok)
    return report(cudaErrorInvalidValue, std::string("cudaMemcpy of ") + std::to_string(bytes) + " bytes, kind " +
                                             std::to_string(static_cast<int>(kind)) + ": " +
                                             (!dst_ok ? "destination" : "source") +
                                             " is not the memory the kind names (or runs past its allocation)");
  std::memmove(dst, src, bytes);
  activity_counters& c = r.activity;
  if (dst_device && src_device) {
    ++c.device_to_device_copies;
    c.device_to_device_bytes += bytes;
  } else if (dst_device) {
    ++c.host_to_device_copies;
    c.host_to_device_bytes += bytes;
  } else if (src_device) {
    ++c.device_to_host_copies;
    c.device_to_host_bytes += bytes;
  }
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, bytes, kind);
}

inline cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  using namespace cuda_emulation;
  if (runtime().sticky_error != cudaSuccess) return runtime().sticky_error;
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(dst, bytes)) return report(cudaErrorInvalidValue, "cudaMemset: not a device range");
  std::memset(dst, value, bytes);
  ++runtime().activity.memsets;
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t = nullptr) {
  return cudaMemset(dst, value, bytes);
}

inline cudaError_t cudaStreamCreate(cudaStream_t* s) {
  *s = new CUstream_st;
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cuda_emulation::runtime().sticky_error; }
inline cudaError_t cudaDeviceSynchronize() { return cuda_emulation::runtime().sticky_error; }

/// Free and total device memory: the emulated total less what is allocated now.
inline cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  *total_bytes = cuda_emulation::device_memory_bytes;
  *free_bytes = *total_bytes - cuda_emulation::runtime().allocated_bytes;
  return cudaSuccess;
}

// Events: work is synchronous here, so an event records the host clock when it is reached.
struct CUevent_st {
  std::chrono::steady_clock::time_point at{};
  bool recorded = false;
};
using cudaEvent_t = CUevent_st*;
inline cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = new CUevent_st;
  return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t = nullptr) {
  e->at = std::chrono::steady_clock::now();
  e->recorded = true;
  return cuda_emulation::runtime().sticky_error;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cuda_emulation::runtime().sticky_error; }
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
  if (!start->recorded || !stop->recorded)
    return cuda_emulation::report(cudaErrorInvalidValue, "cudaEventElapsedTime: an event was never recorded");
  *ms = std::chrono::duration<float, std::milli>(stop->at - start->at).count();
  return cudaSuccess;
}
