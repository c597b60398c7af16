// GPU speed of the attention core (fused kernels vs library calls), of one device attention layer
// (with its cuBLAS projections, the case benchmarks/peers/pyg_gat_gpu.py times in PyG) and of the
// paper's 3-layer stack, on synthetic power-law bipartite graphs of the MovieLens-25M shape
// (benchmarks/cuda/power_law_graph.hpp): scale 0 = 1% of it, 1 = 10%, 2 = the full 162,541 users,
// 59,047 items, 25,000,095 ratings (50M directed edges plus 221,588 self-loops).
//
// Timing: CUDA events around each iteration, fed to SetIterationTime under UseManualTime(); every
// buffer is allocated (and one untimed run made) before the timed loop.
// Counters:
//   edges_per_s     directed edges (self-loops included) per second
//   min_bytes       bytes that must move at least: each input read once, each output written once
//                   (intermediates such as lse, o and per-edge gradients excluded; see docs/cuda.md)
//   bw_fraction     (min_bytes / time) / the device-to-device copy bandwidth measured once here
//   gather_GBs      (attention core, forward) the per-edge row reads E x H x C x 4 bytes per second:
//                   compare with the L2 bandwidth when bw_fraction is low
//   device_mb       device memory the case holds: the device graph, inputs, outputs, workspace
//                   (cudaMemGetInfo difference at the end plus the cached graph's bytes; library
//                   workspaces included)
//   peak_mb         the peak of gatrec's own device buffers during the case plus the cached graph
//                   (comparable with PyG's torch.cuda.max_memory_allocated)
// full_ranking / cpu_full_ranking: every user's top k by dot product of 64-wide embeddings, training
// items masked (the catalogue's density of random masked items), on the device (cuda::device_top_k:
// cuBLAS score blocks + radix selection, lists copied to the host) and on the host (gatrec::top_k,
// all cores; ML-100K and ML-1M shapes only). Counter users_per_s; compare the two as a ratio.
// device_sampling / cpu_sampling: one epoch of negative sampling on the power-law ratings (triples
// drawn on the device vs negative_sampler::sample on the host, the same triples). Counter
// triples_per_s.
// aggregation_floor: y = A z by one cuSPARSE SpMM over all HC columns, the fused forward's gathers
// and nothing else (its floor on this graph). Counters as the core's, gather_GBs included.
// softmax_loss: the full-softmax loss and its gradient on the device for every user of the
// power-law ratings (full scale: 162,541 x 59,047 scores in blocks). Counter scores_per_s.
// `--print_graph_checksum=<fraction>` prints the generator checksum (compared with the PyG side).
#include <gatrec/core/random.hpp>
#include <gatrec/cuda/device.cuh>
#include <gatrec/cuda/device_memory.cuh>
#include <gatrec/cuda/library_attention.cuh>
#include <gatrec/cuda/blas.cuh>
#include <gatrec/cuda/device_attention.cuh>
#include <gatrec/cuda/device_gat_model.cuh>
#include <gatrec/cuda/device_graph.cuh>
#include <gatrec/cuda/device_negative_sampler.cuh>
#include <gatrec/cuda/device_softmax_loss.cuh>
#include <gatrec/cuda/device_top_k.cuh>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/cuda/library_handles.cuh>
#include <gatrec/nn/attention.hpp>
#include <gatrec/nn/gat_model.hpp>
#include <gatrec/train/negative_sampler.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catalogue_shapes.hpp"
#include "cuda/power_law_graph.hpp"

