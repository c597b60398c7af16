// The host-side stages of a training step that a device training run (train/device_training.hpp)
// moved to the GPU: sampling the epoch's triples (negative_sampler::sample, parallel; on the device
// cuda::device_negative_sampler draws the same triples, timed by bench_gat_cuda's device_sampling)
// and the loss incidence (loss_incidence::build, serial; on the device
// cuda::device_loss_incidence). Both remain the CPU path and the oracle of the device versions.
// Timed at the ML-100K, ML-1M and ML-25M shapes (uniformly random ratings, 55% of them liked like
// MovieLens), one negative per positive, cosine term on.

#include <gatrec/core/random.hpp>
#include <gatrec/train/loss_incidence.hpp>
#include <gatrec/train/negative_sampler.hpp>

#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "catalogue_shapes.hpp"

namespace {

using gatrec::bench::catalogue_shape;
const auto& shapes = gatrec::bench::catalogue_shapes;

struct training_data {
  gatrec::rating_table train;
  std::unique_ptr<gatrec::negative_sampler> sampler;
  gatrec::training_triples triples;
};

const training_data& data(int shape) {
  static std::map<int, std::unique_ptr<training_data>> cache;
  auto& slot = cache[shape];
  if (!slot) {
    const catalogue_shape& c = shapes[shape];
    slot = std::make_unique<training_data>();
    gatrec::rng r(3);
    for (std::int64_t k = 0; k < c.ratings; ++k)
      slot->train.push_back(static_cast<gatrec::index_t>(r.below(static_cast<std::uint64_t>(c.users))),
                            static_cast<gatrec::index_t>(r.below(static_cast<std::uint64_t>(c.items))),
                            r.uniform() < 0.55 ? 4.0f : 2.0f);
    slot->sampler = std::make_unique<gatrec::negative_sampler>(slot->train, c.users, c.items, gatrec::sampler_options{});
    slot->sampler->sample(1, slot->triples);
  }
  return *slot;
}

void sample_triples(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const training_data& d = data(shape);
  gatrec::training_triples triples;
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    d.sampler->sample(++epoch, triples);
    benchmark::DoNotOptimize(triples.negative.data());
  }
  state.counters["triples"] = static_cast<double>(d.triples.size());
  state.counters["triples_per_s"] =
      benchmark::Counter(static_cast<double>(d.triples.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(shapes[shape].name);
}

void build_loss_incidence(benchmark::State& state) {
  const int shape = static_cast<int>(state.range(0));
  const training_data& d = data(shape);
  const catalogue_shape& c = shapes[shape];
  for (auto _ : state) {
    const auto inc = gatrec::loss_incidence::build(d.triples, c.users, c.users + c.items, 1, true);
    benchmark::DoNotOptimize(inc.entries.data());
  }
  state.counters["triples_per_s"] =
      benchmark::Counter(static_cast<double>(d.triples.size()), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(shapes[shape].name);
}

}  // namespace

BENCHMARK(sample_triples)->ArgName("shape")->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(build_loss_incidence)->ArgName("shape")->DenseRange(0, 2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
