#pragma once

/// @file
/// @brief Index types shared by every module.

#include <cstdint>

namespace gatrec {

/// Index of a user, an item or a graph node (contiguous, 0-based).
using index_t = std::int32_t;

/// Offset into edge arrays: 64-bit, because graphs past 2^31 edges exist.
using offset_t = std::int64_t;

/// An identifier as it appears in a dataset file (MovieLens user or movie id).
using raw_id_t = std::int64_t;

}  // namespace gatrec
