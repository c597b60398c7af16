// The device encoder (blocks: attention -> LayerNorm -> LeakyReLU -> + residual, and the stack)
// against gatrec::gat_model<float>: embeddings, every parameter gradient and the input-feature
// gradient, both forms, with and without LayerNorm and residuals, dropout on, and the paper's
// 384 -> 256 -> 256 -> 64 GATv2 stack. Skips without a GPU.
#include <gatrec/cuda/device_gat_model.cuh>
#include <gatrec/cuda/device_graph.cuh>
#include <gatrec/cuda/device_memory.cuh>
#include <gatrec/cuda/library_handles.cuh>
#include <gatrec/nn/gat_model.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda/attention_cases.hpp"
#include "cuda/device_test_support.cuh"
#include "support/random_graphs.hpp"

namespace test_cuda_model {
namespace {

using gatrec::attention_form;
using gatrec::matrix;
using gatrec::cuda::device_matrix;

constexpr double tolerance = 5e-4;  // three layers of float, LayerNorm included

void check_model(const gatrec::gat_model_options& opt, const gatrec::test::attention_case& graph_case,
                 const std::string& label) {
  SCOPED_TRACE(label);
  std::printf("[%s]\n", label.c_str());
  const gatrec::csr_graph g = gatrec::test::case_graph(graph_case);
  gatrec::gat_model<float> host(opt);
  const gatrec::index_t n = g.num_nodes();
  const matrix<float> x = gatrec::test::random_matrix<float>(n, opt.in_dim, 21, 0.5);
  const matrix<float> d_out = gatrec::test::random_matrix<float>(n, host.out_dim(), 22);
  gatrec::test::expect_usable_input("x", x);
  const gatrec::run_mode mode{opt.dropout > 0, 31, 4};

  gatrec::gat_model<float>::context ref;
  const matrix<float> h_ref = host.forward(g, x, ref, mode);
  auto params = host.parameters();
  gatrec::zero_grad(params);
  matrix<float> dx_ref = matrix<float>::Zero(n, opt.in_dim);
  host.backward(ref, d_out, &dx_ref);

  gatrec::cuda::cublas_handle blas;
  const gatrec::cuda::device_graph dg(g);
  gatrec::cuda::device_gat_model model(host);
  auto dparams = model.parameters();
  ASSERT_EQ(dparams.size(), params.size());
  const device_matrix dx_in(x), dd(d_out);
  device_matrix dx(n, opt.in_dim);
  gatrec::cuda::device_gat_model::context ctx;
  model.forward(blas, dg, dx_in, ctx, mode);  // sizes the workspace
  model.backward(blas, ctx, dd, &dx);
  // The checked run must write whatever it reads: outputs, and the scratch the blocks share.
  for (auto& m : ctx.outputs) gatrec::test::poison(m);
  gatrec::cuda::block_workspace& ws = ctx.workspace;
  gatrec::cuda::attention_workspace& aw = ws.attention;
  for (device_matrix* m : {&ws.grad_in, &ws.norm_partials, &aw.part_state, &aw.part_acc, &aw.softmax_stats,
                           &aw.dz, &aw.dz_dst, &aw.d_score_src, &aw.d_score_dst, &aw.warp_partial, &aw.reduced,
                           &aw.part_vec, &aw.part_scalar, &aw.part_softmax_sum, &ctx.grads[0], &ctx.grads[1]})
    gatrec::test::poison(*m);
  gatrec::cuda::zero_grad(dparams);
  dx.set_zero();
  const device_matrix& h = model.forward(blas, dg, dx_in, ctx, mode);
  model.backward(blas, ctx, dd, &dx);
  gatrec::test::expect_matrix_near("embeddings", h.download(), h_ref, tolerance);
  for (std::size_t k = 0; k < params.size(); ++k) {
    ASSERT_EQ(dparams[k]->name, params[k]->name);
    gatrec::test::expect_matrix_near("d " + params[k]->name, dparams[k]->grad.download(), params[k]->grad, tolerance);
  }
  gatrec::test::expect_matrix_near("d features", dx.download(), dx_ref, tolerance);
}

gatrec::test::attention_case small_graph() {
  gatrec::test::attention_case c;
  c.nodes = 400;
  c.avg_degree = 5;
  c.hub_degree = 3000;
  c.self_loops = true;
  return c;
}

TEST(CudaModel, StackMatchesCpuForBothForms) {
  GATREC_SKIP_WITHOUT_GPU();
  for (attention_form f : {attention_form::gatv2, attention_form::gat}) {
    gatrec::gat_model_options opt;
    opt.form = f;
    opt.in_dim = 24;
    opt.layers = {{4, 16, true}, {2, 12, false}, {1, 16, true}};  // projected, projected, identity-free widths
    opt.dropout = 0.1;
    check_model(opt, small_graph(), f == attention_form::gat ? "gat stack" : "gatv2 stack");
  }
}

TEST(CudaModel, BlocksWithoutNormOrResidual) {
  GATREC_SKIP_WITHOUT_GPU();
  for (bool norm : {false, true})
    for (bool residual : {false, true}) {
      gatrec::gat_model_options opt;
      opt.in_dim = 32;
      opt.layers = {{2, 16, true}, {2, 16, true}};  // the second block has an identity residual
      opt.layer_norm = norm;
      opt.residual = residual;
      check_model(opt, small_graph(), std::string("norm ") + (norm ? "on" : "off") + ", residual " +
                                          (residual ? "on" : "off"));
    }
}

// More rows than one block of the LayerNorm gradient's partial sums (512) with a partial last
// block, and a width (3 heads of 13) that is not a multiple of the 32 columns a block sums.
TEST(CudaModel, BlockOverSeveralRowBlocksAndAnOddWidth) {
  GATREC_SKIP_WITHOUT_GPU();
  gatrec::gat_model_options opt;
  opt.in_dim = 20;
  opt.layers = {{3, 13, true}, {3, 13, true}};
  gatrec::test::attention_case c = small_graph();
  c.nodes = 1300;
  check_model(opt, c, "1300 nodes, width 39");
}

TEST(CudaModel, PaperStackMatchesCpu) {
  GATREC_SKIP_WITHOUT_GPU();
  check_model(gatrec::gat_model_options::paper(), small_graph(), "paper 384-256-256-64 GATv2");
}

// What a stack holds between its forward and backward grows per block by exactly what that
// block's backward reads (its input is the previous block's output): messages z (and z_dst for
// GATv2, node scores for GAT), the log-sum-exp, x_hat and 1/std of the LayerNorm, and the output.
// Every scratch array (gradients, the fused kernels' workspaces) is shared by the blocks, the
// attention output is normalised in place, and the pre-activation is recomputed from x_hat.
TEST(CudaModel, EachBlockOfAStackKeepsOnlyWhatItsBackwardNeeds) {
  GATREC_SKIP_WITHOUT_GPU();
  const gatrec::csr_graph g = gatrec::test::case_graph(small_graph());
  const std::int64_t n = g.num_nodes();
  const int heads = 2, width = 16, hc = heads * width;
  const gatrec::cuda::device_graph dg(g);
  gatrec::cuda::cublas_handle blas;
  for (attention_form f : {attention_form::gatv2, attention_form::gat}) {
    // Bytes of a context after forward + backward through `blocks` identical blocks (hc -> hc).
    auto context_bytes = [&](std::size_t blocks) {
      gatrec::gat_model_options opt;
      opt.form = f;
      opt.in_dim = hc;
      opt.layers.assign(blocks, {heads, width, true});
      gatrec::gat_model<float> host(opt);
      gatrec::cuda::device_gat_model model(host);
      const device_matrix x(gatrec::test::random_matrix<float>(n, hc, 5));
      const device_matrix d_out(gatrec::test::random_matrix<float>(n, hc, 6));
      device_matrix dx(n, hc);
      dx.set_zero();
      const std::size_t before = gatrec::cuda::buffer_bytes_in_use();
      gatrec::cuda::device_gat_model::context ctx;
      model.forward(blas, dg, x, ctx);
      model.backward(blas, ctx, d_out, &dx);
      return gatrec::cuda::buffer_bytes_in_use() - before;
    };
    // 3 and 5 blocks: both use the two input-gradient buffers, so the difference is two blocks'.
    const std::size_t per_block = (context_bytes(5) - context_bytes(3)) / 2;
    // Floats per node: GATv2 z, z_dst, x_hat, out, lse, 1/std; GAT z, x_hat, out, two scores, lse, 1/std.
    const std::size_t node_rows = f == attention_form::gatv2 ? 4 * hc + heads + 1 : 3 * hc + 3 * heads + 1;
    const std::size_t expected = n * node_rows * sizeof(float) +
                                 (f == attention_form::gat ? heads * sizeof(float) : 0);  // the folded edge weight
    std::printf("  %s: %zu bytes per block (%zu floats per node)\n", f == attention_form::gat ? "gat" : "gatv2",
                per_block, per_block / sizeof(float) / n);
    EXPECT_EQ(per_block, expected) << (f == attention_form::gat ? "gat" : "gatv2");
  }
}

// 1300 nodes: several blocks of rows in the LayerNorm gradients' partial sums, a hub split into
// chunks: every sum on the device is in a fixed order.
TEST(CudaModel, TwoRunsAreBitIdentical) {
  GATREC_SKIP_WITHOUT_GPU();
  gatrec::test::attention_case c = small_graph();
  c.nodes = 1300;
  const gatrec::csr_graph g = gatrec::test::case_graph(c);
  gatrec::gat_model<float> host(gatrec::gat_model_options::paper(64));
  const matrix<float> x = gatrec::test::random_matrix<float>(g.num_nodes(), 64, 1);
  const matrix<float> d_out = gatrec::test::random_matrix<float>(g.num_nodes(), host.out_dim(), 2);
  gatrec::cuda::cublas_handle blas;
  const gatrec::cuda::device_graph dg(g);
  gatrec::cuda::device_gat_model model(host);
  auto dparams = model.parameters();
  const device_matrix dx_in(x), dd(d_out);
  auto run = [&] {
    gatrec::cuda::device_gat_model::context ctx;
    device_matrix dx(g.num_nodes(), 64);
    dx.set_zero();
    gatrec::cuda::zero_grad(dparams);
    std::vector<matrix<float>> out{model.forward(blas, dg, dx_in, ctx, {true, 3, 1}).download()};
    model.backward(blas, ctx, dd, &dx);
    out.push_back(dx.download());
    for (auto* p : dparams) out.push_back(p->grad.download());
    return out;
  };
  const auto a = run(), b = run();
  for (std::size_t k = 0; k < a.size(); ++k) gatrec::test::expect_bitwise_equal("tensor " + std::to_string(k), a[k], b[k]);
}

}  // namespace

}  // namespace test_cuda_model