namespace {

using gatrec::attention_form;
using gatrec::cuda::device_matrix;

double scale_fraction(int scale) { return scale == 0 ? 0.01 : (scale == 1 ? 0.1 : 1.0); }
const char* scale_name(int scale) { return scale == 0 ? "ml25m_1pct" : (scale == 1 ? "ml25m_10pct" : "ml25m_full"); }

struct graph_pair {
  gatrec::csr_graph host;
  std::unique_ptr<gatrec::cuda::device_graph> device;
};

// Graphs are built and uploaded once per process and scale.
graph_pair& graph(int scale) {
  static std::map<int, std::unique_ptr<graph_pair>> cache;
  auto& slot = cache[scale];
  if (!slot) {
    slot = std::make_unique<graph_pair>();
    slot->host = gatrec::bench::make_power_law_graph(gatrec::bench::ml25m_shape(scale_fraction(scale)));
    slot->device = std::make_unique<gatrec::cuda::device_graph>(slot->host);
  }
  return *slot;
}

// Device-to-device copy bandwidth (bytes read + written per second), measured once.
double copy_bandwidth() {
  static double bw = [] {
    const std::size_t bytes = std::size_t(1) << 30;
    gatrec::cuda::device_buffer<char> a(bytes), b(bytes);
    GATREC_CUDA_TRY(cudaMemset(a.data(), 1, bytes));
    cudaEvent_t start, stop;
    GATREC_CUDA_TRY(cudaEventCreate(&start));
    GATREC_CUDA_TRY(cudaEventCreate(&stop));
    GATREC_CUDA_TRY(cudaMemcpy(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice));  // warm-up
    const int reps = 10;
    GATREC_CUDA_TRY(cudaEventRecord(start));
    for (int r = 0; r < reps; ++r)
      GATREC_CUDA_TRY(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice));
    GATREC_CUDA_TRY(cudaEventRecord(stop));
    GATREC_CUDA_TRY(cudaEventSynchronize(stop));
    float ms = 0;
    GATREC_CUDA_TRY(cudaEventElapsedTime(&ms, start, stop));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return 2.0 * static_cast<double>(bytes) * reps / (ms / 1e3);
  }();
  return bw;
}

std::size_t device_used_bytes() {
  std::size_t free = 0, total = 0;
  GATREC_CUDA_TRY(cudaMemGetInfo(&free, &total));
  return total - free;
}

