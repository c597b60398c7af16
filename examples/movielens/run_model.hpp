#pragma once

// Builds, trains (or loads) one model, and turns it into ranked lists.

#include <gatrec/baselines/ease.hpp>
#include <gatrec/baselines/ease_prior.hpp>
#include <gatrec/baselines/item_knn.hpp>
#include <gatrec/baselines/lightgcn.hpp>
#include <gatrec/baselines/matrix_factorization.hpp>
#include <gatrec/baselines/most_popular.hpp>
#include <gatrec/embeddings/npy.hpp>
#include <gatrec/embeddings/npy_provider.hpp>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/eval/user_item_sets.hpp>
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/models/score_prior.hpp>
#include <gatrec/models/weighted_sum_scorer.hpp>
#include <gatrec/train/checkpoint.hpp>
#include <gatrec/train/trainer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "data_setup.hpp"
#include "device_backend.hpp"
#include "model_run.hpp"
#include "options.hpp"
#include "training_cache.hpp"

namespace movielens {

inline gatrec::trainer_options trainer_options_for(const options& o, const std::string& model, std::uint64_t seed,
                                                   bool explicit_ratings) {
  const bool gat = model == "gat" || model == "gatv2";
  gatrec::trainer_options t;
  t.max_epochs = o.epochs;
  t.patience = o.patience;
  t.plateau.patience = o.plateau_patience;
  t.warmup_epochs = o.warmup;
  t.eval_every = o.eval_every;
  t.validation_metric = o.validation_metric;
  t.relevance_threshold = explicit_ratings ? std::optional<float>(o.like_threshold) : std::nullopt;
  t.seed = seed;
  t.clip_norm = o.clip;
  t.optimizer.lr = o.lr > 0 ? o.lr : (gat ? 1e-3 : 1e-2);
  t.optimizer.weight_decay = o.weight_decay;
  t.loss.bpr_weight = o.bpr_weight >= 0 ? o.bpr_weight : (gat ? 5.0 : 1.0);
  t.loss.cosine_weight = o.cos_weight >= 0 ? o.cos_weight : (gat ? 2.0 : 0.0);
  t.ranking = o.loss == "softmax" ? gatrec::ranking_loss::softmax : gatrec::ranking_loss::bpr;
  t.softmax.weight = o.bpr_weight >= 0 ? o.bpr_weight : 1.0;
  t.softmax.temperature = o.temperature;
  t.softmax.rated_weight = o.rated_weight;
  t.sampler.like_threshold = explicit_ratings ? o.like_threshold : 0.0f;
  t.sampler.dislike_threshold = explicit_ratings ? 2.0f : -1.0f;
  t.sampler.negatives_per_positive = o.negatives;
  t.sampler.dislike_fraction = o.dislike_fraction;
  return t;
}

inline gatrec::gat_recommender_options gat_options_for(const options& o, const std::string& model, int in_dim,
                                                       std::uint64_t seed) {
  gatrec::gat_recommender_options g;
  g.encoder.form = model == "gat" ? gatrec::attention_form::gat : gatrec::attention_form::gatv2;
  g.encoder.in_dim = in_dim;
  g.encoder.layers.clear();
  for (std::size_t l = 0; l < o.heads.size(); ++l) g.encoder.layers.push_back({o.heads[l], o.head_dim, true});
  g.encoder.edge_dim = o.edge_features ? 1 : 0;
  g.encoder.dropout = o.dropout;
  g.encoder.seed = seed;
  g.trainable_features = !o.freeze_features;
  g.self_loops = o.self_loops;
  g.random_init_std = o.init_std;
  g.normalize_output = o.cosine_scores;
  return g;
}

/// EASE on the given training ratings (liked-only X for explicit ratings), times `weight`, plus
/// --rating-ease-weight times EASE on centered ratings when that is set.
inline std::unique_ptr<gatrec::scorer> make_ease(const options& o, const prepared_data& p,
                                                 const gatrec::rating_table& train, double weight) {
  const gatrec::index_t nu = p.data.num_users(), ni = p.data.num_items();
  gatrec::ease_options liked;
  liked.lambda = o.ease_lambda;
  liked.min_rating = p.explicit_ratings ? std::optional<float>(o.like_threshold) : std::nullopt;
  auto sum = std::make_unique<gatrec::weighted_sum_scorer>();
  sum->add(std::make_unique<gatrec::ease_scorer>(nu, ni, train, liked), weight);
  if (o.rating_ease_weight != 0) {
    gatrec::ease_options rated;
    rated.lambda = o.rating_ease_lambda > 0 ? o.rating_ease_lambda : o.ease_lambda;
    rated.min_rating = std::nullopt;
    rated.centering = gatrec::rating_centering{o.rating_center};
    sum->add(std::make_unique<gatrec::ease_scorer>(nu, ni, train, rated), o.rating_ease_weight);
  }
  return sum;
}

/// The EASE prior for the given training ratings, or nothing when --prior is not set.
inline std::unique_ptr<gatrec::score_prior> make_prior(const options& o, const prepared_data& p,
                                                       const gatrec::rating_table& train) {
  if (o.prior.empty()) return nullptr;
  if (o.rating_ease_weight != 0)  // weights inside the scorer (--prior-folds is refused with it)
    return std::make_unique<gatrec::score_prior>(*make_ease(o, p, train, o.prior_weight), 1.0);
  gatrec::ease_options e;
  e.lambda = o.ease_lambda;
  e.min_rating = p.explicit_ratings ? std::optional<float>(o.like_threshold) : std::nullopt;
  return gatrec::make_ease_prior(p.data.num_users(), p.data.num_items(), train, e, o.prior_weight, o.prior_folds);
}

/// Writes the users' and the items' rows of h as .npy files with their raw ids (--save-embeddings).
inline void save_embeddings(const options& o, const prepared_data& p, const std::string& model, std::uint64_t seed,
                            const gatrec::matrix<float>& h, gatrec::index_t num_users, std::ostream& log) {
  std::string prefix = o.save_embeddings;
  if (o.models.size() > 1) prefix += "_" + model;
  if (o.seeds > 1) prefix += "_seed" + std::to_string(seed);
  const gatrec::index_t num_items = static_cast<gatrec::index_t>(h.rows()) - num_users;
  auto raw_ids = [](const auto& map, gatrec::index_t n) {
    std::vector<std::string> ids;
    for (gatrec::index_t i = 0; i < n; ++i) ids.push_back(std::to_string(map.raw(i)));
    return ids;
  };
  gatrec::write_npy(prefix + "_users.npy", h.topRows(num_users));
  gatrec::write_row_ids(prefix + "_users.ids", raw_ids(p.data.users, num_users));
  gatrec::write_npy(prefix + "_items.npy", h.bottomRows(num_items));
  gatrec::write_row_ids(prefix + "_items.ids", raw_ids(p.data.items, num_items));
  log << "wrote " << prefix << "_{users,items}.{npy,ids}\n";
}

/// The ratings in a model's graph: every training rating after --refit (or without a validation
/// part), the fit part otherwise. A loaded model gets the graph it was trained on, which its
/// checkpoint records ("graph"); checkpoints without that entry are taken as fit-part ones.
inline const gatrec::rating_table& model_graph(const options& o, const prepared_data& p) {
  if (!o.load_model.empty()) {
    const auto meta = gatrec::read_checkpoint_metadata(o.load_model);
    const auto graph = meta.find("graph");
    return graph != meta.end() && graph->second == "train" ? p.train : p.fit;
  }
  return o.refit && !p.validation.empty() ? p.train : p.fit;
}

/// --save-model: the parameters, with the model's description, the data, seed and graph.
template <class Model>
void save_trained_model(const options& o, const prepared_data& p, Model& m, std::uint64_t seed, int best_epoch,
                        std::ostream& log) {
  auto meta = m.describe();
  meta["dataset"] = p.description;
  meta["seed"] = std::to_string(seed);
  meta["best_epoch"] = std::to_string(best_epoch);
  meta["graph"] = &model_graph(o, p) == &p.train || p.fit.size() == p.train.size() ? "train" : "fit";
  gatrec::save_checkpoint(o.save_model, m.parameters(), meta);
  log << "saved " << o.save_model << "\n";
}

/// Trains (or loads, or finds in `slot`) an embedding model and ranks every user's unseen items.
/// @param make builds a fresh model on the ratings it is given (called again for --refit)
template <class Make>
model_run run_embedding_model(Make&& make, const options& o, const prepared_data& p, const std::string& model,
                              std::uint64_t seed, std::ostream& log, const trained_slot& slot = {}) {
  const gatrec::user_item_sets mask(p.data.num_users(), p.data.num_items(), p.train);
  if (slot.store != nullptr) {
    bool from_disk = false;
    if (const auto* found = slot.store->find(slot.key, &from_disk)) {
      log << "reusing the trained " << model << " (seed " << seed << (from_disk ? ", from the tune cache" : "")
          << "): only the ranking prior differs\n";
      model_run r = found->run;
      const auto prior = make_prior(o, p, p.train);
      r.lists = gatrec::rank_embeddings(found->h, found->num_users, mask, o.list_length, prior.get());
      return r;
    }
  }
  model_run r;
  r.model = model;
  r.seed = seed;
  const auto start = std::chrono::steady_clock::now();
  // Training (and its validation) sees the prior of the fit part; a loaded model only ranks.
  const bool trains = o.load_model.empty();
  std::unique_ptr<gatrec::embedding_recommender<float>> m = make(trains ? p.fit : model_graph(o, p));
  std::unique_ptr<gatrec::score_prior> prior = make_prior(o, p, trains ? p.fit : p.train);
  bool prior_on_train = !trains || p.fit.size() == p.train.size();
  gatrec::trainer_options topt = trainer_options_for(o, model, seed, p.explicit_ratings);
  topt.prior = prior.get();
  topt.prior_in_loss = o.prior_in_loss;
  topt.select_on_model_alone = o.select_on_model;
  if (!trains) {
    const auto meta = gatrec::load_checkpoint(o.load_model, m->parameters());
    log << "loaded " << o.load_model << " (model " << meta.at("model") << ")\n";
  } else {
    const auto result = gatrec::train(*m, p.fit, p.validation, topt, o.quiet ? nullptr : &log);
    r.epochs = result.epochs_run;
    r.best_epoch = result.best_epoch;
    r.best_validation = result.best_validation;
    r.history = result.history;
    if (o.refit && !p.validation.empty()) {
      // Same seed, all training ratings, the epoch count and learning rates validation chose.
      log << "refit on all " << p.train.size() << " training ratings for " << result.best_epoch << " epochs\n";
      topt.lr_schedule.clear();
      for (int e = 0; e < result.best_epoch; ++e) topt.lr_schedule.push_back(result.history[static_cast<std::size_t>(e)].lr);
      m = make(p.train);
      prior = make_prior(o, p, p.train);
      topt.prior = prior.get();
      const auto refit = gatrec::train(*m, p.train, {}, topt, o.quiet ? nullptr : &log);
      prior_on_train = true;
      r.epochs += refit.epochs_run;
    }
    if (!o.save_model.empty()) save_trained_model(o, p, *m, seed, result.best_epoch, log);
  }
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Like the closed-form models, the prior ranks with every training rating: without --refit it
  // was fitted on the fit part only, which would handicap the ensemble against EASE itself.
  if (prior != nullptr && !prior_on_train) prior = make_prior(o, p, p.train);
  const auto& h = m->forward(gatrec::run_mode{});
  if (!o.save_embeddings.empty()) save_embeddings(o, p, model, seed, h, m->num_users(), log);
  if (slot.store != nullptr) slot.store->keep(slot.key, {r, h, m->num_users()});
  r.lists = prior != nullptr ? gatrec::rank_embeddings(h, m->num_users(), mask, o.list_length, prior.get())
                             : m->rank_by_dot(h, o.list_length, mask);
  return r;
}

/// Fits a closed-form scorer (timed) and ranks every user's unseen items.
template <class MakeScorer>
model_run run_scorer(const std::string& model, const options& o, const prepared_data& p, std::uint64_t seed,
                     MakeScorer&& make) {
  model_run r;
  r.model = model;
  r.seed = seed;
  const auto start = std::chrono::steady_clock::now();
  const auto s = make();
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const gatrec::user_item_sets mask(p.data.num_users(), p.data.num_items(), p.train);
  r.lists = gatrec::top_k(*s, o.list_length, mask);
  return r;
}

/// Runs one model with one seed.
/// @param slot where a trained embedding model may be found or kept (--tune); closed-form models ignore it
inline model_run run_model(const std::string& model, const options& o, const prepared_data& p,
                           const gatrec::matrix<float>& features, std::uint64_t seed, std::ostream& log,
                           const trained_slot& slot = {}) {
  const gatrec::index_t nu = p.data.num_users(), ni = p.data.num_items();
  if (model == "gat" || model == "gatv2") {
    const int in_dim = features.size() > 0 ? static_cast<int>(features.cols()) : 384;
    const auto gopt = gat_options_for(o, model, in_dim, seed);
    if (o.device == "cuda") reset_device_memory_peak();
    model_run r = run_embedding_model(
        [&](const gatrec::rating_table& train) -> std::unique_ptr<gatrec::embedding_recommender<float>> {
          if (o.device == "cuda") return make_device_gat_recommender(nu, ni, train, features, gopt);
          return std::make_unique<gatrec::gat_recommender<float>>(nu, ni, train, features, gopt);
        },
        o, p, model, seed, log, slot);
    if (o.device == "cuda") r.device_peak_bytes = device_memory_peak_bytes();
    return r;
  }
  // Closed-form and count-based models see the whole training part (they have nothing to early-stop).
  const std::optional<float> liked =
      p.explicit_ratings ? std::optional<float>(o.like_threshold) : std::nullopt;
  if (model == "pop")
    return run_scorer(model, o, p, seed, [&] { return std::make_unique<gatrec::most_popular_scorer>(nu, ni, p.train); });
  if (model == "ease") return run_scorer(model, o, p, seed, [&] { return make_ease(o, p, p.train, 1.0); });
  if (model == "itemknn")
    return run_scorer(model, o, p, seed, [&] {
      gatrec::item_knn_options k;
      k.neighbours = o.knn;
      k.min_rating = liked;
      return std::make_unique<gatrec::item_knn_scorer>(nu, ni, p.train, k);
    });
  if (model == "mf") {
    gatrec::mf_options m;
    m.dim = o.dim;
    m.init_std = o.init_std;
    m.seed = seed;
    return run_embedding_model(
        [&](const gatrec::rating_table&) { return std::make_unique<gatrec::mf_recommender<float>>(nu, ni, m); }, o,
        p, model, seed, log, slot);
  }
  if (model == "lightgcn") {
    gatrec::lightgcn_options l;
    l.dim = o.dim;
    l.layers = o.lightgcn_layers;
    l.init_std = o.init_std;
    l.seed = seed;
    return run_embedding_model(
        [&](const gatrec::rating_table& train) {
          return std::make_unique<gatrec::lightgcn_recommender<float>>(nu, ni, train, l);
        },
        o, p, model, seed, log, slot);
  }
  throw usage_error("unknown model '" + model + "'");
}

}  // namespace movielens
