#pragma once

/// @file
/// @brief A library-calls baseline of the attention core, to show what fusion buys: the logits
/// (GAT: one cuSPARSE SDDMM per head, (d_i, 1) . (1, s_j); GATv2: a per-edge dot kernel, since
/// SDDMM cannot apply a LeakyReLU inside the product), a segment softmax kernel, and one cuSPARSE
/// SpMM per head for the aggregation. The GAT backward is library calls too: SDDMM for
/// dalpha = <g_i, z_j>, a softmax-backward kernel, SpMV (and transposed SpMV) for the per-node
/// score gradients, transposed SpMM for the messages. Attention weights (H x E) are materialised,
/// as they must be between library calls. Inference-style: no dropout; concatenated heads.
/// 32-bit CSR indices (cuSPARSE's fastest path); graphs past 2^31 edges are refused.

#include <cuda_runtime_api.h>
#include <cusparse.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "baseline_softmax.cuh"
#include "dense.cuh"
#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/cuda/error.cuh"
#include "gatrec/cuda/launch.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/graph/csr_graph.hpp"
#include "gatrec/nn/attention.hpp"

namespace gatrec::cuda {

namespace detail {

/// Owns a cuSPARSE dense-matrix descriptor.
class dense_descriptor {
 public:
  dense_descriptor(std::int64_t rows, std::int64_t cols, std::int64_t ld, const float* values, cusparseOrder_t order) {
    GATREC_CUSPARSE_TRY(cusparseCreateDnMat(&d_, rows, cols, ld, const_cast<float*>(values), CUDA_R_32F, order));
  }
  dense_descriptor(const dense_descriptor&) = delete;
  dense_descriptor& operator=(const dense_descriptor&) = delete;
  ~dense_descriptor() { GATREC_CUDA_ASSERT_NOTHROW(cusparseDestroyDnMat(d_)); }
  cusparseDnMatDescr_t get() const { return d_; }

 private:
  cusparseDnMatDescr_t d_ = nullptr;
};

/// Owns a cuSPARSE dense-vector descriptor.
class vector_descriptor {
 public:
  vector_descriptor(std::int64_t n, const float* values) {
    GATREC_CUSPARSE_TRY(cusparseCreateDnVec(&d_, n, const_cast<float*>(values), CUDA_R_32F));
  }
  vector_descriptor(const vector_descriptor&) = delete;
  vector_descriptor& operator=(const vector_descriptor&) = delete;
  ~vector_descriptor() { GATREC_CUDA_ASSERT_NOTHROW(cusparseDestroyDnVec(d_)); }
  cusparseDnVecDescr_t get() const { return d_; }