// Times `run` with CUDA events; one untimed call first.
template <class F>
void timed_loop(benchmark::State& state, F&& run) {
  cudaEvent_t start, stop;
  GATREC_CUDA_TRY(cudaEventCreate(&start));
  GATREC_CUDA_TRY(cudaEventCreate(&stop));
  run();
  GATREC_CUDA_TRY(cudaDeviceSynchronize());
  for (auto _ : state) {
    GATREC_CUDA_TRY(cudaEventRecord(start));
    run();
    GATREC_CUDA_TRY(cudaEventRecord(stop));
    GATREC_CUDA_TRY(cudaEventSynchronize(stop));
    float ms = 0;
    GATREC_CUDA_TRY(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

// Device memory a case holds, marked at its start: cudaMemGetInfo's difference at its end
// (everything: library workspaces included) and the peak of gatrec's own buffers during it (what
// torch.cuda.max_memory_allocated reports on the PyG side, transient buffers included).
struct memory_mark {
  memory_mark() : used_before(device_used_bytes()), buffers_before(gatrec::cuda::buffer_bytes_in_use()) {
    gatrec::cuda::reset_buffer_bytes_peak();
  }
  std::size_t used_before;
  std::size_t buffers_before;
};

// device_mb and peak_mb; graph_bytes: the cached device graph the case reads (allocated earlier).
void set_memory_counters(benchmark::State& state, const memory_mark& mark, std::size_t graph_bytes) {
  const double mib = 1 << 20;
  state.counters["device_mb"] = static_cast<double>(device_used_bytes() - mark.used_before + graph_bytes) / mib;
  state.counters["peak_mb"] =
      static_cast<double>(gatrec::cuda::buffer_bytes_peak() - mark.buffers_before + graph_bytes) / mib;
}

void set_counters(benchmark::State& state, double edges, double min_bytes, const memory_mark& mark,
                  std::size_t graph_bytes) {
  state.counters["edges_per_s"] = benchmark::Counter(edges, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["min_bytes"] = min_bytes;
  state.counters["bw_fraction"] =
      benchmark::Counter(min_bytes / copy_bandwidth(), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["copy_bw_GBs"] = copy_bandwidth() / 1e9;
  set_memory_counters(state, mark, graph_bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(min_bytes) * state.iterations());
}

// Uniform in [-scale, scale), drawn on the device from (seed, index).
device_matrix random_device(std::int64_t rows, std::int64_t cols, std::uint64_t seed, double scale = 1.0) {
  device_matrix m(rows, cols);
  gatrec::cuda::fill_uniform(m.data(), m.size(), static_cast<float>(-scale), static_cast<float>(scale), seed);
  return m;
}

// Minimal bytes of the attention core (docs/cuda.md): node rows of width HC, per-edge indices and
// features, both CSRs for backward.
double core_min_bytes(attention_form form, bool backward, double n, double e, int heads, int width) {
  const double row = n * heads * width * 4.0, per_head = n * heads * 4.0;
  const double in_csr = (n + 1) * 8 + e * 4 + e * 4;                    // offsets, sources, rating
  const double out_csr = (n + 1) * 8 + e * 4 + e * 4;                   // offsets, 32-bit edge ids, destinations
  double bytes = in_csr + row;                                          // the graph, z
  bytes += form == attention_form::gatv2 ? row : 2 * per_head;          // z_dst, or the node scores
  bytes += row;                                                         // y
  if (backward) {
    bytes += out_csr + row;                                             // the transpose, dy
    bytes += form == attention_form::gatv2 ? 2 * row : row + 2 * per_head;  // dz, dz_dst / dz, ds, dd
  }
  return bytes;
}

// fused: the library's fused kernels as shipped; library: cuSPARSE SDDMM/SpMM + softmax kernels;
// fused_one_edge_a_step: the fused forward loading one in-edge a step per lane group instead of the
// default two (forward only); fused_backward_one_edge_a_step: forward + backward with both backward
// passes at one edge a step (their defaults take two where the registers allow). Both check on the
// GPU the register-count reasoning behind the defaults (docs/cuda.md).
enum impl_id { fused = 0, library = 1, fused_one_edge_a_step = 2, fused_backward_one_edge_a_step = 3 };

// The attention core: everything per edge (logits, softmax, aggregation; backward: every per-node
// gradient the layer needs), with the projections and node scores precomputed outside the timing.
// Args: scale, heads, width, implementation (impl_id), pass (0 forward, 1 forward+backward).
template <attention_form Form>
void attention_core(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0)), H = static_cast<int>(state.range(1)),
            C = static_cast<int>(state.range(2));
  const bool use_library = state.range(3) == library, backward = state.range(4) == 1;
  if (use_library && backward && Form == attention_form::gatv2) {
    state.SkipWithError("no library-calls backward for GATv2 (cuSPARSE cannot express its score gradient)");
    return;
  }
  graph_pair& gp = graph(scale);
  const gatrec::cuda::device_graph& g = *gp.device;
  const memory_mark memory;
  const std::int64_t n = g.num_nodes(), HC = static_cast<std::int64_t>(H) * C;
  const int D = 1;
  device_matrix z = random_device(n, HC, 1), z_dst = random_device(n, HC, 2), dy = random_device(n, HC, 3);
  device_matrix att = random_device(H, C, 4, 0.2), att_dst = random_device(H, C, 5, 0.2);
  device_matrix we = random_device(D, HC, 6, 0.2), bias = random_device(1, HC, 7, 0.1);
  device_matrix m(D, H), s(n, H), d(n, H);
  if (Form == attention_form::gat) {
    gatrec::cuda::gat_node_scores(z.data(), att.data(), att_dst.data(), s.data(), d.data(), g.num_nodes(), H, C);
    gatrec::cuda::gat_fold_edge_weights(we.data(), att_dst.data(), m.data(), D, H, C);
  }
  device_matrix y(n, HC), lse(n, H);  // concat heads: no per-head aggregate o (only a mean of heads reads it)
  const gatrec::cuda::chunk_view in = g.in_chunks(), out = g.out_chunks();
  device_matrix part_state(in.num_slots * H, 2), part_acc(in.num_slots * H, C);

  gatrec::cuda::attention_forward_args fa;
  fa.heads = H;
  fa.width = C;
  fa.edge_dim = D;
  fa.z = z.data();
  fa.z_dst = z_dst.data();
  fa.score_src = s.data();
  fa.score_dst = d.data();
  fa.att = att.data();
  fa.edge_weight = Form == attention_form::gat ? m.data() : we.data();
  fa.bias = bias.data();
  fa.y = y.data();
  fa.lse = lse.data();
  fa.part_state = part_state.data();
  fa.part_acc = part_acc.data();
  if (state.range(3) == fused_one_edge_a_step) fa.edges_per_step = 1;

  gatrec::cuda::attention_backward_args ba;
  device_matrix softmax_stats, dz, dz_dst, ds, dd, partial, reduced, part_vec, part_scalar, part_softmax_sum;
  if (backward && !use_library) {
    const std::int64_t slots = std::max(in.num_slots, out.num_slots);
    softmax_stats.resize(n, 2 * static_cast<std::int64_t>(H));
    dz.resize(n, HC);
    dz_dst.resize(n, HC);
    ds.resize(n, H);
    dd.resize(n, H);
    partial.resize(std::max<std::int64_t>(1, gatrec::cuda::backward_partial_size(Form, in, H, C, D)), 1);
    reduced.resize(H, gatrec::cuda::backward_partial_width(Form, C, D));
    part_vec.resize(slots * H, C);
    part_scalar.resize(slots * H, 1);
    part_softmax_sum.resize(in.num_slots * H, 1);
    ba.heads = H;
    ba.width = C;
    ba.edge_dim = D;
    ba.z = z.data();
    ba.z_dst = z_dst.data();
    ba.score_src = s.data();
    ba.score_dst = d.data();
    ba.att = att.data();
    ba.att_dst = att_dst.data();
    ba.edge_weight = fa.edge_weight;
    ba.lse = lse.data();
    ba.dy = dy.data();
    ba.softmax_stats = reinterpret_cast<float2*>(softmax_stats.data());
    ba.dz = dz.data();
    ba.dz_dst = dz_dst.data();
    ba.d_score_src = ds.data();
    ba.d_score_dst = dd.data();
    ba.warp_partial = partial.data();
    ba.part_vec = part_vec.data();
    ba.part_scalar = part_scalar.data();
    ba.part_softmax_sum = part_softmax_sum.data();
    if (state.range(3) == fused_backward_one_edge_a_step) {
      ba.destination_edges_per_step = 1;
      ba.source_edges_per_step = 1;
    }
  }

  std::unique_ptr<gatrec::cuda::library_attention> lib;
  gatrec::cuda::cusparse_handle sparse;
  if (use_library) {
    lib = std::make_unique<gatrec::cuda::library_attention>(sparse, gp.host, Form, H, C, D);
    if (backward) {
      dz.resize(n, HC);
      ds.resize(H, n);
      dd.resize(H, n);
    }
  }

  try {
    timed_loop(state, [&] {
      if (use_library) {
        lib->forward(sparse, z.data(), z_dst.data(), s.data(), d.data(), att.data(), fa.edge_weight,
                     g.edge_features(), bias.data(), 0.2f, y.data());
        if (backward)
          lib->backward(sparse, dy.data(), z.data(), s.data(), d.data(), att.data(), att_dst.data(), fa.edge_weight,
                        g.edge_features(), 0.2f, dz.data(), ds.data(), dd.data());
      } else {
        gatrec::cuda::attention_forward<Form>(fa, g.view(), in);
        if (backward) {
          gatrec::cuda::attention_backward<Form>(ba, g.view(), in, out);
          gatrec::cuda::reduce_attention_partials(Form, partial.data(), in, H, C, D, reduced.data());
        }
      }
    });
  } catch (const gatrec::error& e) {
    state.SkipWithError(e.what());
    return;
  }
  set_counters(state, static_cast<double>(g.num_edges()),
               core_min_bytes(Form, backward, static_cast<double>(n), static_cast<double>(g.num_edges()), H, C),
               memory, g.bytes());
  if (!backward) {
    // The aggregation reads z_j^h per edge and head: E x HC x 4 bytes, most of them from L2 or L1
    // rather than DRAM. At this rate against the L2 bandwidth, a forward far below the copy
    // bandwidth on min_bytes is bound by its gathers, not by DRAM.
    const double gathered = static_cast<double>(g.num_edges()) * static_cast<double>(HC) * 4.0;
    state.counters["gather_GBs"] = benchmark::Counter(gathered / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  }
  const char* variant = use_library                        ? " library"
                        : fa.edges_per_step == 1             ? " fused, forward 1 edge a step"
                        : ba.destination_edges_per_step == 1 ? " fused, backward 1 edge a step"
                                                             : " fused";
  state.SetLabel(std::string(scale_name(scale)) + variant +
                 (backward ? " fwd+bwd" : " fwd"));
}

// The gathers of the fused forward without anything else: y = A z, one cuSPARSE SpMM of the in-edge
// CSR (random edge weights standing for the attention weights) with all HC columns of z at once.
// The same E x HC rows are read and the same N x HC written, with no logits, softmax, edge features
// or lse: the floor a gather-based forward can reach on this graph, to hold the fused time against.
// Args: scale, heads, width.
void aggregation_floor(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0)), H = static_cast<int>(state.range(1)),
            C = static_cast<int>(state.range(2));
  graph_pair& gp = graph(scale);
  const gatrec::csr_graph& host = gp.host;
  if (host.num_edges() >= std::numeric_limits<std::int32_t>::max()) {
    state.SkipWithError("cuSPARSE's 32-bit CSR cannot hold this graph");
    return;
  }
  const memory_mark memory;
  const std::int64_t n = host.num_nodes(), e = host.num_edges(), HC = static_cast<std::int64_t>(H) * C;
  const std::vector<std::int32_t> offsets(host.in_offsets().begin(), host.in_offsets().end());
  const std::vector<std::int32_t> sources(host.in_sources().begin(), host.in_sources().end());
  const gatrec::cuda::device_buffer<std::int32_t> d_offsets(offsets), d_sources(sources);
  device_matrix weights = random_device(e, 1, 8, 0.1), z = random_device(n, HC, 1), y(n, HC);
  gatrec::cuda::cusparse_handle sparse;
  cusparseSpMatDescr_t a = nullptr;
  GATREC_CUSPARSE_TRY(cusparseCreateCsr(&a, n, n, e, const_cast<std::int32_t*>(d_offsets.data()),
                                        const_cast<std::int32_t*>(d_sources.data()), weights.data(),
                                        CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  {
    const gatrec::cuda::detail::dense_descriptor b(n, HC, HC, z.data(), CUSPARSE_ORDER_ROW);
    const gatrec::cuda::detail::dense_descriptor c(n, HC, HC, y.data(), CUSPARSE_ORDER_ROW);
    const float one = 1.f, zero = 0.f;
    std::size_t size = 0;
    GATREC_CUSPARSE_TRY(cusparseSpMM_bufferSize(sparse.get(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                                CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a, b.get(), &zero, c.get(),
                                                CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &size));
    gatrec::cuda::device_buffer<char> workspace(std::max<std::size_t>(size, 1));
    timed_loop(state, [&] {
      GATREC_CUSPARSE_TRY(cusparseSpMM(sparse.get(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                       CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a, b.get(), &zero, c.get(), CUDA_R_32F,
                                       CUSPARSE_SPMM_ALG_DEFAULT, workspace.data()));
    });
  }
  GATREC_CUSPARSE_TRY(cusparseDestroySpMat(a));
  const double nd = static_cast<double>(n), ed = static_cast<double>(e), row = nd * static_cast<double>(HC) * 4.0;
  set_counters(state, ed, (nd + 1) * 4 + ed * 8 + 2 * row, memory, 0);  // CSR, weights, z, y
  state.counters["gather_GBs"] =
      benchmark::Counter(ed * static_cast<double>(HC) * 4.0 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(scale_name(scale)) + " cuSPARSE SpMM");
}

// One device attention layer in_dim 64 -> H x C (concat), rating as edge feature: forward, or
// forward + backward to every parameter and the input (the PyG peer's two cases).
// Args: scale, heads, width, pass.
template <attention_form Form>
void layer(benchmark::State& state) {
  using policy = std::conditional_t<Form == attention_form::gat, gatrec::gat_policy, gatrec::gatv2_policy>;
  const int scale = static_cast<int>(state.range(0)), H = static_cast<int>(state.range(1)),
            C = static_cast<int>(state.range(2));
  const bool backward = state.range(3) == 1;
  const int in_dim = 64;
  graph_pair& gp = graph(scale);
  const gatrec::cuda::device_graph& g = *gp.device;
  const memory_mark memory;
  gatrec::attention_options opt{in_dim, H, C, true, 1, 0.2, 0.0, true};
  gatrec::rng gen(1);
  gatrec::attention_layer<float, policy> host("conv", opt, gen);
  gatrec::cuda::device_attention_layer<policy> dev(host);
  gatrec::cuda::device_parameter_list params;
  dev.collect(params);
  gatrec::cuda::cublas_handle blas;
  const std::int64_t n = g.num_nodes();
  device_matrix x = random_device(n, in_dim, 2, 0.5), dy = random_device(n, static_cast<std::int64_t>(H) * C, 3);
  device_matrix y, dx(n, in_dim);
  typename gatrec::cuda::device_attention_layer<policy>::context ctx;
  try {
    timed_loop(state, [&] {
      dev.forward(blas, g, x, y, ctx);
      if (backward) {
        gatrec::cuda::zero_grad(params);
        dx.set_zero();
        dev.backward(blas, ctx, dy, &dx);
      }
    });
  } catch (const gatrec::error& e) {
    state.SkipWithError(e.what());
    return;
  }
  // Minimal bytes of the layer: the graph (both CSRs for backward), x and y (and dy, dx).
  const double nd = static_cast<double>(n), ed = static_cast<double>(g.num_edges());
  const double row_x = nd * in_dim * 4.0, row_y = nd * H * C * 4.0;
  double bytes = (nd + 1) * 8 + ed * 8 + row_x + row_y;
  if (backward) bytes += (nd + 1) * 8 + ed * 12 + row_y + row_x;
  set_counters(state, static_cast<double>(g.num_edges()), bytes, memory, g.bytes());
  state.SetLabel(std::string(scale_name(scale)) + (backward ? " fwd+bwd" : " fwd"));
}

// The paper's stack 384 -> 256 -> 256 -> 64 (GATv2, heads 4/4/1, LayerNorm, LeakyReLU, residuals):
// forward + backward to every parameter and the input features. Arg: scale.
void paper_stack(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0));
  graph_pair& gp = graph(scale);
  const gatrec::cuda::device_graph& g = *gp.device;
  const memory_mark memory;
  gatrec::gat_model<float> host(gatrec::gat_model_options::paper());
  gatrec::cuda::device_gat_model model(host);
  auto params = model.parameters();
  gatrec::cuda::cublas_handle blas;
  const std::int64_t n = g.num_nodes();
  device_matrix x = random_device(n, 384, 2, 0.1), up = random_device(n, 64, 3), dx(n, 384);
  gatrec::cuda::device_gat_model::context ctx;
  try {
    timed_loop(state, [&] {
      model.forward(blas, g, x, ctx);
      gatrec::cuda::zero_grad(params);
      dx.set_zero();
      model.backward(blas, ctx, up, &dx);
    });
  } catch (const gatrec::error& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["edges_per_s"] =
      benchmark::Counter(static_cast<double>(g.num_edges()), benchmark::Counter::kIsIterationInvariantRate);
  set_memory_counters(state, memory, g.bytes());
  state.SetLabel(scale_name(scale));
}

using gatrec::bench::catalogue_shape;
const auto& catalogues = gatrec::bench::catalogue_shapes;

// Host embeddings and a mask of random training items with the catalogue's density, built once.
struct ranking_case {
  gatrec::matrix<float> users, items;
  gatrec::user_item_sets mask;
};
const ranking_case& ranking_inputs(int shape) {
  static std::map<int, std::unique_ptr<ranking_case>> cache;
  auto& slot = cache[shape];
  if (!slot) {
    const catalogue_shape& c = catalogues[shape];
    slot = std::make_unique<ranking_case>();
    gatrec::rng r(17);
    auto random = [&](gatrec::index_t rows) {
      gatrec::matrix<float> m(rows, 64);
      for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = static_cast<float>(r.normal());
      return m;
    };
    slot->users = random(c.users);
    slot->items = random(c.items);
    gatrec::rating_table t;
    for (std::int64_t k = 0; k < c.ratings; ++k)
      t.push_back(static_cast<gatrec::index_t>(r.below(static_cast<std::uint64_t>(c.users))),
                  static_cast<gatrec::index_t>(r.below(static_cast<std::uint64_t>(c.items))), 1.0f);
    slot->mask = gatrec::user_item_sets(c.users, c.items, t);
  }
  return *slot;
}

// Args: catalogue (0 ML-100K, 1 ML-1M, 2 ML-25M shape), k.
void full_ranking(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  const ranking_case& in = ranking_inputs(shape);
  const memory_mark memory;
  gatrec::cuda::cublas_handle blas;
  const device_matrix users(in.users), items(in.items);
  gatrec::cuda::device_top_k ranker;
  try {
    timed_loop(state, [&] { benchmark::DoNotOptimize(ranker(blas, users, items, k, in.mask)); });
  } catch (const gatrec::error& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["users_per_s"] =
      benchmark::Counter(static_cast<double>(in.users.rows()), benchmark::Counter::kIsIterationInvariantRate);
  set_memory_counters(state, memory, 0);
  state.SetLabel(catalogues[shape].name);
}

void cpu_full_ranking(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const int k = static_cast<int>(state.range(1));
  const ranking_case& in = ranking_inputs(shape);
  for (auto _ : state) benchmark::DoNotOptimize(gatrec::top_k(in.users, in.items, k, in.mask));
  state.counters["users_per_s"] =
      benchmark::Counter(static_cast<double>(in.users.rows()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = gatrec::max_threads();
  state.SetLabel(catalogues[shape].name);
}

// The power-law ratings of graph(scale) as a negative sampler (liked: rating >= 4, the default
// options), built once. At the full shape the top user has ~16,000 ratings: the device sampler's
// longest thread.
const gatrec::negative_sampler& sampler(int scale) {
  static std::map<int, std::unique_ptr<gatrec::negative_sampler>> cache;
  auto& slot = cache[scale];
  if (!slot) {
    const gatrec::bench::power_law_shape shape = gatrec::bench::ml25m_shape(scale_fraction(scale));
    std::vector<gatrec::index_t> users, items;
    std::vector<float> ratings;
    gatrec::bench::generate_ratings(shape, users, items, ratings);
    gatrec::rating_table t;
    for (std::size_t k = 0; k < users.size(); ++k) t.push_back(users[k], items[k], ratings[k]);
    slot = std::make_unique<gatrec::negative_sampler>(t, shape.users, shape.items, gatrec::sampler_options{});
  }
  return *slot;
}

// One epoch's triples drawn on the device (what a device training run does each step) and on the
// host (negative_sampler::sample on all cores, what it replaces, plus the 12-byte-a-triple upload
// it saved). Arg: scale. Counter triples_per_s; compare device and host as a ratio.
void device_sampling(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0));
  const gatrec::negative_sampler& host = sampler(scale);
  const memory_mark memory;
  gatrec::cuda::device_negative_sampler device(host);
  std::uint64_t epoch = 0;
  timed_loop(state, [&] { device.sample(++epoch); });
  state.counters["triples_per_s"] = benchmark::Counter(static_cast<double>(host.triples_per_epoch()),
                                                       benchmark::Counter::kIsIterationInvariantRate);
  set_memory_counters(state, memory, 0);
  state.SetLabel(scale_name(scale));
}

void cpu_sampling(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0));
  const gatrec::negative_sampler& host = sampler(scale);
  gatrec::training_triples triples;
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    host.sample(++epoch, triples);
    benchmark::DoNotOptimize(triples.negative.data());
  }
  state.counters["triples_per_s"] = benchmark::Counter(static_cast<double>(host.triples_per_epoch()),
                                                       benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = gatrec::max_threads();
  state.SetLabel(scale_name(scale));
}

// The full-softmax loss (cuda::device_softmax_loss, the README's strongest GAT setting; no rated
// term) on the liked items of the power-law ratings, 64-wide random embeddings, temperature 0.2:
// loss and dL/dH for every user against the whole catalogue, in blocks of at most 1 GiB of scores.
// Arg: scale. Counter scores_per_s (users x items per second).
void softmax_loss(benchmark::State& state) {
  const int scale = static_cast<int>(state.range(0));
  const gatrec::negative_sampler& s = sampler(scale);
  const gatrec::negative_sampling_tables t = s.tables();
  const memory_mark memory;
  gatrec::cuda::cublas_handle blas;
  gatrec::softmax_loss_options opt;
  opt.temperature = 0.2;
  opt.rated_weight = 0.0;
  gatrec::cuda::device_softmax_loss loss(t.num_users, t.num_items, s.positive_offsets(), s.positives(), opt, nullptr);
  const device_matrix h = random_device(std::int64_t{t.num_users} + t.num_items, 64, 5, 0.3);
  device_matrix grad(h.rows(), h.cols());
  try {
    timed_loop(state, [&] {
      grad.set_zero();
      benchmark::DoNotOptimize(loss(blas, h, grad));
    });
  } catch (const gatrec::error& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["scores_per_s"] = benchmark::Counter(static_cast<double>(t.num_users) * t.num_items,
                                                      benchmark::Counter::kIsIterationInvariantRate);
  state.counters["block_users"] = loss.block_users();
  set_memory_counters(state, memory, 0);
  state.SetLabel(scale_name(scale));
}

void core_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"scale", "heads", "width", "impl", "bwd"})
      ->ArgsProduct({{0, 1, 2}, {1, 4, 8}, {16, 64}, {fused, library}, {0, 1}})
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

// The fused kernels at one edge a step (forward; backward), registered after every other case so
// that a run cut short by time loses them first.
void core_variant_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"scale", "heads", "width", "impl", "bwd"});
  for (int scale : {0, 1, 2})
    for (int heads : {1, 4, 8})
      for (int width : {16, 64}) {
        b->Args({scale, heads, width, fused_one_edge_a_step, 0});
        b->Args({scale, heads, width, fused_backward_one_edge_a_step, 1});
      }
  b->UseManualTime()->Unit(benchmark::kMillisecond);
}

