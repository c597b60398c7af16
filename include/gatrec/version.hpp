#pragma once

/// @file
/// @brief gatrec's version; CMakeLists.txt reads it from here, so it lives in one place.

#define GATREC_VERSION_MAJOR 0
#define GATREC_VERSION_MINOR 1
#define GATREC_VERSION_PATCH 0

#define GATREC_VERSION (GATREC_VERSION_MAJOR * 10000 + GATREC_VERSION_MINOR * 100 + GATREC_VERSION_PATCH)
