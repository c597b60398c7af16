// Fitting the item-based baselines on synthetic power-law data shaped like ML-100K (943 users,
// 1,700 items, about 100K interactions) and ML-1M (6,040 users, 3,700 items, about 1M): EASE as a
// whole and its two phases (the sparse Gram matrix and the Cholesky inverse), and ItemKNN, at 1 and 2
// threads. Item popularity follows a Zipf law and user activity a power law, as in MovieLens.

#include <gatrec/baselines/ease.hpp>
#include <gatrec/baselines/item_knn.hpp>
#include <gatrec/core/parallel.hpp>
#include <gatrec/core/random.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

/// About `interactions` distinct (user, item) pairs, all rated 5 (so every one is "liked").
gatrec::rating_table power_law_ratings(gatrec::index_t users, gatrec::index_t items, double interactions) {
  gatrec::rng gen(42);
  // Item i is drawn with probability proportional to (i + 10)^-1.1 (inverse CDF by binary search).
  std::vector<double> cdf(static_cast<std::size_t>(items));
  double total = 0.0;
  for (gatrec::index_t i = 0; i < items; ++i) cdf[static_cast<std::size_t>(i)] = total += std::pow(i + 10.0, -1.1);
  // User u rates a number of items proportional to (u + 20)^-0.8, at least 20, at most half the catalogue.
  std::vector<double> activity(static_cast<std::size_t>(users));
  double activity_sum = 0.0;
  for (gatrec::index_t u = 0; u < users; ++u) activity_sum += activity[static_cast<std::size_t>(u)] = std::pow(u + 20.0, -0.8);
  gatrec::rating_table t;
  t.reserve(static_cast<std::size_t>(interactions * 1.1));
  std::vector<char> seen(static_cast<std::size_t>(items), 0);
  std::vector<gatrec::index_t> mine;
  for (gatrec::index_t u = 0; u < users; ++u) {
    const auto want = static_cast<gatrec::index_t>(std::clamp(
        interactions * activity[static_cast<std::size_t>(u)] / activity_sum, 20.0, items / 2.0));
    mine.clear();
    while (static_cast<gatrec::index_t>(mine.size()) < want) {
      const double x = gen.uniform() * total;
      const auto i = static_cast<gatrec::index_t>(std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin());
      if (i >= items || seen[static_cast<std::size_t>(i)]) continue;
      seen[static_cast<std::size_t>(i)] = 1;
      mine.push_back(i);
    }
    for (gatrec::index_t i : mine) {
      seen[static_cast<std::size_t>(i)] = 0;
      t.push_back(u, i, 5.0f);
    }
  }
  return t;
}

struct shape {
  gatrec::index_t users, items;
  double interactions;
};

shape shape_of(const benchmark::State& state) {
  return state.range(0) < 2000 ? shape{943, 1700, 100000} : shape{6040, 3700, 1000000};
}

const gatrec::rating_table& ratings_for(const shape& s) {
  static const gatrec::rating_table small = power_law_ratings(943, 1700, 100000);
  static const gatrec::rating_table large = power_law_ratings(6040, 3700, 1000000);
  return s.items < 2000 ? small : large;
}

// Sets the thread count for one benchmark and restores it afterwards.
struct thread_scope {
  int saved;
  explicit thread_scope(int n) : saved(gatrec::max_threads()) { gatrec::set_num_threads(n); }
  ~thread_scope() { gatrec::set_num_threads(saved); }
};

void report(benchmark::State& state, const shape& s, const gatrec::rating_table& t) {
  state.counters["users"] = s.users;
  state.counters["items"] = s.items;
  state.counters["nnz"] = static_cast<double>(t.size());
}

void bench_ease_fit(benchmark::State& state) {
  const shape s = shape_of(state);
  const gatrec::rating_table& t = ratings_for(s);
  const thread_scope threads(static_cast<int>(state.range(1)));
  gatrec::ease_options opt;
  opt.lambda = 500.0;
  for (auto _ : state) {
    const gatrec::ease_scorer model(s.users, s.items, t, opt);
    benchmark::DoNotOptimize(model.weights().data());
  }
  report(state, s, t);
}

void bench_ease_gram(benchmark::State& state) {
  const shape s = shape_of(state);
  const gatrec::rating_table& t = ratings_for(s);
  const thread_scope threads(static_cast<int>(state.range(1)));
  const gatrec::interaction_matrix x(s.users, s.items, t, 4.0f);
  for (auto _ : state) {
    const gatrec::matrix<double> g = gatrec::item_gram_matrix(x, 500.0);
    benchmark::DoNotOptimize(g.data());
  }
  report(state, s, t);
}

void bench_ease_inverse(benchmark::State& state) {
  const shape s = shape_of(state);
  const gatrec::rating_table& t = ratings_for(s);
  const thread_scope threads(static_cast<int>(state.range(1)));
  const gatrec::matrix<double> g = gatrec::item_gram_matrix(gatrec::interaction_matrix(s.users, s.items, t, 4.0f), 500.0);
  for (auto _ : state) {
    const gatrec::matrix<double> b = gatrec::ease_weights(g);
    benchmark::DoNotOptimize(b.data());
  }
  report(state, s, t);
  const double n = s.items;
  // Cholesky, triangular inverse and Wᵀ W: n³/3 flops each.
  state.counters["GFLOP/s"] = benchmark::Counter(n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bench_item_knn_fit(benchmark::State& state) {
  const shape s = shape_of(state);
  const gatrec::rating_table& t = ratings_for(s);
  const thread_scope threads(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    const gatrec::item_knn_scorer model(s.users, s.items, t);
    benchmark::DoNotOptimize(model.neighbour_items().data());
  }
  report(state, s, t);
}

#define GATREC_BASELINE_BENCHMARK(fn)              \
  BENCHMARK(fn)                                    \
      ->ArgNames({"items", "threads"})             \
      ->ArgsProduct({{1700, 3700}, {1, 2}})        \
      ->Unit(benchmark::kMillisecond)              \
      ->UseRealTime()

GATREC_BASELINE_BENCHMARK(bench_ease_fit);
GATREC_BASELINE_BENCHMARK(bench_ease_gram);
GATREC_BASELINE_BENCHMARK(bench_ease_inverse);
GATREC_BASELINE_BENCHMARK(bench_item_knn_fit);

}  // namespace

BENCHMARK_MAIN();