void layer_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"scale", "heads", "width", "bwd"})
      ->ArgsProduct({{0, 1, 2}, {1, 4, 8}, {16, 64}, {0, 1}})
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

BENCHMARK_TEMPLATE(attention_core, attention_form::gatv2)->Name("core_gatv2")->Apply(core_args);
BENCHMARK_TEMPLATE(attention_core, attention_form::gat)->Name("core_gat")->Apply(core_args);
BENCHMARK(aggregation_floor)
    ->ArgNames({"scale", "heads", "width"})
    ->ArgsProduct({{0, 1, 2}, {1, 4, 8}, {16, 64}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(layer, attention_form::gatv2)->Name("layer_gatv2")->Apply(layer_args);
BENCHMARK_TEMPLATE(layer, attention_form::gat)->Name("layer_gat")->Apply(layer_args);
BENCHMARK(paper_stack)->ArgName("scale")->Arg(0)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(full_ranking)
    ->ArgNames({"catalogue", "k"})
    ->ArgsProduct({{0, 1, 2}, {20, 100}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(cpu_full_ranking)
    ->ArgNames({"catalogue", "k"})
    ->ArgsProduct({{0, 1}, {20, 100}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(device_sampling)->ArgName("scale")->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(cpu_sampling)->ArgName("scale")->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(softmax_loss)->ArgName("scale")->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(attention_core, attention_form::gatv2)->Name("core_variant_gatv2")->Apply(core_variant_args);
BENCHMARK_TEMPLATE(attention_core, attention_form::gat)->Name("core_variant_gat")->Apply(core_variant_args);

}  // namespace

int main(int argc, char** argv) {
  for (int k = 1; k < argc; ++k) {
    const char* flag = "--print_graph_checksum=";
    if (std::strncmp(argv[k], flag, std::strlen(flag)) == 0) {
      const double fraction = std::atof(argv[k] + std::strlen(flag));
      std::printf("{\"scale\": %g, \"checksum\": \"%s\"}\n", fraction,
                  gatrec::bench::ratings_checksum(gatrec::bench::ml25m_shape(fraction)).c_str());
      return 0;
    }
  }
  bool list_only = false;
  for (int k = 1; k < argc; ++k) list_only = list_only || std::strncmp(argv[k], "--benchmark_list_tests", 22) == 0;
  if (!list_only && !gatrec::cuda::has_device()) {
    std::fprintf(stderr, "bench_gat_cuda: no CUDA device on this machine\n");
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!list_only) std::fprintf(stderr, "device-to-device copy: %.0f GB/s\n", copy_bandwidth() / 1e9);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
