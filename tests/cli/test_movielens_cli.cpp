// gatrec-movielens end to end on ML-100K u1 (skips without the data): the embeddings written by
// --save-embeddings rank exactly the lists written by --recommendations, their id files name the
// dataset's raw ids, --json records the command, --tune reuses a training where only the ranking
// prior differs (also across processes with --tune-cache), --device cuda trains like the CPU or says
// why it cannot, and inconsistent options are refused with exit status 2 before any training.

#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/embeddings/npy.hpp>
#include <gatrec/embeddings/npy_provider.hpp>
#include <gatrec/eval/recommendation_io.hpp>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/models/scorer.hpp>

#include <gtest/gtest.h>

#include "support/test_data.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct cli_result {
  int status = -1;
  std::string output;  // stdout and stderr
};

// Runs gatrec-movielens (or another build of it) with `args` (already shell-quoted where needed).
cli_result run_cli(const std::string& args, const std::filesystem::path& dir,
                   const char* program = GATREC_MOVIELENS_CLI) {
  const std::filesystem::path log = dir / "cli.log";
  const std::string command = std::string("\"") + program + "\" " + args + " > \"" + log.string() + "\" 2>&1";
  const int raw = std::system(command.c_str());
  cli_result r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  r.output = text.str();
  return r;
}

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("gatrec_cli_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(MovielensCli, SavedEmbeddingsRankTheWrittenLists) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("embeddings");
  const cli_result r = run_cli("--data \"" + root.string() + "\" --model gat --epochs 2 --validation-fraction 0 "
                               "--heads 2,1 --head-dim 8 --protocol full --k 10 --list-length 20 --quiet "
                               "--save-embeddings \"" + (dir / "e").string() + "\" --recommendations \"" +
                                   (dir / "r.csv").string() + "\" --json \"" + (dir / "m.json").string() + "\"",
                               dir);
  ASSERT_EQ(r.status, 0) << r.output;
  // The metrics file records the command that produced it.
  std::ifstream json_file(dir / "m.json");
  std::stringstream json;
  json << json_file.rdbuf();
  EXPECT_NE(json.str().find("\"command\":\"--data "), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("--model gat --epochs 2"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"recall@10\""), std::string::npos) << json.str();
  // Without a validation part there is no best validation value: null, not a number.
  EXPECT_NE(json.str().find("\"best_epoch\":2"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"best_validation\":null"), std::string::npos) << json.str();

  const gatrec::dataset ds = gatrec::load_movielens_100k(root / "ml-100k");
  const gatrec::split fold = gatrec::load_movielens_100k_fold(root / "ml-100k", "u1", ds);
  const gatrec::matrix<float> users = gatrec::read_npy(dir / "e_users.npy");
  const gatrec::matrix<float> items = gatrec::read_npy(dir / "e_items.npy");
  ASSERT_EQ(users.rows(), ds.num_users());
  ASSERT_EQ(items.rows(), ds.num_items());
  ASSERT_EQ(users.cols(), items.cols());
  const auto user_ids = gatrec::read_row_ids(dir / "e_users.ids");
  const auto item_ids = gatrec::read_row_ids(dir / "e_items.ids");
  ASSERT_EQ(user_ids.size(), static_cast<std::size_t>(ds.num_users()));
  ASSERT_EQ(item_ids.size(), static_cast<std::size_t>(ds.num_items()));
  for (gatrec::index_t u = 0; u < ds.num_users(); ++u) ASSERT_EQ(user_ids[u], std::to_string(ds.users.raw(u)));
  for (gatrec::index_t i = 0; i < ds.num_items(); ++i) ASSERT_EQ(item_ids[i], std::to_string(ds.items.raw(i)));

  // Ranking the saved embeddings by dot product, training items masked, gives the written lists.
  const gatrec::user_item_sets train(ds.num_users(), ds.num_items(), fold.train);
  const gatrec::ranked_lists mine = gatrec::top_k(gatrec::dot_product_scorer(users, items), 20, train);
  const gatrec::ranked_lists written = gatrec::read_recommendations_csv(dir / "r.csv", ds.users, ds.items);
  ASSERT_EQ(written.num_users, mine.num_users);
  for (gatrec::index_t u = 0; u < ds.num_users(); ++u) {
    const auto a = mine.list(u), b = written.list(u);
    ASSERT_EQ(a.size(), b.size()) << "user " << u;
    for (int k = 0; k < a.size(); ++k) ASSERT_EQ(a[k], b[k]) << "user " << u;
  }
  std::filesystem::remove_all(dir);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A model refitted on every training rating and saved ranks, once loaded, on that same graph: the
// loaded run writes the very lists the training run wrote.
TEST(MovielensCli, ALoadedRefittedModelRanksOnItsOwnGraph) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("load_refit");
  const std::string base = "--data \"" + root.string() + "\" --model gat --epochs 3 --warmup 0 --heads 2,1 "
                           "--head-dim 8 --validation-fraction 0.2 --refit --protocol full --k 10 --quiet ";
  const std::string model = (dir / "m.bin").string();
  const cli_result saved = run_cli(base + "--save-model \"" + model + "\" --recommendations \"" +
                                       (dir / "trained.csv").string() + "\"", dir);
  ASSERT_EQ(saved.status, 0) << saved.output;
  const cli_result loaded = run_cli(base + "--load-model \"" + model + "\" --recommendations \"" +
                                        (dir / "loaded.csv").string() + "\"", dir);
  ASSERT_EQ(loaded.status, 0) << loaded.output;
  EXPECT_NE(loaded.output.find("loaded "), std::string::npos) << loaded.output;
  const std::string trained_lists = read_text(dir / "trained.csv");
  ASSERT_GT(trained_lists.size(), 1000u);
  EXPECT_TRUE(trained_lists == read_text(dir / "loaded.csv"));
  std::filesystem::remove_all(dir);
}

