#pragma once

/// @file
/// @brief Full-batch training of an embedding_recommender with the hybrid loss, AdamW, a plateau
/// schedule and early stopping on a validation metric; one progress line per epoch. A model that
/// offers a device training run (train/device_training.hpp) runs each step on its device.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/eval/full_ranking.hpp"
#include "gatrec/eval/paper_protocol.hpp"
#include "gatrec/eval/top_k.hpp"
#include "gatrec/eval/user_item_sets.hpp"
#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/models/score_prior.hpp"
#include "gatrec/train/adamw.hpp"
#include "gatrec/train/hybrid_loss.hpp"
#include "gatrec/train/negative_sampler.hpp"
#include "gatrec/train/reduce_on_plateau.hpp"
#include "gatrec/train/softmax_loss.hpp"

namespace gatrec {

/// The ranking term of the loss.
enum class ranking_loss {
  bpr,      ///< PAPER.md: -log sigmoid(s_ui - s_uj) over sampled negatives (hybrid_loss)
  softmax,  ///< full softmax over the catalogue for every liked item (softmax_loss)
};

/// Everything the training loop can be told.
struct trainer_options {
  int max_epochs = 300;
  ranking_loss ranking = ranking_loss::bpr;
  hybrid_loss_options loss;         ///< BPR and cosine weights (the cosine term applies to both rankings)
  softmax_loss_options softmax;     ///< with ranking_loss::softmax
  sampler_options sampler;
  adamw_options optimizer;
  plateau_options plateau;          ///< on the validation metric (maximised), or on the loss without validation
  int patience = 15;                ///< early stopping: evaluations without a new best validation value
  /// Epochs before the schedule and early stopping look at the validation metric. Early in
  /// training the embeddings rank by popularity, which scores well on validation, then dip before
  /// they personalise; reacting to that dip stops training at a popularity ranker.
  int warmup_epochs = 30;
  int eval_every = 1;               ///< epochs between validation evaluations
  /// A full-ranking metric name (recall@K, ndcg@K, ...), or "paper:" and a rated-only protocol
  /// metric (paper:precision@K, paper:ndcg@K, ...) evaluated on the validation ratings.
  std::string validation_metric = "ndcg@20";
  std::optional<float> relevance_threshold = 4.0f;  ///< validation items that count as relevant; nullopt: all
  double clip_norm = 0.0;           ///< global gradient-norm clipping; 0 disables it
  std::uint64_t seed = 42;          ///< negative sampling and dropout
  bool restore_best = true;         ///< end with the parameters of the best validation epoch
  /// Fixed scores added to the model's dot products in the loss and in validation ranking
  /// (not owned; nullptr: none).
  const score_prior* prior = nullptr;
  /// Whether the prior enters the loss (the model learns a residual) or only the ranking
  /// (validation and final scores: a score-level ensemble of an independently trained model).
  bool prior_in_loss = true;
  /// With prior_in_loss false: the schedule, early stopping and the best epoch follow the model's
  /// own validation metric (its dot products alone), not the ensemble's. A strong prior lifts the
  /// ensemble's metric from the first epoch, so the model's early dip reads as a plateau there and
  /// ends training before the model has learnt anything; the final ranking still adds the prior.
  bool select_on_model_alone = false;
  /// Replays a learning-rate trajectory (one value per epoch) instead of scheduling: trains exactly
  /// lr_schedule.size() epochs with no validation. Used to refit on all training data for the epoch
  /// count and schedule that validation chose.
  std::vector<double> lr_schedule;
};

/// One line of the training history.
struct epoch_record {
  int epoch = 0;
  double loss = 0, ranking = 0, cosine = 0;  ///< total, ranking term (BPR or softmax), cosine term
  double validation = std::nan("");  ///< NaN when not evaluated this epoch
  double lr = 0;
  double seconds = 0;                ///< wall time since training started
};

/// What train() returns.
struct training_result {
  int epochs_run = 0;
  int best_epoch = 0;
  double best_validation = std::nan("");
  double seconds = 0;
  bool stopped_early = false;
  std::vector<epoch_record> history;
};

namespace detail {

inline std::string format_duration(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  return buf;
}

}  // namespace detail

/// Splits node embeddings (users first) into float user and item matrices for scoring.
template <class Scalar>
void split_embeddings(const matrix<Scalar>& h, index_t num_users, matrix<float>& users, matrix<float>& items) {
  users = h.topRows(num_users).template cast<float>();
  items = h.bottomRows(h.rows() - num_users).template cast<float>();
}

/// Evaluates embeddings under full ranking (training items masked).
template <class Scalar>
metric_table evaluate_embeddings(const matrix<Scalar>& h, index_t num_users, const user_item_sets& train_items,
                                 const rating_table& test, const full_ranking_options& opt) {
  matrix<float> users, items;
  split_embeddings(h, num_users, users, items);
  const int k = *std::max_element(opt.ks.begin(), opt.ks.end());
  const ranked_lists lists = top_k(users, items, k, train_items);
  return evaluate_full_ranking(lists, test, train_items, opt);
}

/// A validation metric: which protocol, which metric name, which cut-off.
struct validation_metric {
  bool rated_only = false;  ///< the paper's protocol instead of full ranking
  std::string name;         ///< e.g. "ndcg@20"
  int k = 0;

