// Parse throughput of the rating loaders on generated files: the ML-100K u.data format (tab,
// whole stars) and the ratings.csv format (comma, half stars, header), 1M and 25M lines, plus the
// raw-id lookup the loaders' inner loops use (dense table vs hash map).
//
// The files are generated once per size, outside the timed loops, in a temporary folder that is
// removed at exit. Run with OMP_NUM_THREADS=1; the loaders are single-threaded anyway.
//   build-data/benchmarks/bench_parse --benchmark_filter='/1000000$'   (quick)

#include <gatrec/core/random.hpp>
#include <gatrec/data/id_lookup.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/data/movielens_csv.hpp>

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr gatrec::raw_id_t num_users = 200000;  // about ML-25M/32M's size
constexpr gatrec::raw_id_t num_items = 60000;

/// The temporary folder, removed when the program exits.
struct temp_root {
  fs::path path = fs::temp_directory_path() / ("gatrec-bench-parse-" + std::to_string(::getpid()));
  temp_root() { fs::create_directories(path); }
  ~temp_root() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const fs::path& root() {
  static temp_root r;
  return r.path;
}

/// Buffered writer: formatting with to_chars keeps generating 25M lines to a few seconds.
class writer {
 public:
  explicit writer(const fs::path& p) : f_(std::fopen(p.c_str(), "wb")) {
    if (f_ == nullptr) throw gatrec::io_error("cannot create " + p.string());
  }
  ~writer() {
    flush();
    std::fclose(f_);
  }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  writer& operator<<(std::string_view s) {
    if (buf_.size() + s.size() > (1u << 20)) flush();
    buf_.append(s);
    return *this;
  }
  writer& operator<<(long long v) {
    char tmp[24];
    const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    return *this << std::string_view(tmp, static_cast<std::size_t>(r.ptr - tmp));
  }
  writer& operator<<(char c) { return *this << std::string_view(&c, 1); }

 private:
  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
  }
  std::FILE* f_;
  std::string buf_;
};

struct generated {
  fs::path dir;
  std::uintmax_t bytes = 0;  // of the ratings file
  std::size_t lines = 0;     // ratings
};

const generated& u_data_folder(std::size_t lines) {
  static std::map<std::size_t, generated> cache;
  auto& g = cache[lines];
  if (!g.dir.empty()) return g;
  g.dir = root() / ("ml-100k-" + std::to_string(lines));
  fs::create_directories(g.dir);
  {
    writer u(g.dir / "u.user");
    for (long long id = 1; id <= num_users; ++id) u << id << "|30|M|other|12345\n";
    writer i(g.dir / "u.item");
    for (long long id = 1; id <= num_items; ++id)
      i << id << "|Movie " << id << " (1995)|01-Jan-1995||http://example.org|0|0|0|0|0|1|0|0|1|0|0|0|0|0|0|0|0|0|0\n";
    writer d(g.dir / "u.data");
    gatrec::rng gen(1);
    for (std::size_t k = 0; k < lines; ++k)
      d << static_cast<long long>(1 + gen.below(num_users)) << '\t' << static_cast<long long>(1 + gen.below(num_items))
        << '\t' << static_cast<long long>(1 + gen.below(5)) << '\t'
        << static_cast<long long>(874724710 + gen.below(20000000)) << '\n';
  }
  g.bytes = fs::file_size(g.dir / "u.data");
  g.lines = lines;
  return g;
}

const generated& csv_folder(std::size_t lines) {
  static std::map<std::size_t, generated> cache;
  auto& g = cache[lines];
  if (!g.dir.empty()) return g;
  g.dir = root() / ("ml-latest-" + std::to_string(lines));
  fs::create_directories(g.dir);
  {
    writer m(g.dir / "movies.csv");
    m << "movieId,title,genres\n";
    for (long long id = 1; id <= num_items; ++id) m << id << ",\"Movie " << id << ", The (2001)\",Comedy|Drama\n";
    writer r(g.dir / "ratings.csv");
    r << "userId,movieId,rating,timestamp\n";
    static const char* const stars[] = {"0.5", "1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0"};
    gatrec::rng gen(2);
    for (std::size_t k = 0; k < lines; ++k)
      r << static_cast<long long>(1 + gen.below(num_users)) << ',' << static_cast<long long>(1 + gen.below(num_items))
        << ',' << std::string_view(stars[gen.below(10)]) << ','
        << static_cast<long long>(1000000000 + gen.below(600000000)) << '\n';
  }
  g.bytes = fs::file_size(g.dir / "ratings.csv");
  g.lines = lines;
  return g;
}

void report(benchmark::State& state, const generated& g) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(g.bytes));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(g.lines), benchmark::Counter::kIsRate);
  state.counters["MB"] = static_cast<double>(g.bytes) / 1e6;
}

void BM_load_movielens_100k_u_data(benchmark::State& state) {
  const generated& g = u_data_folder(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    gatrec::dataset ds = gatrec::load_movielens_100k(g.dir);
    benchmark::DoNotOptimize(ds.ratings.user.data());
    if (ds.ratings.size() != g.lines) state.SkipWithError("wrong number of ratings");
  }
  report(state, g);
}
BENCHMARK(BM_load_movielens_100k_u_data)->Arg(1000000)->Arg(25000000)->Unit(benchmark::kMillisecond);

void BM_load_movielens_csv_ratings(benchmark::State& state) {
  const generated& g = csv_folder(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    gatrec::dataset ds = gatrec::load_movielens_csv(g.dir);
    benchmark::DoNotOptimize(ds.ratings.user.data());
    if (ds.ratings.size() != g.lines) state.SkipWithError("wrong number of ratings");
  }
  report(state, g);
}
BENCHMARK(BM_load_movielens_csv_ratings)->Arg(1000000)->Arg(25000000)->Unit(benchmark::kMillisecond);

// The lookup alone: what the dense table saves over the id_map's hash table per rating.
std::vector<gatrec::raw_id_t> lookup_ids(gatrec::id_map& map, std::size_t n) {
  for (gatrec::raw_id_t id = 1; id <= num_users; ++id) map.insert(id);
  gatrec::rng gen(3);
  std::vector<gatrec::raw_id_t> ids(n);
  for (auto& id : ids) id = 1 + static_cast<gatrec::raw_id_t>(gen.below(num_users));
  return ids;
}

void BM_id_lookup_dense(benchmark::State& state) {
  gatrec::id_map map;
  const auto ids = lookup_ids(map, static_cast<std::size_t>(state.range(0)));
  const gatrec::id_lookup lookup(static_cast<const gatrec::id_map&>(map));
  for (auto _ : state) {
    long long sum = 0;
    for (const auto id : ids) sum += lookup.find(id);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_id_lookup_dense)->Arg(1000000)->Unit(benchmark::kMillisecond);

void BM_id_lookup_hash_map(benchmark::State& state) {
  gatrec::id_map map;
  const auto ids = lookup_ids(map, static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    long long sum = 0;
    for (const auto id : ids) sum += *map.find(id);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_id_lookup_hash_map)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