// The row of a --tune CSV for one setting, without its train_seconds field (wall time).
std::string tune_row(const std::filesystem::path& csv, const std::string& setting) {
  std::ifstream in(csv);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream row(line);
    for (std::string f; std::getline(row, f, ',');) fields.push_back(f);
    if (fields.size() > 4 && fields[1] == "\"" + setting + "\"") {
      fields.erase(fields.begin() + 3);
      std::string kept;
      for (const auto& f : fields) kept += f + ",";
      return kept;
    }
  }
  return "no row for " + setting + " in " + csv.string();
}

// Under --prior-in-loss 0 --select-on model the prior never reaches the trainer, so --tune trains
// once per seed for settings that differ only in the prior, and the re-ranked rows equal those of
// a fresh training.
// The --tune tests: an MF + EASE score ensemble on ML-100K, `extra` flags, grid `grid`, CSV dir/csv.
cli_result run_tune(const std::filesystem::path& root, const std::filesystem::path& dir, const std::string& extra,
                    const std::string& grid, const std::string& csv) {
  return run_cli("--data \"" + root.string() + "\" --model mf --epochs 6 --warmup 0 --quiet --validation-fraction 0.2 "
                 "--prior ease --lambda 300 --prior-in-loss 0 " + extra + " --tune \"" + grid + "\" --tune-csv \"" +
                     (dir / csv).string() + "\"",
                 dir);
}

TEST(MovielensCli, TuneReusesTrainingAcrossPriorWeights) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("tune_reuse");
  auto tune = [&](const std::string& extra, const std::string& grid, const std::string& csv) {
    return run_tune(root, dir, extra, grid, csv);
  };
  const cli_result both = tune("--select-on model", "prior-weight=0.5,2", "both.csv");
  ASSERT_EQ(both.status, 0) << both.output;
  EXPECT_NE(both.output.find("reusing the trained mf (seed 42)"), std::string::npos) << both.output;
  const cli_result alone = tune("--select-on model", "prior-weight=2", "alone.csv");
  ASSERT_EQ(alone.status, 0) << alone.output;
  EXPECT_EQ(alone.output.find("reusing"), std::string::npos) << alone.output;
  const std::string reused = tune_row(dir / "both.csv", "prior-weight=2");
  ASSERT_EQ(reused.rfind("mf,", 0), 0u) << reused;
  EXPECT_EQ(reused, tune_row(dir / "alone.csv", "prior-weight=2"));
  EXPECT_NE(tune_row(dir / "both.csv", "prior-weight=2"), tune_row(dir / "both.csv", "prior-weight=0.5"));
  // Selected on the ensemble, the prior shapes training: every setting trains.
  const cli_result ensemble = tune("", "prior-weight=0.5,2", "ensemble.csv");
  ASSERT_EQ(ensemble.status, 0) << ensemble.output;
  EXPECT_EQ(ensemble.output.find("reusing"), std::string::npos) << ensemble.output;
  std::filesystem::remove_all(dir);
}

