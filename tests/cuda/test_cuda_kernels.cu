// Launcher-level tests: the fused forward alone (inference: no o, no workspace beyond the split
// slots) and the library-calls baseline (cuSPARSE SDDMM/SpMM/SpMV + softmax kernels), forward and
// the GAT backward, against the CPU layer's intermediates (z, scores, alpha, dz, score gradients);
// and the device graph's arrays against the host graph's. Skips without a GPU.
#include <gatrec/cuda/device_graph.cuh>
#include <gatrec/cuda/device_matrix.cuh>
#include <gatrec/cuda/library_attention.cuh>
#include <gatrec/cuda/library_handles.cuh>
#include <gatrec/nn/attention.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "cuda/attention_cases.hpp"
#include "cuda/device_test_support.cuh"
#include "support/random_graphs.hpp"

#include "gat_attention.cuh"
#include "gat_attention_backward.cuh"

namespace test_cuda_kernels {
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
  // z one float into a larger buffer: rows are no longer 16-byte aligned, so the launcher must take
  // the scalar layout (float4 loads there stop the kernel on a GPU and on the emulation).
  device_matrix z_shifted(1, z.size() + 1);
  GATREC_CUDA_TRY(cudaMemcpy(z_shifted.data() + 1, z.data(), sizeof(float) * z.size(), cudaMemcpyDeviceToDevice));
  a.z = z_shifted.data() + 1;
  gatrec::test::poison(y);
  gatrec::cuda::attention_forward<attention_form::gatv2>(a, dg.view(), in);
  gatrec::test::expect_matrix_near("y (misaligned z)", y.download(), r.y, tolerance);
  a.lse = nullptr;
  EXPECT_THROW(gatrec::cuda::attention_forward<attention_form::gatv2>(a, dg.view(), in), gatrec::logic_error);
}

// Random device inputs of the fused kernels for a test case's graph and shapes (no CPU layer: the
// unroll tests compare the kernels with themselves).
struct fused_inputs {
  gatrec::csr_graph graph;
  gatrec::cuda::device_graph device;
  device_matrix z, z_dst, att, att_dst, weight, scores, bias, dy;
  int shift = 0;  // the scalar-layout cases read z one float past an aligned start

  explicit fused_inputs(const gatrec::test::attention_case& c)
      : graph(gatrec::test::case_graph(c)), device(graph, c.chunk_edges), shift(c.vector_aligned ? 0 : 1) {
    const Eigen::Index n = graph.num_nodes(), HC = static_cast<Eigen::Index>(c.heads) * c.head_dim;
    const bool gat = c.form == attention_form::gat;
    z.upload(gatrec::test::random_matrix<float>(1, n * HC + shift, c.seed + 1));
    z_dst.upload(gatrec::test::random_matrix<float>(n, HC, c.seed + 2));
    att.upload(gatrec::test::random_matrix<float>(c.heads, c.head_dim, c.seed + 3, 0.3));
    att_dst.upload(gatrec::test::random_matrix<float>(c.heads, c.head_dim, c.seed + 7, 0.3));
    weight.upload(gatrec::test::random_matrix<float>(std::max(c.edge_dim, 1), gat ? c.heads : HC, c.seed + 4, 0.3));
    scores.upload(gatrec::test::random_matrix<float>(2, n * c.heads, c.seed + 5));
    bias.upload(gatrec::test::random_matrix<float>(1, c.concat ? HC : c.head_dim, c.seed + 6, 0.1));
    dy.upload(gatrec::test::random_matrix<float>(n, c.concat ? HC : c.head_dim, c.seed + 8));
  }

  // The forward's inputs (outputs left null), training with the case's dropout.
  gatrec::cuda::attention_forward_args forward_args(const gatrec::test::attention_case& c) const {
    const Eigen::Index n = graph.num_nodes();
    gatrec::cuda::attention_forward_args a;
    a.heads = c.heads;
    a.width = c.head_dim;
    a.concat = c.concat;
    a.edge_dim = c.edge_dim;
    a.dropout = gatrec::cuda::make_dropout_view(c.dropout, gatrec::run_mode{true, 11, 3});
    a.z = z.data() + shift;
    a.z_dst = z_dst.data();
    a.att = att.data();
    a.score_src = scores.data();
    a.score_dst = scores.data() + n * c.heads;
    a.edge_weight = c.edge_dim > 0 ? weight.data() : nullptr;
    a.bias = c.bias ? bias.data() : nullptr;
    return a;
  }
};

