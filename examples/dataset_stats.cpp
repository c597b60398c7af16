// gatrec-dataset-stats: loads a MovieLens or LCFN dataset and prints its size, density, rating
// histogram, and the degree statistics of the bipartite graph built from its training part.
//
//   gatrec-dataset-stats --dataset ml-100k [--data DIR] [--fold u1]
//   gatrec-dataset-stats --dataset ml-1m --ratings ../shared/data/ml-1m/ratings_first10_per_user.dat
//   gatrec-dataset-stats --dataset lcfn --data ../shared/data

#include <gatrec/data/data_dir.hpp>
#include <gatrec/data/lcfn.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/data/movielens_csv.hpp>
#include <gatrec/data/movielens_dat.hpp>
#include <gatrec/data/split.hpp>
#include <gatrec/graph/bipartite_graph.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct options {
  std::string dataset;
  std::string data;
  std::string fold = "u1";
  std::string ratings;
  std::string test;
  double train_fraction = 0.8;
  std::uint64_t seed = 42;
};

/// A bad command line: reported with the usage and exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* const usage =
    "usage: gatrec-dataset-stats --dataset NAME [--data DIR] [options]\n"
    "\n"
    "  --dataset NAME    ml-100k | ml-1m | ml-10m | ml-latest | ml-latest-small | ml-20m | ml-25m | ml-32m | lcfn\n"
    "  --data DIR        data folder holding NAME/ (or NAME's folder itself); default $GATREC_DATA, then\n"
    "                    ../shared/data\n"
    "  --fold F          ml-100k fold whose .base is the training part: u1..u5, ua, ub (default u1)\n"
    "  --ratings FILE    ml-1m/ml-10m: read this ratings file instead of ratings.dat\n"
    "                    (for example ml-1m/ratings_first10_per_user.dat)\n"
    "  --test FILE       lcfn: test file (default: test.txt beside train.txt when present)\n"
    "  --train-fraction X  other datasets: per-user random training share (default 0.8)\n"
    "  --seed N          seed of that split (default 42)\n"
    "  --help            this text\n";

options parse_args(int argc, char** argv) {
  options o;
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    auto value = [&]() -> std::string {
      if (k + 1 >= argc) throw usage_error("option " + arg + " needs a value");
      return argv[++k];
    };
    if (arg == "--dataset") {
      o.dataset = value();
    } else if (arg == "--data") {
      o.data = value();
    } else if (arg == "--fold") {
      o.fold = value();
    } else if (arg == "--ratings") {
      o.ratings = value();
    } else if (arg == "--test") {
      o.test = value();
    } else if (arg == "--train-fraction") {
      const std::string v = value();
      char* end = nullptr;
      o.train_fraction = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.train_fraction > 0.0 && o.train_fraction <= 1.0))
        throw usage_error("--train-fraction must be a number in (0, 1], not '" + v + "'");
    } else if (arg == "--seed") {
      const std::string v = value();
      char* end = nullptr;
      o.seed = std::strtoull(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0') throw usage_error("--seed must be a non-negative integer, not '" + v + "'");
    } else {
      throw usage_error("unknown option '" + arg + "'");
    }
  }
  if (o.dataset.empty()) throw usage_error("--dataset is required");
  return o;
}

enum class format { ml100k, dat, csv, lcfn };

format format_of(const std::string& name) {
  if (name == "ml-100k") return format::ml100k;
  if (name == "ml-1m" || name == "ml-10m") return format::dat;
  if (name == "ml-latest" || name == "ml-latest-small" || name == "ml-20m" || name == "ml-25m" || name == "ml-32m")
    return format::csv;
  if (name == "lcfn") return format::lcfn;
  throw usage_error("unknown dataset '" + name + "'");
}

/// The dataset's folder; "ml-latest" also accepts an ml-latest-small folder, "ml-10m" the
/// ml-10M100K folder of the zip, "lcfn" ml-1m-lcfn.
fs::path find_dataset(const fs::path& root, const std::string& name) {
  std::vector<std::string> names{name};
  if (name == "ml-latest") names.emplace_back("ml-latest-small");
  if (name == "ml-10m") names.emplace_back("ml-10M100K");
  if (name == "lcfn") names.emplace_back("ml-1m-lcfn");
  std::string tried;
  for (const auto& n : names) {
    try {
      return gatrec::dataset_dir(root, n);
    } catch (const gatrec::io_error& e) {
      tried += std::string(tried.empty() ? "" : "; ") + e.what();
    }
  }
  throw gatrec::io_error(tried);
}

struct summary {
  std::size_t count = 0;
  long long min = 0, max = 0;
  double mean = 0.0, median = 0.0;
  std::size_t zeros = 0;
};

summary summarise(std::vector<long long> degrees) {
  summary s;
  s.count = degrees.size();
  if (degrees.empty()) return s;
  std::sort(degrees.begin(), degrees.end());
  s.min = degrees.front();
  s.max = degrees.back();
  long double total = 0;
  for (const auto d : degrees) {
    total += d;
    s.zeros += d == 0;
  }
  s.mean = static_cast<double>(total / degrees.size());
  const std::size_t n = degrees.size();
  s.median = n % 2 ? static_cast<double>(degrees[n / 2]) : 0.5 * static_cast<double>(degrees[n / 2 - 1] + degrees[n / 2]);
  return s;
}

void print_summary(const char* what, const summary& s) {
  std::printf("  %-6s %8zu nodes  degree min %lld  median %.1f  mean %.2f  max %lld  (%zu without edges)\n", what,
              s.count, s.min, s.median, s.mean, s.max, s.zeros);
}