// --tune-cache keeps those trainings on disk: a later process widening the weight grid trains
// nothing and ranks exactly as the process that trained; a change to a training flag trains anew.
TEST(MovielensCli, TuneCacheReusesTrainingAcrossProcesses) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("tune_cache");
  const std::string cached_ensemble = "--select-on model --tune-cache \"" + (dir / "cache").string() + "\" ";
  auto tune = [&](const std::string& extra, const std::string& grid, const std::string& csv) {
    return run_tune(root, dir, cached_ensemble + extra, grid, csv);
  };
  const cli_result first = tune("", "prior-weight=2", "first.csv");
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_EQ(first.output.find("reusing"), std::string::npos) << first.output;
  const cli_result wider = tune("", "prior-weight=0.5,2", "wider.csv");
  ASSERT_EQ(wider.status, 0) << wider.output;
  EXPECT_NE(wider.output.find("reusing the trained mf (seed 42, from the tune cache)"), std::string::npos)
      << wider.output;
  const std::string cached = tune_row(dir / "wider.csv", "prior-weight=2");
  ASSERT_EQ(cached.rfind("mf,", 0), 0u) << cached;
  EXPECT_EQ(cached, tune_row(dir / "first.csv", "prior-weight=2"));
  EXPECT_NE(cached, tune_row(dir / "wider.csv", "prior-weight=0.5"));
  const cli_result changed = tune("--epochs 5", "prior-weight=2", "changed.csv");
  ASSERT_EQ(changed.status, 0) << changed.output;
  EXPECT_EQ(changed.output.find("reusing"), std::string::npos) << changed.output;
  // A damaged entry is an error naming its file, not a silent retraining or garbage.
  for (const auto& f : std::filesystem::directory_iterator(dir / "cache"))
    if (f.path().extension() == ".key") {
      std::string text = read_text(f.path());
      std::ofstream(f.path(), std::ios::trunc) << text.substr(0, text.find("train_seconds"));
    }
  const cli_result damaged = tune("", "prior-weight=2", "damaged.csv");
  EXPECT_EQ(damaged.status, 1) << damaged.output;
  EXPECT_NE(damaged.output.find("malformed tune cache entry"), std::string::npos) << damaged.output;
  EXPECT_NE(damaged.output.find(".key"), std::string::npos) << damaged.output;
  std::filesystem::remove_all(dir);
}

// A carved test part is drawn from --split-seed (default --seed): runs with different model seeds
// share a split only when they share the split seed, and the JSON names it.
TEST(MovielensCli, SplitSeedFixesTheCarvedTestPart) {
  GATREC_REQUIRE_DATA(root, "ml-1m-lcfn/train.txt");
  const auto dir = fresh_dir("split_seed");
  auto run = [&](const std::string& seeds, const std::string& name) {
    const cli_result r = run_cli("--data \"" + root.string() + "\" --dataset lcfn --model pop --protocol full --k 20 "
                                 "--quiet " + seeds + " --json \"" + (dir / name).string() + "\"", dir);
    EXPECT_EQ(r.status, 0) << r.output;
    const std::string json = read_text(dir / name);
    const auto at = json.find("\"recall@20\":");
    EXPECT_NE(at, std::string::npos) << json;
    return std::make_pair(json.find("split seed " + std::string(seeds == "--seed 43" ? "43" : "42")) !=
                              std::string::npos,
                          at == std::string::npos ? std::string() : json.substr(at, 32));
  };
  const auto base = run("--seed 42", "a.json");
  const auto pinned = run("--seed 43 --split-seed 42", "b.json");
  const auto drawn = run("--seed 43", "c.json");
  EXPECT_TRUE(base.first && pinned.first && drawn.first);
  EXPECT_EQ(pinned.second, base.second);
  EXPECT_NE(drawn.second, base.second);
  std::filesystem::remove_all(dir);
}