void run_forward(attention_form form, const gatrec::cuda::attention_forward_args& a, const fused_inputs& in) {
  if (form == attention_form::gat)
    gatrec::cuda::attention_forward<attention_form::gat>(a, in.device.view(), in.device.in_chunks());
  else
    gatrec::cuda::attention_forward<attention_form::gatv2>(a, in.device.view(), in.device.in_chunks());
}

// Runs check(case, inputs) on every small case (every lane layout, split nodes, dropout, the mean
// of heads, isolated nodes) and expects all 30 to have run.
template <class Check>
void for_every_small_case(Check&& check) {
  int cases_checked = 0;
  for (const gatrec::test::attention_case& c : gatrec::test::small_attention_cases()) {
    SCOPED_TRACE(c.name());
    const fused_inputs in(c);
    check(c, in);
    ++cases_checked;
  }
  EXPECT_EQ(cases_checked, 30);
}

// Two in-edges a step change only when a lane group loads the rows, not the order in which they
// reach its softmax: every output must be bit-identical to one edge a step on every small case
// (chunks of 1 to 256 edges among them).
TEST(CudaKernels, FusedForwardIsBitIdenticalForOneOrTwoEdgesAStep) {
  GATREC_SKIP_WITHOUT_GPU();
  for_every_small_case([](const gatrec::test::attention_case& c, const fused_inputs& in) {
    const auto chunks = in.device.in_chunks();
    const Eigen::Index n = in.graph.num_nodes(), e = static_cast<Eigen::Index>(in.graph.num_edges());
    const Eigen::Index HC = static_cast<Eigen::Index>(c.heads) * c.head_dim;
    gatrec::cuda::attention_forward_args a = in.forward_args(c);
    struct outputs {
      device_matrix y, o, lse, alpha, part_state, part_acc;
    };
    auto run = [&](int edges_per_step, outputs& out) {
      const std::int64_t slots = std::max<std::int64_t>(chunks.num_slots, 1) * c.heads;
      out.y.resize(n, c.concat ? HC : c.head_dim);
      out.o.resize(n, HC);
      out.lse.resize(n, c.heads);
      out.alpha.resize(std::max<Eigen::Index>(e, 1), c.heads);
      out.part_state.resize(slots, 2);
      out.part_acc.resize(slots, c.head_dim);
      for (device_matrix* m : {&out.y, &out.o, &out.lse, &out.alpha, &out.part_state, &out.part_acc})
        gatrec::test::poison(*m);
      a.edges_per_step = edges_per_step;
      a.y = out.y.data();
      a.o = out.o.data();
      a.lse = out.lse.data();
      a.alpha = out.alpha.data();
      a.part_state = out.part_state.data();
      a.part_acc = out.part_acc.data();
      run_forward(c.form, a, in);
    };
    outputs one, two;
    run(1, one);
    run(2, two);
    const matrix<float> y = two.y.download();
    ASSERT_FALSE(y.hasNaN()) << "an output was never written";
    gatrec::test::expect_bitwise_equal("y", one.y.download(), y);
    gatrec::test::expect_bitwise_equal("o", one.o.download(), two.o.download());
    gatrec::test::expect_bitwise_equal("lse", one.lse.download(), two.lse.download());
    if (e > 0) gatrec::test::expect_bitwise_equal("alpha", one.alpha.download(), two.alpha.download());
    if (c.tiny == 0 && c.vector_aligned) {
      outputs bad;
      EXPECT_THROW(run(3, bad), gatrec::logic_error);
    }
  });
}

