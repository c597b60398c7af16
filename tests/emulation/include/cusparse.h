#pragma once
// CPU emulation of cuSPARSE's generic API for the tests (see tests/emulation/README.md).
#include "cuda_emulation/launch.hpp"
#include "cuda_emulation/cusparse.hpp"