 private:
  cusparseDnVecDescr_t d_ = nullptr;
};

}  // namespace detail

/// The unfused attention core on one graph (see the file comment). Keep one per (graph, shape).
class library_attention {
 public:
  /// @param g the host graph (its CSR is copied with 32-bit indices)
  /// @throw logic_error for more than 2^31 - 1 edges, edge_dim > 2 or bad shapes
  library_attention(cusparse_handle& sparse, const csr_graph& g, attention_form form, int heads, int width,
                    int edge_dim, cudaStream_t stream = nullptr)
      : form_(form), n_(g.num_nodes()), e_(g.num_edges()), heads_(heads), width_(width), edge_dim_(edge_dim),
        feature_stride_(g.edge_dim()) {
    GATREC_EXPECTS(g.num_edges() < std::numeric_limits<std::int32_t>::max(),
                   "the library baseline uses 32-bit CSR indices");
    GATREC_EXPECTS(heads > 0 && width > 0, "bad shapes");
    GATREC_EXPECTS(edge_dim >= 0 && edge_dim <= g.edge_dim(), "edge_dim exceeds the graph's edge features");
    std::vector<std::int32_t> off(g.in_offsets().begin(), g.in_offsets().end());
    std::vector<std::int32_t> src(g.in_sources().begin(), g.in_sources().end());
    std::vector<std::int32_t> dst(g.in_destinations().begin(), g.in_destinations().end());
    offsets_ = device_buffer<std::int32_t>(off);
    sources_ = device_buffer<std::int32_t>(src);
    destinations_ = device_buffer<std::int32_t>(dst);
    values_.resize(static_cast<std::size_t>(heads) * e_);
    grads_.resize(static_cast<std::size_t>(heads) * e_);
    ones_.resize(static_cast<std::size_t>(n_));
    fill(ones_.data(), n_, 1.f, stream);
    if (form == attention_form::gat) {
      sddmm_a_.resize(static_cast<std::size_t>(2 * n_));
      sddmm_b_.resize(static_cast<std::size_t>(2 * n_));
    }
    values_desc_.resize(heads, nullptr);
    grads_desc_.resize(heads, nullptr);
    for (int h = 0; h < heads; ++h) {
      GATREC_CUSPARSE_TRY(cusparseCreateCsr(&values_desc_[h], n_, n_, e_, offsets_.data(), sources_.data(),
                                            values_.data() + h * e_, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                            CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
      GATREC_CUSPARSE_TRY(cusparseCreateCsr(&grads_desc_[h], n_, n_, e_, offsets_.data(), sources_.data(),
                                            grads_.data() + h * e_, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                            CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    }
    (void)sparse;
    GATREC_CUDA_TRY(cudaStreamSynchronize(stream));
  }
  library_attention(const library_attention&) = delete;
  library_attention& operator=(const library_attention&) = delete;
  ~library_attention() {
    for (auto d : values_desc_)
      if (d != nullptr) GATREC_CUDA_ASSERT_NOTHROW(cusparseDestroySpMat(d));
    for (auto d : grads_desc_)
      if (d != nullptr) GATREC_CUDA_ASSERT_NOTHROW(cusparseDestroySpMat(d));
  }

  /// y (N, HC) = concat_h alpha_h Z_h (+ bias). GAT reads score_src/score_dst (N, H) and M
  /// (edge_dim, H) as edge_weight; GATv2 reads z_dst, att (H, C) and W_e (edge_dim, HC).
  /// `edge_features` is the device graph's (E, feature_stride) array.
  void forward(cusparse_handle& sparse, const float* z, const float* z_dst, const float* score_src,
               const float* score_dst, const float* att, const float* edge_weight, const float* edge_features,
               const float* bias, float slope, float* y, cudaStream_t stream = nullptr) {
    sparse.set_stream(stream);
    const std::int64_t HC = static_cast<std::int64_t>(heads_) * width_;
    const float one = 1.f, zero = 0.f;
    if (form_ == attention_form::gat) {
      for (int h = 0; h < heads_; ++h) {
        launch_kernel(kernels::gat_sddmm_operands_kernel, {dense_grid_size(n_), dense_block_threads, 0, stream},
                      score_src, score_dst, n_, heads_, h, sddmm_a_.data(), sddmm_b_.data());
        GATREC_CUDA_CHECK_LAST();
        const detail::dense_descriptor a(n_, 2, 2, sddmm_a_.data(), CUSPARSE_ORDER_ROW);
        const detail::dense_descriptor b(2, n_, n_, sddmm_b_.data(), CUSPARSE_ORDER_ROW);
        sddmm(sparse, CUSPARSE_OPERATION_NON_TRANSPOSE, a, b, values_desc_[h]);
      }
    } else {
      launch_kernel(kernels::gatv2_edge_logits_kernel, {grid(e_), kernels::baseline_block_threads, 0, stream}, z, z_dst,
                    att, edge_weight, edge_features, feature_stride_, edge_dim_, sources_.data(), destinations_.data(),
                    e_, heads_, width_, slope, values_.data());
      GATREC_CUDA_CHECK_LAST();
    }
    launch_kernel(kernels::segment_softmax_kernel, {grid(n_ * heads_), kernels::baseline_block_threads, 0, stream},
                  offsets_.data(), values_.data(), static_cast<index_t>(n_), e_, heads_, form_ == attention_form::gat,
                  edge_weight, edge_features, feature_stride_, edge_dim_, slope);
    GATREC_CUDA_CHECK_LAST();
    for (int h = 0; h < heads_; ++h) {
      const detail::dense_descriptor b(n_, width_, HC, z + h * width_, CUSPARSE_ORDER_ROW);
      const detail::dense_descriptor c(n_, width_, HC, y + h * width_, CUSPARSE_ORDER_ROW);
      std::size_t size = 0;
      GATREC_CUSPARSE_TRY(cusparseSpMM_bufferSize(sparse.get(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                                  CUSPARSE_OPERATION_NON_TRANSPOSE, &one, values_desc_[h], b.get(),
                                                  &zero, c.get(), CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &size));
      GATREC_CUSPARSE_TRY(cusparseSpMM(sparse.get(), CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                       &one, values_desc_[h], b.get(), &zero, c.get(), CUDA_R_32F,
                                       CUSPARSE_SPMM_ALG_DEFAULT, workspace(size)));
    }
    if (bias != nullptr) add_row_bias(y, bias, n_, HC, stream);
  }

  /// GAT only, after forward: dz (N, HC) = sum_h A_alpha_h^T G_h + ds a_src + dd a_dst, with the
  /// score gradients ds, dd written head-major (H, N).
  void backward(cusparse_handle& sparse, const float* dy, const float* z, const float* score_src,
                const float* score_dst, const float* att_src, const float* att_dst, const float* edge_weight,
                const float* edge_features, float slope, float* dz, float* ds, float* dd,
                cudaStream_t stream = nullptr) {
    GATREC_EXPECTS(form_ == attention_form::gat, "the library baseline has a backward for GAT only");
    sparse.set_stream(stream);
    const std::int64_t HC = static_cast<std::int64_t>(heads_) * width_;
    const float one = 1.f, zero = 0.f;
    for (int h = 0; h < heads_; ++h) {  // dalpha = <g_i, z_j> on the pattern: SDDMM(G_h, Z_h^T)
      const detail::dense_descriptor a(n_, width_, HC, dy + h * width_, CUSPARSE_ORDER_ROW);
      const detail::dense_descriptor b(n_, width_, HC, z + h * width_, CUSPARSE_ORDER_ROW);
      sddmm(sparse, CUSPARSE_OPERATION_TRANSPOSE, a, b, grads_desc_[h]);
    }
    launch_kernel(kernels::gat_softmax_backward_kernel, {grid(n_ * heads_), kernels::baseline_block_threads, 0, stream},
                  offsets_.data(), sources_.data(), values_.data(), grads_.data(), score_src, score_dst, edge_weight,
                  edge_features, feature_stride_, edge_dim_, static_cast<index_t>(n_), e_, heads_, slope);
    GATREC_CUDA_CHECK_LAST();
    const detail::vector_descriptor ones(n_, ones_.data());
    for (int h = 0; h < heads_; ++h) {
      const detail::vector_descriptor vd(n_, dd + h * n_), vs(n_, ds + h * n_);
      spmv(sparse, CUSPARSE_OPERATION_NON_TRANSPOSE, grads_desc_[h], ones, vd);  // dd_i = sum over in-edges
      spmv(sparse, CUSPARSE_OPERATION_TRANSPOSE, grads_desc_[h], ones, vs);      // ds_j = sum over out-edges
      const detail::dense_descriptor b(n_, width_, HC, dy + h * width_, CUSPARSE_ORDER_ROW);
      const detail::dense_descriptor c(n_, width_, HC, dz + h * width_, CUSPARSE_ORDER_ROW);
      std::size_t size = 0;
      GATREC_CUSPARSE_TRY(cusparseSpMM_bufferSize(sparse.get(), CUSPARSE_OPERATION_TRANSPOSE,
                                                  CUSPARSE_OPERATION_NON_TRANSPOSE, &one, values_desc_[h], b.get(),
                                                  &zero, c.get(), CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &size));
      GATREC_CUSPARSE_TRY(cusparseSpMM(sparse.get(), CUSPARSE_OPERATION_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                       &one, values_desc_[h], b.get(), &zero, c.get(), CUDA_R_32F,
                                       CUSPARSE_SPMM_ALG_DEFAULT, workspace(size)));
    }
    launch_kernel(kernels::gat_score_grads_into_messages_kernel,
                  {dense_grid_size(n_ * HC), dense_block_threads, 0, stream}, dz, ds, dd, att_src, att_dst, n_, heads_,
                  width_);
    GATREC_CUDA_CHECK_LAST();
  }

  /// The attention weights of the last forward, head-major (H, E).
  const float* alpha() const { return values_.data(); }

 private:
  static unsigned grid(std::int64_t warps) {
    const std::int64_t blocks = (warps + kernels::baseline_block_warps - 1) / kernels::baseline_block_warps;
    return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
  }

  void* workspace(std::size_t bytes) {
    if (bytes > workspace_.size()) workspace_.resize(bytes);
    return workspace_.data();
  }

  void sddmm(cusparse_handle& sparse, cusparseOperation_t op_b, const detail::dense_descriptor& a,
             const detail::dense_descriptor& b, cusparseSpMatDescr_t c) {
    const float one = 1.f, zero = 0.f;
    std::size_t size = 0;
    GATREC_CUSPARSE_TRY(cusparseSDDMM_bufferSize(sparse.get(), CUSPARSE_OPERATION_NON_TRANSPOSE, op_b, &one, a.get(),
                                                 b.get(), &zero, c, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, &size));
    GATREC_CUSPARSE_TRY(cusparseSDDMM(sparse.get(), CUSPARSE_OPERATION_NON_TRANSPOSE, op_b, &one, a.get(), b.get(),
                                      &zero, c, CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, workspace(size)));
  }

  void spmv(cusparse_handle& sparse, cusparseOperation_t op, cusparseSpMatDescr_t a, const detail::vector_descriptor& x,
            const detail::vector_descriptor& y) {
    const float one = 1.f, zero = 0.f;
    std::size_t size = 0;
    GATREC_CUSPARSE_TRY(cusparseSpMV_bufferSize(sparse.get(), op, &one, a, x.get(), &zero, y.get(), CUDA_R_32F,
                                                CUSPARSE_SPMV_ALG_DEFAULT, &size));
    GATREC_CUSPARSE_TRY(cusparseSpMV(sparse.get(), op, &one, a, x.get(), &zero, y.get(), CUDA_R_32F,
                                     CUSPARSE_SPMV_ALG_DEFAULT, workspace(size)));
  }

  attention_form form_;
  std::int64_t n_, e_;
  int heads_, width_, edge_dim_, feature_stride_;
  device_buffer<std::int32_t> offsets_, sources_, destinations_;
  device_buffer<float> values_, grads_, ones_, sddmm_a_, sddmm_b_;
  device_buffer<char> workspace_;
  std::vector<cusparseSpMatDescr_t> values_desc_, grads_desc_;
};

}  // namespace gatrec::cuda
