// --device cuda for gatrec-movielens (declarations and the reasons for the split: device_backend.hpp).
#include <gatrec/cuda/device.cuh>
#include <gatrec/cuda/device_gat_recommender.cuh>
#include <gatrec/cuda/device_memory.cuh>

#include <cuda_runtime_api.h>

#include <string>

#include "device_backend.hpp"

namespace movielens {

bool probe_cuda_device(std::string& note) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    note = std::string("no usable CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(status) + ")";
    return false;
  }
  if (count == 0) {
    note = "no CUDA device on this machine";
    return false;
  }
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) != cudaSuccess || cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    note = "cannot read the properties of CUDA device " + std::to_string(device);
    return false;
  }
  note = "CUDA device " + std::to_string(device) + ": " + prop.name + " (sm_" + std::to_string(prop.major) +
         std::to_string(prop.minor) + ", " + std::to_string(prop.totalGlobalMem >> 20) + " MiB)";
  return true;
}

std::string require_cuda_device() {
  std::string note;
  if (!probe_cuda_device(note)) throw gatrec::error("--device cuda: " + note);
  return note;
}

void reset_device_memory_peak() { gatrec::cuda::reset_buffer_bytes_peak(); }

std::size_t device_memory_peak_bytes() { return gatrec::cuda::buffer_bytes_peak(); }

std::unique_ptr<gatrec::embedding_recommender<float>> make_device_gat_recommender(
    gatrec::index_t num_users, gatrec::index_t num_items, const gatrec::rating_table& train,
    const gatrec::matrix<float>& features, const gatrec::gat_recommender_options& opt) {
  require_cuda_device();
  return std::make_unique<gatrec::cuda::device_gat_recommender>(num_users, num_items, train, features, opt);
}

}  // namespace movielens
