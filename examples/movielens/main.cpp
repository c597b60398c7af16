// gatrec-movielens: train and evaluate recommenders on MovieLens, print a metrics table.
//
// The project's main job (README): `gatrec-movielens --dataset ml-100k --fold u1 --model ...`.
// Every error ends in one line on stderr and a non-zero exit status: 2 for a bad command line,
// 1 for bad data or a failed run.
#include <gatrec/core/parallel.hpp>
#include <gatrec/core/random.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "data_setup.hpp"
#include "device_backend.hpp"
#include "explain.hpp"
#include "options.hpp"
#include "report.hpp"
#include "rerank.hpp"
#include "run_model.hpp"
#include "tune.hpp"

int main(int argc, char** argv) {
  using namespace movielens;
  // Subcommands "recommend" and "explain-faithfulness": grounded justifications (explain.hpp).
  if (argc > 1 && is_explain_command(argv[1])) return run_explain(argc, argv);
  // Subcommand "rerank": LLM re-ranking of the top N, evaluated like the base model (rerank.hpp).
  if (argc > 1 && is_rerank_command(argv[1])) return run_rerank(argc, argv);
  options o;
  try {
    o = parse_options(argc, argv);
  } catch (const usage_error& e) {
    if (std::string(e.what()).empty()) {
      std::cout << usage();
      return 0;
    }
    std::cerr << "gatrec-movielens: " << e.what() << "\n(run with --help for the options)\n";
    return 2;
  }
  try {
    if (o.threads > 0) gatrec::set_num_threads(o.threads);
    std::ostream& log = std::cerr;
    if (!o.device_note.empty()) log << o.device_note << '\n';
    if (o.device == "cuda") {
      const std::string device = require_cuda_device();  // fails here, before any data is read
      log << "device: " << device << '\n';
    }
    const prepared_data p = prepare_data(o, log);
    const gatrec::matrix<float> features = load_features(o, p, log);
    if (!o.tune.empty()) {
      run_tuning(std::vector<std::string>(argv, argv + argc), o, p, features, log, std::cout);
      return 0;
    }

    std::vector<model_summary> models;
    for (const auto& name : o.models) {
      model_summary s;
      s.model = name;
      for (int k = 0; k < o.seeds; ++k) {
        const std::uint64_t seed = o.seed + static_cast<std::uint64_t>(k);
        log << "== " << name << " (seed " << seed << ")\n";
        s.runs.push_back(run_model(name, o, p, features, seed, log));
        evaluate_run(o, p, s.runs.back(), s);
        if (k > 0) s.runs.back().lists = gatrec::ranked_lists();  // only the first seed's lists are written
      }
      models.push_back(std::move(s));
    }

    print_summary(std::cout, o, p, models);
    if (!o.json.empty()) {
      write_json(o, p, models);
      log << "wrote " << o.json << "\n";
    }
    if (!o.recommendations.empty()) {
      for (const auto& m : models) {
        const auto path = per_model_path(o.recommendations, m.model, models.size() > 1);
        gatrec::write_recommendations_csv(path, m.runs.front().lists, p.data.users, p.data.items);
        log << "wrote " << path.string() << "\n";
      }
    }
    if (!o.history.empty()) {
      write_history(o, models);
      log << "wrote " << o.history << "\n";
    }
  } catch (const usage_error& e) {
    std::cerr << "gatrec-movielens: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gatrec-movielens: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
