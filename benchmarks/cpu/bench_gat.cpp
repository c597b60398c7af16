// CPU speed of the attention layers and of the paper's 3-layer GATv2 stack, forward and backward,
// on the ML-100K u1 graph and the LCFN ML-1M training graph (both with self-loops, the rating as
// edge feature, float32, 384-d random input). benchmarks/peers/compare_pyg_cpu.py runs the same cases
// in PyTorch Geometric and prints the ratio.
//
// Counters: edges/s (directed edges, self-loops included, per forward+backward), peak RSS of the
// process in MB (run one case per process to read it per case).
#include <gatrec/data/data_dir.hpp>
#include <gatrec/data/lcfn.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/graph/bipartite_graph.hpp>
#include <gatrec/nn/gat_model.hpp>

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <map>
#include <memory>
#include <string>

namespace {

enum graph_id { ml100k_u1 = 0, lcfn_ml1m = 1 };

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Graphs are loaded once per process; nullptr when the data folder is absent.
const gatrec::bipartite_graph* graph(int id) {
  static std::map<int, std::unique_ptr<gatrec::bipartite_graph>> cache;
  auto it = cache.find(id);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<gatrec::bipartite_graph> g;
  try {
    const auto root = gatrec::resolve_data_dir();
    gatrec::graph_options opt;
    opt.add_self_loops = true;
    if (id == ml100k_u1) {
      const auto dir = gatrec::dataset_dir(root, "ml-100k");
      const auto ds = gatrec::load_movielens_100k(dir);
      const auto sp = gatrec::load_movielens_100k_fold(dir, "u1", ds);
      g = std::make_unique<gatrec::bipartite_graph>(ds.num_users(), ds.num_items(), sp.train, opt);
    } else {
      const auto data = gatrec::load_lcfn(gatrec::dataset_dir(root, "ml-1m-lcfn") / "train.txt");
      g = std::make_unique<gatrec::bipartite_graph>(data.data.num_users(), data.data.num_items(), data.parts.train, opt);
    }
  } catch (const std::exception&) {
    g.reset();
  }
  return (cache[id] = std::move(g)).get();
}

const char* graph_name(int id) { return id == ml100k_u1 ? "ml100k-u1" : "lcfn-ml1m"; }

void set_counters(benchmark::State& state, const gatrec::bipartite_graph& g) {
  state.counters["edges_per_s"] =
      benchmark::Counter(static_cast<double>(g.num_edges()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_mb"] = peak_rss_mb();
  state.counters["threads"] = gatrec::max_threads();
  state.SetLabel(graph_name(static_cast<int>(state.range(0))));
}

// One GATv2 layer 384 -> 4 x 64 (concat), rating as edge feature: forward + backward with the
// input gradient (features are trainable).
void layer_forward_backward(benchmark::State& state) {
  const auto* g = graph(static_cast<int>(state.range(0)));
  if (g == nullptr) {
    state.SkipWithError("data not found: set GATREC_DATA");
    return;
  }
  gatrec::attention_options opt{384, 4, 64, true, 1, 0.2, 0.0, true};
  gatrec::rng gen(1);
  gatrec::gatv2_layer<float> layer("conv", opt, gen);
  gatrec::matrix<float> x(g->num_nodes(), 384), y, dx(g->num_nodes(), 384);
  gatrec::normal_init(x, 0.1, gen);
  gatrec::matrix<float> up(g->num_nodes(), 256);
  gatrec::normal_init(up, 1.0, gen);
  gatrec::gatv2_layer<float>::context ctx;
  gatrec::parameter_list<float> params;
  layer.collect(params);
  for (auto _ : state) {
    layer.forward(g->graph(), x, y, ctx);
    gatrec::zero_grad(params);
    dx.setZero();
    layer.backward(ctx, up, &dx);
    benchmark::DoNotOptimize(dx.data());
  }
  set_counters(state, *g);
}

// The paper's stack 384 -> 256 -> 256 -> 64 (GATv2, heads 4/4/1, LayerNorm, LeakyReLU, residual):
// forward + backward to every parameter and to the input features, i.e. one training epoch minus
// the loss and the optimiser step.
template <bool Backward>
void stack(benchmark::State& state) {
  const auto* g = graph(static_cast<int>(state.range(0)));
  if (g == nullptr) {
    state.SkipWithError("data not found: set GATREC_DATA");
    return;
  }
  gatrec::gat_model<float> model(gatrec::gat_model_options::paper());
  gatrec::rng gen(2);
  gatrec::matrix<float> x(g->num_nodes(), 384), dx(g->num_nodes(), 384), up(g->num_nodes(), 64);
  gatrec::normal_init(x, 0.1, gen);
  gatrec::normal_init(up, 1.0, gen);
  gatrec::gat_model<float>::context ctx;
  auto params = model.parameters();
  for (auto _ : state) {
    const auto& h = model.forward(g->graph(), x, ctx);
    benchmark::DoNotOptimize(h.data());
    if (Backward) {
      gatrec::zero_grad(params);
      dx.setZero();
      model.backward(ctx, up, &dx);
      benchmark::DoNotOptimize(dx.data());
    }
  }
  set_counters(state, *g);
}

BENCHMARK(layer_forward_backward)->Arg(ml100k_u1)->Arg(lcfn_ml1m)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(stack, true)->Name("stack_forward_backward")->Arg(ml100k_u1)->Arg(lcfn_ml1m)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(stack, false)->Name("stack_forward")->Arg(ml100k_u1)->Arg(lcfn_ml1m)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