// The same for the backward: both passes at one edge (pass 2: out-edge slot) a step, then at two,
// every gradient and the parameter partials bit-identical, on the same cases.
TEST(CudaKernels, FusedBackwardIsBitIdenticalForOneOrTwoEdgesAStep) {
  GATREC_SKIP_WITHOUT_GPU();
  for_every_small_case([](const gatrec::test::attention_case& c, const fused_inputs& in) {
    const auto in_chunks = in.device.in_chunks(), out_chunks = in.device.out_chunks();
    const Eigen::Index n = in.graph.num_nodes();
    const int H = c.heads, C = c.head_dim, D = c.edge_dim;
    const Eigen::Index HC = static_cast<Eigen::Index>(H) * C;
    const std::int64_t slots = std::max<std::int64_t>({in_chunks.num_slots, out_chunks.num_slots, 1});
    gatrec::cuda::attention_forward_args fa = in.forward_args(c);
    device_matrix y(n, c.concat ? HC : C), o(n, HC), lse(n, H), part_state(slots * H, 2), part_acc(slots * H, C);
    fa.y = y.data();
    fa.o = o.data();
    fa.lse = lse.data();
    fa.part_state = part_state.data();
    fa.part_acc = part_acc.data();
    run_forward(c.form, fa, in);

    struct gradients {
      device_matrix stats, dz, dz_dst, ds, dd, partial, part_vec, part_scalar, part_softmax_sum;
    };
    auto run = [&](int edges_per_step, gradients& out) {
      out.stats.resize(n, 2 * static_cast<Eigen::Index>(H));
      out.dz.resize(n, HC);
      out.dz_dst.resize(n, HC);
      out.ds.resize(n, H);
      out.dd.resize(n, H);
      out.partial.resize(std::max<std::int64_t>(1, gatrec::cuda::backward_partial_size(c.form, in_chunks, H, C, D)), 1);
      out.part_vec.resize(slots * H, C);
      out.part_scalar.resize(slots * H, 1);
      out.part_softmax_sum.resize(std::max<std::int64_t>(in_chunks.num_slots, 1) * H, 1);
      for (device_matrix* m : {&out.stats, &out.dz, &out.dz_dst, &out.ds, &out.dd, &out.partial, &out.part_vec,
                               &out.part_scalar, &out.part_softmax_sum})
        gatrec::test::poison(*m);
      gatrec::cuda::attention_backward_args b;
      b.heads = H;
      b.width = C;
      b.concat = c.concat;
      b.grad_scale = c.concat ? 1.0f : 1.0f / static_cast<float>(H);
      b.edge_dim = D;
      b.dropout = fa.dropout;
      b.z = fa.z;
      b.z_dst = fa.z_dst;
      b.score_src = fa.score_src;
      b.score_dst = fa.score_dst;
      b.att = in.att.data();
      b.att_dst = in.att_dst.data();
      b.edge_weight = fa.edge_weight;
      b.lse = lse.data();
      b.dy = in.dy.data();
      b.softmax_stats = reinterpret_cast<float2*>(out.stats.data());
      b.dz = out.dz.data();
      b.dz_dst = out.dz_dst.data();
      b.d_score_src = out.ds.data();
      b.d_score_dst = out.dd.data();
      b.warp_partial = out.partial.data();
      b.part_vec = out.part_vec.data();
      b.part_scalar = out.part_scalar.data();
      b.part_softmax_sum = out.part_softmax_sum.data();
      b.destination_edges_per_step = edges_per_step;
      b.source_edges_per_step = edges_per_step;
      if (c.form == attention_form::gat)
        gatrec::cuda::attention_backward<attention_form::gat>(b, in.device.view(), in_chunks, out_chunks);
      else
        gatrec::cuda::attention_backward<attention_form::gatv2>(b, in.device.view(), in_chunks, out_chunks);
    };
    gradients one, two;
    run(1, one);
    run(2, two);
    const matrix<float> dz = two.dz.download();
    ASSERT_FALSE(dz.hasNaN()) << "a gradient row was never written";
    gatrec::test::expect_bitwise_equal("dz", one.dz.download(), dz);
    gatrec::test::expect_bitwise_equal("lse and S", one.stats.download(), two.stats.download());
    gatrec::test::expect_bitwise_equal("parameter partials", one.partial.download(), two.partial.download());
    if (c.form == attention_form::gat) {
      gatrec::test::expect_bitwise_equal("d score_src", one.ds.download(), two.ds.download());
      gatrec::test::expect_bitwise_equal("d score_dst", one.dd.download(), two.dd.download());
    } else {
      gatrec::test::expect_bitwise_equal("dz_dst", one.dz_dst.download(), two.dz_dst.download());
    }
    if (c.tiny == 0 && c.vector_aligned) {
      gradients bad;
      EXPECT_THROW(run(3, bad), gatrec::logic_error);
    }
  });
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

template <class T>
std::vector<T> download_array(const T* device, std::int64_t n) {
  std::vector<T> host(static_cast<std::size_t>(n));
  GATREC_CUDA_TRY(cudaMemcpy(host.data(), device, sizeof(T) * host.size(), cudaMemcpyDeviceToHost));
  return host;
}

// Backward pass 2 reads each out-edge slot's edge id and destination from the transpose; both must
// be the host graph's (out_edge_ids, and in_destinations of that id), slot for slot.
TEST(CudaGraph, TransposeHoldsEachSlotsEdgeIdAndDestination) {
  GATREC_SKIP_WITHOUT_GPU();
  auto c = baseline_case(attention_form::gatv2);
  c.edge_dim = 2;
  const gatrec::csr_graph g = gatrec::test::case_graph(c);
  const gatrec::cuda::device_graph dg(g, 64);
  const gatrec::cuda::graph_view v = dg.view();
  const std::int64_t n = g.num_nodes(), e = g.num_edges();
  ASSERT_GT(e, 20000);
  EXPECT_EQ(download_array(v.in_offsets, n + 1), g.in_offsets());
  EXPECT_EQ(download_array(v.in_sources, e), g.in_sources());
  EXPECT_EQ(download_array(v.out_offsets, n + 1), g.out_offsets());
  EXPECT_EQ(download_array(v.edge_features, e * 2), g.edge_features());
  const std::vector<std::uint32_t> ids = download_array(v.out_edge_ids, e);
  const std::vector<gatrec::index_t> destinations = download_array(v.out_destinations, e);
  std::int64_t wrong = 0;
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const gatrec::offset_t id = g.out_edge_ids()[k];
    wrong += ids[k] != static_cast<std::uint32_t>(id) ||
             destinations[k] != g.in_destinations()[static_cast<std::size_t>(id)];
  }
  EXPECT_EQ(wrong, 0) << "out-edge slots whose edge id or destination differ from the host graph's";
  // Both CSRs' offsets, sources, ids, destinations and two features an edge: 20 bytes an edge.
  const std::size_t graph_bytes = 2 * 8 * static_cast<std::size_t>(n + 1) + 20 * static_cast<std::size_t>(e);
  EXPECT_GE(dg.bytes(), graph_bytes);
  EXPECT_LT(dg.bytes(), graph_bytes + graph_bytes / 4) << "the chunk lists are small beside the edges";
}

