#pragma once
// CPU emulation of cuBLAS for the tests (see tests/emulation/README.md).
#include "cuda_emulation/launch.hpp"
#include "cuda_emulation/cublas.hpp"
