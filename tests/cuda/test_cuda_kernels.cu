// Launcher-level tests: the fused forward alone (inference: no o, no workspace beyond the split
// slots) and the library-calls baseline (cuSPARSE SDDMM/SpMM/SpMV + softmax kernels), forward and
// the GAT backward, against the CPU layer's intermediates (z, scores, alpha, dz, score gradients).
// Skips without a GPU.
#include <gatrec/cuda/device_graph.cuh>
#include <gatrec/cuda/device_matrix.cuh>
#include <gatrec/cuda/library_attention.cuh>
#include <gatrec/cuda/library_handles.cuh>
#include <gatrec/nn/attention.hpp>

#include <gtest/gtest.h>

#include "cuda/attention_cases.hpp"
#include "cuda/device_test_support.cuh"
#include "support/random_graphs.hpp"

#include "gat_attention.cuh"

namespace {

using gatrec::attention_form;
using gatrec::matrix;
using gatrec::cuda::device_matrix;

constexpr double tolerance = 2e-4;

gatrec::test::attention_case baseline_case(attention_form f) {
  gatrec::test::attention_case c;
  c.form = f;
  c.heads = 3;
  c.head_dim = 16;
  c.nodes = 1000;
  c.hub_degree = 20000;
  c.self_loops = true;
  return c;
}

template <class Policy>
struct reference {
  gatrec::csr_graph g;
  gatrec::attention_layer<float, Policy> layer;
  typename gatrec::attention_layer<float, Policy>::context ctx;
  matrix<float> x, y, dy;
};

template <class Policy>
reference<Policy> run_reference(const gatrec::test::attention_case& c) {
  reference<Policy> r{gatrec::test::case_graph(c), gatrec::test::case_layer<float, Policy>(c), {}, {}, {}, {}};
  r.x = gatrec::test::random_matrix<float>(r.g.num_nodes(), c.in_dim, 1);
  r.dy = gatrec::test::random_matrix<float>(r.g.num_nodes(), r.layer.out_dim(), 2);
  r.layer.forward(r.g, r.x, r.y, r.ctx);
  gatrec::parameter_list<float> p;
  r.layer.collect(p);
  gatrec::zero_grad(p);
  matrix<float> dx = matrix<float>::Zero(r.x.rows(), r.x.cols());
  r.layer.backward(r.ctx, r.dy, &dx);
  return r;
}

// alpha (E, H) from head-major (H, E).
matrix<float> edge_major(const float* head_major, Eigen::Index e, int heads) {
  matrix<float> h(heads, e);
  GATREC_CUDA_TRY(cudaMemcpy(h.data(), head_major, sizeof(float) * h.size(), cudaMemcpyDeviceToHost));
  return h.transpose();
}

TEST(CudaKernels, FusedForwardForInferenceWithoutTheAggregateBuffer) {
  GATREC_SKIP_WITHOUT_GPU();
  auto c = baseline_case(attention_form::gatv2);
  auto r = run_reference<gatrec::gatv2_policy>(c);
  const gatrec::cuda::device_graph dg(r.g, 64);
  const device_matrix z(r.ctx.z), t(r.ctx.z_dst), att(r.layer.att().value), we(r.layer.weight_edge().value),
      bias(r.layer.bias().value);
  const auto in = dg.in_chunks();
  device_matrix y(r.g.num_nodes(), r.layer.out_dim()), lse(r.g.num_nodes(), c.heads),
      part_state(in.num_slots * c.heads, 2), part_acc(in.num_slots * c.heads, c.head_dim);
  gatrec::test::poison(y);
  gatrec::cuda::attention_forward_args a;
  a.heads = c.heads;
  a.width = c.head_dim;
  a.edge_dim = 1;
  a.z = z.data();
  a.z_dst = t.data();
  a.att = att.data();
  a.edge_weight = we.data();
  a.bias = bias.data();
  a.y = y.data();
  a.lse = lse.data();
  a.part_state = part_state.data();
  a.part_acc = part_acc.data();
  gatrec::cuda::attention_forward<attention_form::gatv2>(a, dg.view(), in);
  gatrec::test::expect_matrix_near("y", y.download(), r.y, tolerance);
  a.lse = nullptr;
  EXPECT_THROW(gatrec::cuda::attention_forward<attention_form::gatv2>(a, dg.view(), in), gatrec::logic_error);
}

TEST(CudaKernels, LibraryBaselineForwardMatchesCpuBothForms) {
  GATREC_SKIP_WITHOUT_GPU();
  gatrec::cuda::cusparse_handle sparse;
  {
    auto c = baseline_case(attention_form::gatv2);
    auto r = run_reference<gatrec::gatv2_policy>(c);
    const gatrec::cuda::device_graph dg(r.g);
    gatrec::cuda::library_attention lib(sparse, r.g, attention_form::gatv2, c.heads, c.head_dim, 1);
    const device_matrix z(r.ctx.z), t(r.ctx.z_dst), att(r.layer.att().value), we(r.layer.weight_edge().value),
        bias(r.layer.bias().value);
    device_matrix y(r.g.num_nodes(), r.layer.out_dim());
    gatrec::test::poison(y);
    lib.forward(sparse, z.data(), t.data(), nullptr, nullptr, att.data(), we.data(), dg.edge_features(), bias.data(),
                0.2f, y.data());
    std::printf("[library gatv2]\n");
    gatrec::test::expect_matrix_near("y", y.download(), r.y, tolerance);
    const matrix<float> alpha_ref =
        Eigen::Map<const matrix<float>>(r.ctx.alpha.data(), static_cast<Eigen::Index>(r.g.num_edges()), c.heads);
    gatrec::test::expect_matrix_near("alpha", edge_major(lib.alpha(), r.g.num_edges(), c.heads), alpha_ref, tolerance);
  }
  {
    auto c = baseline_case(attention_form::gat);
    auto r = run_reference<gatrec::gat_policy>(c);
    const gatrec::cuda::device_graph dg(r.g);
    gatrec::cuda::library_attention lib(sparse, r.g, attention_form::gat, c.heads, c.head_dim, 1);
    const device_matrix z(r.ctx.z), s(r.ctx.score_src), d(r.ctx.score_dst), m(r.ctx.edge_score_weights),
        a_src(r.layer.att().value), a_dst(r.layer.att_dst().value), bias(r.layer.bias().value), dy(r.dy);
    device_matrix y(r.g.num_nodes(), r.layer.out_dim());
    gatrec::test::poison(y);
    lib.forward(sparse, z.data(), nullptr, s.data(), d.data(), nullptr, m.data(), dg.edge_features(), bias.data(),
                0.2f, y.data());
    std::printf("[library gat]\n");
    gatrec::test::expect_matrix_near("y", y.download(), r.y, tolerance);
    const matrix<float> alpha_ref =
        Eigen::Map<const matrix<float>>(r.ctx.alpha.data(), static_cast<Eigen::Index>(r.g.num_edges()), c.heads);
    gatrec::test::expect_matrix_near("alpha", edge_major(lib.alpha(), r.g.num_edges(), c.heads), alpha_ref, tolerance);

    // Backward: dz, and the score gradients (head-major on the device).
    device_matrix dz(r.g.num_nodes(), static_cast<std::int64_t>(c.heads) * c.head_dim), ds(c.heads, r.g.num_nodes()),
        dd(c.heads, r.g.num_nodes());
    gatrec::test::poison(dz);
    lib.backward(sparse, dy.data(), z.data(), s.data(), d.data(), a_src.data(), a_dst.data(), m.data(),
                 dg.edge_features(), 0.2f, dz.data(), ds.data(), dd.data());
    gatrec::test::expect_matrix_near("dz", dz.download(), r.ctx.dz, tolerance);
    gatrec::test::expect_matrix_near("d score_src", ds.download().transpose(), r.ctx.d_score_src, tolerance);
    gatrec::test::expect_matrix_near("d score_dst", dd.download().transpose(), r.ctx.d_score_dst, tolerance);
  }
}

}  // namespace
