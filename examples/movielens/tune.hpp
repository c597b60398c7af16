#pragma once

// --tune: a grid search over command-line options, scored on the validation part only.
//
// `--tune "lr=1e-3,3e-3;negatives=1,4"` runs every combination (here 4) as if its flags had been
// given on the command line (`--lr 1e-3 --negatives 4` ...). Each run is fitted on the fit part and
// evaluated on the validation part, under both protocols; the test part is never looked at. Every
// model is tuned the same way, so comparisons stay fair. Settings that only change a score
// ensemble's ranking prior (under --prior-in-loss 0 --select-on model) reuse one training per seed,
// also across processes with --tune-cache DIR (training_cache.hpp).

#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "options.hpp"
#include "report.hpp"
#include "run_model.hpp"
#include "training_cache.hpp"

namespace movielens {

/// One axis of the grid: a flag name (without "--") and its values.
struct grid_axis {
  std::string flag;
  std::vector<std::string> values;
};

/// Parses "name=v1,v2;name2=v3". @throw usage_error on malformed text.
inline std::vector<grid_axis> parse_grid(const std::string& spec) {
  std::vector<grid_axis> axes;
  std::string part;
  auto flush = [&] {
    if (part.empty()) return;
    const auto eq = part.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == part.size())
      throw usage_error("--tune expects name=v1,v2;name2=v3 ..., got '" + part + "'");
    axes.push_back({part.substr(0, eq), detail::split_list(part.substr(eq + 1))});
    part.clear();
  };
  for (char c : spec) {
    if (c == ';')
      flush();
    else if (c != ' ')
      part += c;
  }
  flush();
  if (axes.empty()) throw usage_error("--tune needs at least one name=values axis");
  return axes;
}

/// Every combination, as extra command-line arguments.
inline std::vector<std::vector<std::string>> grid_combinations(const std::vector<grid_axis>& axes) {
  std::vector<std::vector<std::string>> out{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& prefix : out)
      for (const auto& v : axis.values) {
        auto c = prefix;
        c.push_back("--" + axis.flag);
        c.push_back(v);
        next.push_back(std::move(c));
      }
    out = std::move(next);
  }
  return out;
}

inline std::string describe(const std::vector<std::string>& args) {
  std::string s;
  for (std::size_t k = 0; k + 1 < args.size(); k += 2) s += (s.empty() ? "" : " ") + args[k].substr(2) + "=" + args[k + 1];
  return s;
}

/// Runs the grid; writes one CSV row per (model, combination, seed) and prints the best setting of
/// each model by `metric` (a name like "paper:ndcg@10" or "ndcg@20").
inline void run_tuning(const std::vector<std::string>& base_args, const options& base, const prepared_data& full,
                       const gatrec::matrix<float>& features, std::ostream& log, std::ostream& out) {
  GATREC_EXPECTS(!full.validation.empty(), "--tune needs a validation part (--validation-fraction > 0)");
  // The validation part plays the test part: fit on `fit`, rank with `fit` masked, score on validation.
  prepared_data p = full;
  p.train = full.fit;
  p.test = full.validation;
  p.description = full.description + ", validation part";

  const auto combos = grid_combinations(parse_grid(base.tune));
  const std::string tune_metric = base.tune_metric.empty() ? base.validation_metric : base.tune_metric;
  const bool paper_metric = tune_metric.rfind("paper:", 0) == 0;
  const std::string metric = paper_metric ? tune_metric.substr(6) : tune_metric;
  std::ofstream csv(base.tune_csv);
  if (!csv) throw gatrec::io_error("cannot write " + base.tune_csv);
  bool header = false;
  trained_models trained(base.tune_cache);
  const std::string data_key = p.description + " split_seed=" + std::to_string(split_seed_of(base)) +
                               " fit=" + std::to_string(p.train.size()) + " validation=" + std::to_string(p.test.size());
  // base_args starts with the program's name, which says nothing about training.
  auto training_args = [](const std::vector<std::string>& args) {
    return std::vector<std::string>(args.begin() + (args.empty() ? 0 : 1), args.end());
  };
  for (const auto& model : base.models) {
    double best = -1;
    std::string best_setting;
    for (const auto& combo : combos) {
      std::vector<std::string> args = base_args;
      args.insert(args.end(), combo.begin(), combo.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      options o = parse_options(static_cast<int>(argv.size()), argv.data());
      o.quiet = true;
      o.save_model.clear();  // tuning runs are not kept; the chosen setting is rerun on the test part
      o.save_embeddings.clear();
      model_summary s;
      s.model = model;
      for (int k = 0; k < o.seeds; ++k) {
        const std::uint64_t seed = o.seed + static_cast<std::uint64_t>(k);
        // Only a training the prior does not shape can serve another setting; nothing else is kept.
        const bool reusable = o.select_on_model && !o.prior_in_loss;
        const trained_slot slot =
            reusable ? trained_slot{&trained, training_key(data_key, model, seed, training_args(args))} : trained_slot{};
        s.runs.push_back(run_model(model, o, p, features, seed, log, slot));
        evaluate_run(o, p, s.runs.back(), s);
        const auto& tables = s.full;
        if (!header) {
          csv << "model,setting,seed,train_seconds,epochs";
          for (const auto& t : s.paper)
            for (const auto& e : t.entries()) csv << ",paper:" << e.name;
          for (const auto& e : tables.back().entries()) csv << "," << e.name;
          csv << "\n";
          header = true;
        }
        csv << model << ",\"" << describe(combo) << "\"," << seed << "," << s.runs.back().train_seconds << ","
            << s.runs.back().epochs;
        if (!s.paper.empty())
          for (const auto& e : s.paper.back().entries()) csv << "," << e.value;
        for (const auto& e : tables.back().entries()) csv << "," << e.value;
        csv << "\n" << std::flush;
      }
      const double value = aggregate(paper_metric ? s.paper : s.full, metric).mean;
      log << "tune " << model << " [" << describe(combo) << "] validation " << tune_metric << " = " << value << "\n";
      if (value > best) {
        best = value;
        best_setting = describe(combo);
      }
    }
    out << "best " << model << ": " << best_setting << "  (validation " << tune_metric << " " << best << ")\n";
  }
  log << "wrote " << base.tune_csv << "\n";
}

}  // namespace movielens