int run(const options& o) {
  const format f = format_of(o.dataset);
  if (f == format::ml100k &&
      std::find(gatrec::movielens_100k_folds.begin(), gatrec::movielens_100k_folds.end(), o.fold) ==
          gatrec::movielens_100k_folds.end())
    throw usage_error("unknown ML-100K fold '" + o.fold + "' (expected u1, u2, u3, u4, u5, ua or ub)");
  const fs::path root = gatrec::resolve_data_dir(o.data);
  const fs::path dir = find_dataset(root, o.dataset);

  gatrec::dataset ds;
  gatrec::rating_table train, test;
  std::string train_label;
  switch (f) {
    case format::ml100k: {
      ds = gatrec::load_movielens_100k(dir);
      gatrec::split s = gatrec::load_movielens_100k_fold(dir, o.fold, ds);
      train = std::move(s.train);
      test = std::move(s.test);
      train_label = "fold " + o.fold + " (" + o.fold + ".base)";
      break;
    }
    case format::dat: {
      if (o.ratings.empty()) {
        if (!fs::exists(dir / "ratings.dat"))
          throw gatrec::io_error("'" + (dir / "ratings.dat").string() +
                                 "' does not exist: download the full dataset (scripts/download_movielens.sh " +
                                 o.dataset + ") or pass another ratings file with --ratings FILE");
        ds = gatrec::load_movielens_dat(dir);
      } else {
        ds.name = o.dataset;
        gatrec::read_movies_dat(dir / "movies.dat", ds);
        const bool has_users = fs::exists(dir / "users.dat");
        if (has_users) gatrec::read_users_dat(dir / "users.dat", ds);
        const gatrec::rating_read_options ro{has_users ? gatrec::unknown_ids::reject : gatrec::unknown_ids::add,
                                             gatrec::unknown_ids::reject,
                                             has_users ? gatrec::whole_stars : gatrec::half_stars};
        ds.min_rating = ro.scale.min;
        ds.max_rating = ro.scale.max;
        ds.ratings = gatrec::read_ratings_dat(o.ratings, ds, ro);
      }
      break;
    }
    case format::csv:
      ds = gatrec::load_movielens_csv(dir);
      break;
    case format::lcfn: {
      fs::path test_file = o.test;
      if (test_file.empty() && fs::exists(dir / "test.txt")) test_file = dir / "test.txt";
      gatrec::lcfn_data d = gatrec::load_lcfn(dir / "train.txt", test_file);
      ds = std::move(d.data);
      train = std::move(d.parts.train);
      test = std::move(d.parts.test);
      train_label = test_file.empty() ? "train.txt (no test file)" : "train.txt";
      break;
    }
  }
  if (train_label.empty()) {
    gatrec::split s = gatrec::per_user_random_split(ds.ratings, ds.num_users(), o.train_fraction, 0.0, o.seed);
    train = std::move(s.train);
    test = std::move(s.test);
    char label[96];
    std::snprintf(label, sizeof label, "per-user random %.0f%% (seed %llu)", 100.0 * o.train_fraction,
                  static_cast<unsigned long long>(o.seed));
    train_label = label;
  }

  const double cells = static_cast<double>(ds.num_users()) * static_cast<double>(ds.num_items());
  std::printf("dataset    %s (%s)\n", ds.name.c_str(), dir.string().c_str());
  std::printf("users      %d\n", ds.num_users());
  std::printf("items      %d\n", ds.num_items());
  std::printf("ratings    %zu\n", ds.ratings.size());
  std::printf("density    %.4f%%\n", cells > 0 ? 100.0 * static_cast<double>(ds.ratings.size()) / cells : 0.0);

  std::map<float, std::size_t> histogram;
  for (const float r : ds.ratings.rating) ++histogram[r];
  std::printf("rating histogram\n");
  for (const auto& [value, count] : histogram)
    std::printf("  %4.1f %10zu  %5.1f%%\n", static_cast<double>(value), count,
                100.0 * static_cast<double>(count) / static_cast<double>(std::max<std::size_t>(1, ds.ratings.size())));

  std::printf("training part: %s, %zu ratings; test %zu\n", train_label.c_str(), train.size(), test.size());
  const gatrec::bipartite_graph g(ds.num_users(), ds.num_items(), train);
  const gatrec::degree_stats st = g.graph().degrees();
  std::printf("bipartite graph: %d nodes, %lld directed edges\n", g.num_nodes(), static_cast<long long>(g.num_edges()));
  std::printf("  in-degree min %lld  max %lld  mean %.2f; nodes without in-edges %d\n",
              static_cast<long long>(st.min_in), static_cast<long long>(st.max_in), st.mean_in,
              st.nodes_without_in_edges);
  std::vector<long long> users(static_cast<std::size_t>(ds.num_users())), items(static_cast<std::size_t>(ds.num_items()));
  for (gatrec::index_t u = 0; u < ds.num_users(); ++u)
    users[static_cast<std::size_t>(u)] = static_cast<long long>(g.graph().in_degree(g.user_node(u)));
  for (gatrec::index_t i = 0; i < ds.num_items(); ++i)
    items[static_cast<std::size_t>(i)] = static_cast<long long>(g.graph().in_degree(g.item_node(i)));
  print_summary("users", summarise(users));
  print_summary("items", summarise(items));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const usage_error& e) {
    std::fprintf(stderr, "gatrec-dataset-stats: %s\n\n%s", e.what(), usage);
    return 2;
  } catch (const gatrec::parse_error& e) {
    std::fprintf(stderr, "gatrec-dataset-stats: malformed data: %s\n", e.what());
    return 1;
  } catch (const gatrec::io_error& e) {
    std::fprintf(stderr, "gatrec-dataset-stats: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gatrec-dataset-stats: error: %s\n", e.what());
    return 1;
  }
}
