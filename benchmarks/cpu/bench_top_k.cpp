// Top-k selection throughput: dot-product scores for every (user, item) pair, training items
// masked, k = 50, over catalogue sizes of ML-100K (943 x 1682), ML-1M (6040 x 3706) and a larger
// synthetic set, for block sizes and thread counts.

#include <gatrec/core/parallel.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/eval/top_k.hpp>

#include <benchmark/benchmark.h>

namespace {

struct problem {
  gatrec::matrix<float> users, items;
  gatrec::user_item_sets train;
};

problem make_problem(gatrec::index_t nu, gatrec::index_t ni, int d) {
  gatrec::rng r(1);
  problem p;
  p.users.resize(nu, d);
  p.items.resize(ni, d);
  for (Eigen::Index e = 0; e < p.users.size(); ++e) p.users.data()[e] = static_cast<float>(r.normal());
  for (Eigen::Index e = 0; e < p.items.size(); ++e) p.items.data()[e] = static_cast<float>(r.normal());
  gatrec::rating_table t;  // about 6% density, like ML-100K
  for (gatrec::index_t u = 0; u < nu; ++u)
    for (gatrec::index_t i = 0; i < ni; ++i)
      if (r.uniform() < 0.06) t.push_back(u, i, 4.0f);
  p.train = gatrec::user_item_sets(nu, ni, t);
  return p;
}

void bench_top_k(benchmark::State& state) {
  const auto nu = static_cast<gatrec::index_t>(state.range(0));
  const auto ni = static_cast<gatrec::index_t>(state.range(1));
  const auto block = static_cast<gatrec::index_t>(state.range(2));
  const int threads = static_cast<int>(state.range(3));
  const int d = 64;
  const problem p = make_problem(nu, ni, d);
  const int saved = gatrec::max_threads();
  gatrec::set_num_threads(threads);
  gatrec::top_k_options o;
  o.block_users = block;
  for (auto _ : state) {
    gatrec::ranked_lists lists = gatrec::top_k(p.users, p.items, 50, p.train, o);
    benchmark::DoNotOptimize(lists.items.data());
  }
  gatrec::set_num_threads(saved);
  const double pairs = static_cast<double>(nu) * ni;
  state.counters["pairs/s"] = benchmark::Counter(pairs, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * pairs * d * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(bench_top_k)
    ->ArgNames({"users", "items", "block", "threads"})
    ->ArgsProduct({{943}, {1682}, {64, 256}, {1, 2}})
    ->ArgsProduct({{6040}, {3706}, {256, 1024}, {1, 2}})
    ->ArgsProduct({{20000}, {20000}, {256}, {2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