#if defined(GATREC_CUDA_EMULATION)
// One 16-wide row through the float4 layout of groups of 4 lanes, as the fused kernels load and
// store head rows.
__global__ void copy_row_kernel(const float* row, float* out) {
  using L = gatrec::cuda::kernels::lane_layout<4, 1, 4>;
  const int rank = static_cast<int>(threadIdx.x) % L::group;
  float f[L::values];
  gatrec::cuda::kernels::load_fragment<L>(row, 16, rank, f);
  if (threadIdx.x < L::group) gatrec::cuda::kernels::store_fragment<L>(out, 16, rank, f);
}

cudaError_t copy_row(const float* row, float* out) {
  gatrec::cuda::launch_kernel(copy_row_kernel, {1, 32, 0, nullptr}, row, out);
  return cudaDeviceSynchronize();
}

// A GPU stops a kernel whose float4 access is not 16-byte aligned; the emulation must too, or a
// float4 layout chosen for a misaligned row would pass in CI and fault on the first GPU run. (A
// failed kernel leaves a sticky error, so the failing launches run in child processes, which leave
// by std::_Exit: a failed block's fibers are never freed, which LeakSanitizer would report.)
TEST(CudaEmulation, AMisalignedFloat4AccessFailsTheKernelAsOnAGpu) {
  const matrix<float> values = gatrec::test::random_matrix<float>(1, 32, 3);
  const device_matrix buffer(values);
  device_matrix out(1, 32);
  ASSERT_EQ(copy_row(buffer.data(), out.data()), cudaSuccess);
  EXPECT_EQ(out.download().leftCols(16), values.leftCols(16));
  EXPECT_EXIT(std::_Exit(copy_row(buffer.data() + 1, out.data()) == cudaErrorLaunchFailure ? 0 : 1),
              ::testing::ExitedWithCode(0), "misaligned address: a 16-byte vector load at .*, 4 bytes past");
  EXPECT_EXIT(std::_Exit(copy_row(buffer.data(), out.data() + 2) == cudaErrorLaunchFailure ? 0 : 1),
              ::testing::ExitedWithCode(0), "misaligned address: a 16-byte vector store at .*, 8 bytes past");
}
#endif

}  // namespace

}  // namespace test_cuda_kernels
