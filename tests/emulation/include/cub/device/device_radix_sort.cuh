#pragma once
// CPU emulation of cub::DeviceRadixSort::SortPairs for the tests (see tests/emulation/README.md).
#include "cuda_emulation/cub_radix_sort.hpp"
