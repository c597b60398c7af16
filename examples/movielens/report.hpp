#pragma once

// Evaluation of model runs under both protocols, the printed tables, and the JSON / CSV outputs.

#include <gatrec/core/json_writer.hpp>
#include <gatrec/eval/full_ranking.hpp>
#include <gatrec/eval/metric_table.hpp>
#include <gatrec/eval/paper_protocol.hpp>
#include <gatrec/eval/recommendation_io.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "data_setup.hpp"
#include "options.hpp"
#include "run_model.hpp"

namespace movielens {

/// A model's results over its seeds.
struct model_summary {
  std::string model;
  std::vector<model_run> runs;
  std::vector<gatrec::metric_table> paper, full;  // one per run (paper empty for implicit data)
  std::vector<gatrec::metric_table> cold_start;   // the paper protocol on users with < 10 training ratings
};

inline void evaluate_run(const options& o, const prepared_data& p, const model_run& run, model_summary& s) {
  if (p.explicit_ratings && o.protocol != "full") {
    gatrec::rated_only_options ro;
    ro.ks = o.ks;
    ro.relevance_threshold = o.like_threshold;
    s.paper.push_back(gatrec::evaluate_rated_only(run.lists, p.test, ro));
    const auto cold = gatrec::cold_start_users(p.train, p.data.num_users(), 10);
    if (!cold.empty()) s.cold_start.push_back(gatrec::evaluate_rated_only(run.lists, p.test, cold, ro));
  }
  if (o.protocol != "paper") {
    gatrec::full_ranking_options fo;
    fo.ks = o.ks;
    fo.relevance_threshold = p.explicit_ratings ? std::optional<float>(o.like_threshold) : std::nullopt;
    const gatrec::user_item_sets train_items(p.data.num_users(), p.data.num_items(), p.train);
    s.full.push_back(gatrec::evaluate_full_ranking(run.lists, p.test, train_items, fo));
  }
}

/// Mean and (sample) standard deviation of one metric over runs.
/// The largest device-buffer peak over a model's runs (0 without --device cuda).
inline std::size_t device_peak_bytes(const model_summary& m) {
  std::size_t peak = 0;
  for (const auto& r : m.runs) peak = std::max(peak, r.device_peak_bytes);
  return peak;
}

struct mean_std {
  double mean = 0, std = 0;
};

inline mean_std aggregate(const std::vector<gatrec::metric_table>& tables, const std::string& name) {
  mean_std r;
  if (tables.empty()) return r;
  for (const auto& t : tables) r.mean += t.at(name);
  r.mean /= static_cast<double>(tables.size());
  if (tables.size() > 1) {
    double sq = 0;
    for (const auto& t : tables) sq += (t.at(name) - r.mean) * (t.at(name) - r.mean);
    r.std = std::sqrt(sq / static_cast<double>(tables.size() - 1));
  }
  return r;
}

inline std::string cell(const mean_std& v, bool with_std) {
  char buf[48];
  if (with_std)
    std::snprintf(buf, sizeof buf, "%.4f±%.4f", v.mean, v.std);
  else
    std::snprintf(buf, sizeof buf, "%.4f", v.mean);
  return buf;
}

enum class table_kind { paper, cold_start, full };

inline const std::vector<gatrec::metric_table>& tables_of(const model_summary& m, table_kind kind) {
  return kind == table_kind::paper ? m.paper : kind == table_kind::cold_start ? m.cold_start : m.full;
}

inline void print_table(std::ostream& out, const std::string& title, const std::vector<model_summary>& models,
                        const std::vector<std::string>& metrics, const std::vector<int>& ks, table_kind kind) {
  bool any = false;
  for (const auto& m : models) any = any || !tables_of(m, kind).empty();
  if (!any) return;
  const bool with_std = models.front().runs.size() > 1;
  const int width = with_std ? 16 : 9;
  out << "\n" << title << "\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-10s", "model");
  out << buf;
  for (int k : ks)
    for (const auto& name : metrics) {
      std::snprintf(buf, sizeof buf, " %*s", width, gatrec::metric_name(name, k).c_str());
      out << buf;
    }
  out << "\n";
  for (const auto& m : models) {
    const auto& tables = tables_of(m, kind);
    if (tables.empty()) continue;
    std::snprintf(buf, sizeof buf, "%-10s", m.model.c_str());
    out << buf;
    for (int k : ks)
      for (const auto& name : metrics) {
        std::snprintf(buf, sizeof buf, " %*s", width, cell(aggregate(tables, gatrec::metric_name(name, k)), with_std).c_str());
        out << buf;
      }
    out << "\n";
  }
}

