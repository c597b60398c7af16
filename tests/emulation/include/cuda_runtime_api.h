#pragma once
// CPU emulation of the CUDA runtime for the tests (see tests/emulation/README.md).
#include "cuda_emulation/launch.hpp"
