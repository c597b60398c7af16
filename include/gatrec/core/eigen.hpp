#pragma once

/// @file
/// @brief Eigen aliases. Node features are row-major, so that one node's vector is contiguous.

#include <Eigen/Core>

namespace gatrec {

/// A dense row-major matrix: rows are nodes (or samples), columns are features.
template <class Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A dense column vector.
template <class Scalar>
using vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// A read-only view of a row-major matrix held elsewhere (numpy buffers, device copies).
template <class Scalar>
using const_matrix_map = Eigen::Map<const matrix<Scalar>>;

template <class Scalar>
using matrix_map = Eigen::Map<matrix<Scalar>>;

}  // namespace gatrec