TEST(MovielensCli, RefusesInconsistentEnsembleOptions) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("refusals");
  const std::string data = "--data \"" + root.string() + "\" ";
  struct refusal {
    std::string args, message;
  };
  const refusal cases[] = {
      {"--model gat --prior ease --prior-folds 3 --rating-ease-weight 0.1", "cannot be combined with --prior-folds"},
      {"--model ease --rating-center high", "--rating-center expects a number"},
      {"--model ease --rating-ease-lambda -1", "--rating-ease-lambda must be positive"},
      {"--dataset lcfn --protocol full --model ease --rating-ease-weight 0.1", "needs explicit ratings"},
      {"--model gat --prior ease --select-on model", "--select-on model needs --prior ease --prior-in-loss 0"},
      {"--model gat --select-on model", "--select-on model needs --prior ease --prior-in-loss 0"},
      {"--model gat --prior ease --prior-in-loss 0 --select-on best", "--select-on must be model or ensemble"},
      {"--model gat --plateau-patience 0", "--plateau-patience must be at least 1"},
      {"--model mf --tune-cache cache", "--tune-cache needs --tune"},
      {"--model pop --split-seed -2", "--split-seed must not be negative"},
  };
  for (const auto& c : cases) {
    const cli_result r = run_cli(data + c.args, dir);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
  std::filesystem::remove_all(dir);
}

// A short GATv2 run on ML-100K u1 for the --device cuda comparisons.
std::string device_run_options(const std::filesystem::path& root) {
  return "--data \"" + root.string() + "\" --model gatv2 --epochs 3 --warmup 0 --heads 2,1 "
         "--head-dim 8 --validation-fraction 0.2 --protocol full --k 10 --quiet ";
}

// Runs the CPU twin of a successful --device cuda run `gpu` (options `base`, JSON in dir/gpu.json):
// the same training up to float rounding, so recall@10 and ndcg@10 within one swapped pair per ~100
// users.
void expect_device_run_like_cpu(const cli_result& gpu, const std::string& base, const std::filesystem::path& dir) {
  EXPECT_NE(gpu.output.find("device: CUDA device"), std::string::npos) << gpu.output;
  const cli_result cpu = run_cli(base + "--json \"" + (dir / "cpu.json").string() + "\"", dir);
  ASSERT_EQ(cpu.status, 0) << cpu.output;
  auto metric = [](const std::string& json, const std::string& name) {
    const auto at = json.find("\"" + name + "\":");
    EXPECT_NE(at, std::string::npos) << name << " missing in " << json;
    return at == std::string::npos ? -1.0 : std::atof(json.c_str() + at + name.size() + 3);
  };
  const std::string gpu_json = read_text(dir / "gpu.json"), cpu_json = read_text(dir / "cpu.json");
  // What the device buffers held at their peak: reported for the device run only.
  const double peak_mib = metric(gpu_json, "device_peak_mib");
  std::printf("  device buffers' peak: %.2f MiB\n", peak_mib);
  EXPECT_GT(peak_mib, 0.5) << "the ML-100K graph and features alone exceed half a MiB";
  EXPECT_NE(gpu.output.find("device buffers: peak"), std::string::npos) << gpu.output;
  EXPECT_EQ(cpu_json.find("device_peak_mib"), std::string::npos);
  for (const char* name : {"recall@10", "ndcg@10"}) {
    const double g = metric(gpu_json, name), c = metric(cpu_json, name);
    std::printf("  %-10s cpu %.6f  --device cuda %.6f\n", name, c, g);
    EXPECT_GT(c, 0.0) << name;
    EXPECT_NEAR(g, c, 0.01) << name;
  }
  std::filesystem::remove_all(dir);
}