inline void print_summary(std::ostream& out, const options& o, const prepared_data& p,
                          const std::vector<model_summary>& models) {
  const std::string seeds = std::to_string(models.front().runs.size()) + (models.front().runs.size() > 1 ? " seeds (mean±std)" : " seed");
  print_table(out, p.description + " — paper protocol (rated-only, PAPER.md), " + seeds, models,
              {"precision", "recall", "ndcg", "map"}, o.ks, table_kind::paper);
  if (!models.front().cold_start.empty())
    print_table(out, p.description + " — paper protocol, cold-start users (< 10 training ratings: " +
                         std::to_string(models.front().cold_start.front().num_users) + " with test ratings)",
                models, {"precision", "recall", "ndcg", "map"}, o.ks, table_kind::cold_start);
  print_table(out, p.description + " — full ranking (all unrated items are candidates), " + seeds, models,
              {"recall", "ndcg", "precision", "map", "hit", "mrr"}, o.ks, table_kind::full);
  out << "\n";
  char buf[160];
  for (const auto& m : models) {
    double seconds = 0, epochs = 0;
    for (const auto& r : m.runs) {
      seconds += r.train_seconds;
      epochs += r.epochs;
    }
    const double n = static_cast<double>(m.runs.size());
    std::snprintf(buf, sizeof buf, "%-10s train %.1fs per seed, %.0f epochs (best %d), full-ranking coverage@%d %.4f\n",
                  m.model.c_str(), seconds / n, epochs / n, m.runs.front().best_epoch, o.ks.back(),
                  m.full.empty() ? 0.0 : aggregate(m.full, gatrec::metric_name("coverage", o.ks.back())).mean);
    out << buf;
    if (const std::size_t peak = device_peak_bytes(m); peak > 0) {
      std::snprintf(buf, sizeof buf, "%-10s device buffers: peak %.1f MiB (gatrec's own; library workspaces apart)\n",
                    m.model.c_str(), static_cast<double>(peak) / (1 << 20));
      out << buf;
    }
  }
}

inline std::string metrics_json(const std::vector<gatrec::metric_table>& tables, bool std_dev) {
  gatrec::json_object obj;
  if (tables.empty()) return obj.str();
  for (const auto& e : tables.front().entries()) {
    const auto v = aggregate(tables, e.name);
    obj.add(e.name, std_dev ? v.std : v.mean);
  }
  return obj.str();
}

inline std::string summary_json(const options& o, const prepared_data& p, const model_summary& m) {
  gatrec::json_object protocol, deviation;
  if (!m.paper.empty()) {
    protocol.add_raw("paper", metrics_json(m.paper, false));
    deviation.add_raw("paper", metrics_json(m.paper, true));
  }
  if (!m.cold_start.empty()) {
    protocol.add_raw("paper_cold_start", metrics_json(m.cold_start, false));
    deviation.add_raw("paper_cold_start", metrics_json(m.cold_start, true));
  }
  if (!m.full.empty()) {
    protocol.add_raw("full", metrics_json(m.full, false));
    deviation.add_raw("full", metrics_json(m.full, true));
  }
  double seconds = 0, epochs = 0, best_epoch = 0, best_validation = 0;
  for (const auto& r : m.runs) {
    seconds += r.train_seconds;
    epochs += r.epochs;
    best_epoch += r.best_epoch;
    best_validation += r.best_validation;  // NaN for models without validation: written as null
  }
  const double n = static_cast<double>(m.runs.size());
  gatrec::json_object obj;
  obj.add("dataset", o.dataset)
      .add("split", p.description)
      .add("model", m.model)
      .add_raw("protocol", protocol.str())
      .add("train_seconds", seconds / n)
      .add("epochs", epochs / n)
      .add("best_epoch", best_epoch / n)
      .add("seeds", static_cast<std::int64_t>(m.runs.size()))
      .add("first_seed", static_cast<std::int64_t>(m.runs.front().seed))
      .add_raw("std", deviation.str())
      .add("command", o.command_line);
  if (std::isfinite(best_validation))
    obj.add("best_validation", best_validation / n);
  else
    obj.add_raw("best_validation", "null");
  if (const std::size_t peak = device_peak_bytes(m); peak > 0)
    obj.add("device_peak_mib", static_cast<double>(peak) / (1 << 20));
  return obj.str();
}

inline void write_json(const options& o, const prepared_data& p, const std::vector<model_summary>& models) {
  std::ofstream out(o.json);
  if (!out) throw gatrec::io_error("cannot write " + o.json);
  if (models.size() == 1) {
    out << summary_json(o, p, models.front()) << "\n";
  } else {
    out << "[\n";
    for (std::size_t k = 0; k < models.size(); ++k) out << "  " << summary_json(o, p, models[k]) << (k + 1 < models.size() ? ",\n" : "\n");
    out << "]\n";
  }
  if (!out) throw gatrec::io_error("error writing " + o.json);
}

/// The path for one model's output when several models share one --flag PATH.
inline std::filesystem::path per_model_path(const std::string& path, const std::string& model, bool several) {
  if (!several) return path;
  std::filesystem::path p = path;
  return p.parent_path() / (p.stem().string() + "_" + model + p.extension().string());
}

inline void write_history(const options& o, const std::vector<model_summary>& models) {
  std::ofstream out(o.history);
  if (!out) throw gatrec::io_error("cannot write " + o.history);
  out << "model,seed,epoch,loss,ranking,cosine,validation,lr,seconds\n";
  for (const auto& m : models)
    for (const auto& r : m.runs)
      for (const auto& e : r.history) {
        out << m.model << ',' << r.seed << ',' << e.epoch << ',' << e.loss << ',' << e.ranking << ',' << e.cosine << ',';
        if (!std::isnan(e.validation)) out << e.validation;
        out << ',' << e.lr << ',' << e.seconds << '\n';
      }
}

}  // namespace movielens
