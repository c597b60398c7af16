#pragma once

// --device auto: whether this build and machine can take the GPU. The probe is defined in
// device_backend.cu when the build has CUDA, so that the option parser needs only this declaration.

#include <string>

namespace movielens {

#ifdef GATREC_MOVIELENS_CUDA
/// True when a CUDA device can be used; `note` gets its one-line name, or why it cannot.
bool probe_cuda_device(std::string& note);
#else
inline bool probe_cuda_device(std::string& note) {
  note = "this gatrec-movielens was built without CUDA";
  return false;
}
#endif

}  // namespace movielens