// --device cuda trains the GAT encoder on a GPU with the CPU's results up to rounding; without a GPU
// (or without CUDA in the build) it stops before reading any data, saying why.
TEST(MovielensCli, DeviceCudaTrainsLikeTheCpuOrSaysWhyNot) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("device");
  const cli_result unknown = run_cli("--device tpu", dir);
  EXPECT_EQ(unknown.status, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("--device must be cpu, cuda or auto"), std::string::npos) << unknown.output;

  const std::string base = device_run_options(root);
  const cli_result gpu = run_cli(base + "--device cuda --json \"" + (dir / "gpu.json").string() + "\"", dir);
  if (gpu.status != 0) {
    // No GPU here: status 1 from a CUDA build, 2 (a usage error) from a build without CUDA.
    EXPECT_EQ(gpu.status, GATREC_CLI_WITH_CUDA ? 1 : 2) << gpu.output;
    EXPECT_NE(gpu.output.find(GATREC_CLI_WITH_CUDA ? "--device cuda: no" : "built without CUDA"), std::string::npos)
        << gpu.output;
    EXPECT_EQ(gpu.output.find("data:"), std::string::npos) << "read data before failing:\n" << gpu.output;
    std::filesystem::remove_all(dir);
    return;
  }
  expect_device_run_like_cpu(gpu, base, dir);
}

// --device auto takes the GPU where this build and machine have one and the CPU otherwise, saying
// which and why; either way the run trains and evaluates. On the CPU emulation of CUDA (a device is
// "present") it must take it.
TEST(MovielensCli, DeviceAutoTakesTheGpuOnlyWhereThereIsOne) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("device_auto");
  const std::string base = device_run_options(root) + "--epochs 1 --device auto ";
  const cli_result r = run_cli(base, dir);
  ASSERT_EQ(r.status, 0) << r.output;
  const bool took_gpu = r.output.find("device: auto -> cuda (CUDA device") != std::string::npos;
  if (!took_gpu) {
    EXPECT_NE(r.output.find("device: auto -> cpu ("), std::string::npos) << r.output;
    // The reason, worded for auto rather than for --device cuda.
    const bool said_why = GATREC_CLI_WITH_CUDA
                              ? r.output.find("(no usable CUDA device") != std::string::npos ||
                                    r.output.find("(no CUDA device") != std::string::npos
                              : r.output.find("(this gatrec-movielens was built without CUDA)") != std::string::npos;
    EXPECT_TRUE(said_why) << r.output;
    EXPECT_EQ(r.output.find("--device cuda:"), std::string::npos) << r.output;
  }
  EXPECT_NE(r.output.find("recall@10"), std::string::npos) << r.output;
#ifdef GATREC_EMULATED_MOVIELENS_CLI
  const cli_result emulated = run_cli(base, dir, GATREC_EMULATED_MOVIELENS_CLI);
  ASSERT_EQ(emulated.status, 0) << emulated.output;
  EXPECT_NE(emulated.output.find("device: auto -> cuda (CUDA device 0: CPU emulation of CUDA"), std::string::npos)
      << emulated.output;
  EXPECT_NE(emulated.output.find("recall@10"), std::string::npos) << emulated.output;
#endif
  std::filesystem::remove_all(dir);
}

#ifdef GATREC_EMULATED_MOVIELENS_CLI
// The same through gatrec-movielens built against the CPU emulation of CUDA (tests/emulation): the
// main job's --device cuda path end to end (device backend, training run, device ranking) on every
// machine, a GPU or not.
TEST(MovielensCli, DeviceCudaOnTheCpuEmulationTrainsLikeTheCpu) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const auto dir = fresh_dir("emulated_device");
  const std::string base = device_run_options(root);
  const cli_result gpu =
      run_cli(base + "--device cuda --json \"" + (dir / "gpu.json").string() + "\"", dir, GATREC_EMULATED_MOVIELENS_CLI);
  ASSERT_EQ(gpu.status, 0) << gpu.output;
  EXPECT_NE(gpu.output.find("CPU emulation of CUDA"), std::string::npos) << gpu.output;
  expect_device_run_like_cpu(gpu, base, dir);
}
#endif

}  // namespace