  /// Parses "ndcg@20" or "paper:ndcg@10". @throw logic_error on anything else
  static validation_metric parse(const std::string& spec) {
    validation_metric m;
    std::string rest = spec;
    if (rest.rfind("paper:", 0) == 0) {
      m.rated_only = true;
      rest = rest.substr(6);
    }
    const auto at = rest.find('@');
    GATREC_EXPECTS(at != std::string::npos && at > 0 && at + 1 < rest.size(),
                   "validation metric must look like 'ndcg@20' or 'paper:ndcg@10', got '" + spec + "'");
    m.name = rest;
    try {
      m.k = std::stoi(rest.substr(at + 1));
    } catch (const std::exception&) {
      m.k = 0;
    }
    GATREC_EXPECTS(m.k > 0, "validation metric cut-off must be a positive integer: '" + spec + "'");
    return m;
  }
};

/// Each user's top k by <h_u, h_i> (+ prior), training items masked.
template <class Scalar>
ranked_lists rank_embeddings(const matrix<Scalar>& h, index_t num_users, const user_item_sets& train_items, int k,
                             const score_prior* prior = nullptr) {
  matrix<float> users, items;
  split_embeddings(h, num_users, users, items);
  if (prior == nullptr) return top_k(users, items, k, train_items);
  return top_k(prior_plus_dot_scorer(users, items, *prior), k, train_items);
}

/// Value of `metric` for ranked lists on `validation` (lists of width at least metric.k).
inline double validation_value(const ranked_lists& lists, const user_item_sets& train_items,
                               const rating_table& validation, const validation_metric& metric,
                               std::optional<float> relevance_threshold) {
  if (metric.rated_only) {
    rated_only_options ro;
    ro.ks = {metric.k};
    ro.relevance_threshold = relevance_threshold.value_or(1.0f);
    return evaluate_rated_only(lists, validation, ro).at(metric.name);
  }
  full_ranking_options fo;
  fo.ks = {metric.k};
  fo.relevance_threshold = relevance_threshold;
  return evaluate_full_ranking(lists, validation, train_items, fo).at(metric.name);
}

/// Value of `metric` for embeddings h on `validation` (training items masked).
template <class Scalar>
double validation_value(const matrix<Scalar>& h, index_t num_users, const user_item_sets& train_items,
                        const rating_table& validation, const validation_metric& metric,
                        std::optional<float> relevance_threshold, const score_prior* prior = nullptr) {
  return validation_value(rank_embeddings(h, num_users, train_items, metric.k, prior), train_items, validation, metric,
                          relevance_threshold);
}

/// Trains `model` on `train`; early-stops on `validation` (full ranking, training items masked).
/// With an empty validation table it trains for max_epochs and schedules on the training loss.
/// @param log progress lines go here (nullptr: silent)
template <class Scalar>
training_result train(embedding_recommender<Scalar>& model, const rating_table& train, const rating_table& validation,
                      const trainer_options& opt, std::ostream* log = nullptr) {
  GATREC_EXPECTS(opt.max_epochs >= 1, "max_epochs must be at least 1");
  GATREC_EXPECTS(opt.eval_every >= 1, "eval_every must be at least 1");
  const index_t nu = model.num_users(), ni = model.num_items();
  const bool replay = !opt.lr_schedule.empty();
  const bool validate = !validation.empty() && !replay;
  const int max_epochs = replay ? static_cast<int>(opt.lr_schedule.size()) : opt.max_epochs;
  if (opt.prior != nullptr)
    GATREC_EXPECTS(opt.prior->num_users() == nu && opt.prior->num_items() == ni, "prior shape differs from the model's");
  sampler_options sopt = opt.sampler;
  sopt.seed = mix64(opt.seed ^ 0x5A3Bull);
  const negative_sampler sampler(train, nu, ni, sopt);
  GATREC_EXPECTS(sampler.num_positives() > 0, "the training ratings contain no positive (liked) pair");
  const user_item_sets train_items(nu, ni, train);
  const validation_metric metric = validation_metric::parse(opt.validation_metric);
  GATREC_EXPECTS(!(opt.select_on_model_alone && opt.prior_in_loss && opt.prior != nullptr),
                 "select_on_model_alone needs prior_in_loss false: a model trained on a prior's residual "
                 "has no ranking of its own");
  const score_prior* validation_prior = opt.select_on_model_alone ? nullptr : opt.prior;

  parameter_list<Scalar> params = model.parameters();
  adamw<Scalar> optimizer(params, opt.optimizer);
  plateau_options popt = opt.plateau;
  popt.maximize = validate;
  reduce_on_plateau schedule(popt);
  early_stopping stopper(validate ? opt.patience : 0, true);
  std::vector<matrix<Scalar>> best;  // the best epoch's parameters (host steps; a device run keeps its own)
  bool have_best = false;

  // The model may keep the whole step on its device (when no prior enters the loss). Its
  // parameters then reach the host only at the end; best-epoch snapshots stay on the device.
  std::unique_ptr<device_training> on_device;
  if (opt.prior == nullptr || !opt.prior_in_loss) {
    device_training_options dopt;
    dopt.loss = opt.loss;
    dopt.optimizer = opt.optimizer;
    dopt.clip_norm = opt.clip_norm;
    dopt.softmax_ranking = opt.ranking == ranking_loss::softmax;
    dopt.softmax = opt.softmax;
    dopt.rated = &train_items;
    dopt.sampler = &sampler;
    on_device = model.start_device_training(dopt);
  }

  training_triples triples;
  matrix<Scalar> grad;
  training_result result;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  auto diverged = [](int epoch, const loss_value& l) {
    return error("training diverged at epoch " + std::to_string(epoch) + ": loss is " + std::to_string(l.total));
  };
  // One step on the host: forward, loss, backward, clipping, AdamW.
  auto host_step = [&](int epoch, const run_mode& mode) {
    zero_grad(params);
    const matrix<Scalar>& h = model.forward(mode);
    const score_prior* loss_prior = opt.prior_in_loss ? opt.prior : nullptr;
    loss_value l;
    if (opt.ranking == ranking_loss::bpr) {
      l = hybrid_loss(h, nu, triples, sopt.negatives_per_positive, opt.loss, grad, loss_prior);
    } else {
      l = hybrid_loss(h, nu, triples, sopt.negatives_per_positive, {0.0, opt.loss.cosine_weight}, grad);
      l.bpr = softmax_loss(h, nu, sampler.positive_offsets(), sampler.positives(), opt.softmax, grad, loss_prior,
                           &train_items);
      l.total = l.bpr + opt.loss.cosine_weight * l.cosine;
    }
    if (!std::isfinite(l.total)) throw diverged(epoch, l);
    model.backward(grad);
    if (opt.clip_norm > 0.0) clip_gradient_norm(params, opt.clip_norm);
    optimizer.step();
    return l;
  };

  for (int epoch = 1; epoch <= max_epochs; ++epoch) {
    if (replay) optimizer.set_lr(opt.lr_schedule[static_cast<std::size_t>(epoch - 1)]);
    const run_mode training_mode{true, opt.seed, static_cast<std::uint64_t>(epoch)};
    if (!on_device) sampler.sample(static_cast<std::uint64_t>(epoch), triples);  // a device run draws its own
    const loss_value l = on_device ? on_device->step(static_cast<std::uint64_t>(epoch), training_mode, optimizer.lr())
                                   : host_step(epoch, training_mode);
    if (!std::isfinite(l.total)) throw diverged(epoch, l);

    epoch_record rec;
    rec.epoch = epoch;
    rec.loss = l.total;
    rec.ranking = l.bpr;
    rec.cosine = l.cosine;
    rec.lr = optimizer.lr();
    bool is_best = false;
    if (validate && (epoch % opt.eval_every == 0 || epoch == max_epochs)) {
      // Without a prior the model ranks its own embeddings (on its device, for a GPU model).
      const ranked_lists lists =
          validation_prior != nullptr
              ? rank_embeddings(model.forward(run_mode{}), nu, train_items, metric.k, validation_prior)
              : model.rank_current(metric.k, train_items);
      rec.validation = validation_value(lists, train_items, validation, metric, opt.relevance_threshold);
      if (epoch > opt.warmup_epochs || epoch == max_epochs) {
        optimizer.set_lr(schedule.update(rec.validation, optimizer.lr()));
        is_best = stopper.update(rec.validation);
      }
      if (is_best) {
        result.best_epoch = epoch;
        result.best_validation = rec.validation;
        if (opt.restore_best) {
          if (on_device) {
            on_device->snapshot_parameters();  // stays on the device until the end
          } else {
            best.resize(params.size());
            for (std::size_t k = 0; k < params.size(); ++k) best[k] = params[k]->value;
          }
          have_best = true;
        }
      }
    } else if (!validate) {
      if (!replay && epoch > opt.warmup_epochs) optimizer.set_lr(schedule.update(l.total, optimizer.lr()));
      result.best_epoch = epoch;
    }
    rec.seconds = elapsed();
    result.history.push_back(rec);
    result.epochs_run = epoch;

    if (log != nullptr) {
      const double per_epoch = rec.seconds / epoch;
      char line[256];
      std::snprintf(line, sizeof line, "epoch %3d/%d  loss %.4f (%s %.4f, cos %.4f)", epoch, max_epochs, l.total,
                    opt.ranking == ranking_loss::bpr ? "bpr" : "softmax",
                    l.bpr, l.cosine);
      std::string s = line;
      if (!std::isnan(rec.validation)) {
        std::snprintf(line, sizeof line, "  val %s %.4f%s", opt.validation_metric.c_str(), rec.validation,
                      is_best ? " *" : "  ");
        s += line;
      }
      std::snprintf(line, sizeof line, "  lr %.2e  %s  ETA <= %s", rec.lr, detail::format_duration(rec.seconds).c_str(),
                    detail::format_duration(per_epoch * (max_epochs - epoch)).c_str());
      *log << s << line << '\n' << std::flush;
    }
    if (validate && stopper.should_stop()) {
      result.stopped_early = true;
      if (log != nullptr)
        *log << "early stop: no better " << opt.validation_metric << " for " << opt.patience
             << " evaluations; best epoch " << result.best_epoch << '\n';
      break;
    }
  }
  const bool restore = validate && opt.restore_best && have_best;
  if (on_device) {
    if (restore)
      on_device->pull_snapshot();
    else
      on_device->pull_parameters();
    on_device->finish();
  } else if (restore) {
    for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = best[k];
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace gatrec
