// The training loop on a planted-cluster dataset: the loss falls, the validation metric rises well
// above chance, early stopping and best-epoch restoration behave, and runs are reproducible.
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/train/trainer.hpp>

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "support/planted_ratings.hpp"

namespace test_trainer {
namespace {

using gatrec::test::make_planted;

gatrec::gat_recommender_options small_gat() {
  gatrec::gat_recommender_options o;
  o.encoder.in_dim = 16;
  o.encoder.layers = {{2, 8, true}, {1, 8, true}};
  o.encoder.seed = 5;
  return o;
}

TEST(Trainer, LearnsPlantedClustersWithGatv2) {
  const auto data = make_planted();
  gatrec::gat_recommender<float> model(data.users, data.items, data.train, {}, small_gat());
  gatrec::trainer_options opt;
  opt.max_epochs = 60;
  opt.optimizer.lr = 1e-2;
  opt.validation_metric = "recall@10";
  opt.patience = 100;
  opt.warmup_epochs = 0;
  std::ostringstream log;
  const auto result = gatrec::train(model, data.train, data.validation, opt, &log);
  ASSERT_EQ(result.history.size(), 60u);
  EXPECT_LT(result.history.back().loss, 0.5 * result.history.front().loss);
  // Chance: 10 of the 30 unrated items are shown, 2 relevant ones -> recall 1/3. Own-cluster
  // items are 12 of the candidates, so a model that learned the clusters gets well above that.
  EXPECT_GT(result.best_validation, 0.7) << log.str();
  if (std::getenv("GATREC_TEST_VERBOSE")) std::cout << log.str();
  EXPECT_NE(log.str().find("epoch  60/60"), std::string::npos);
  EXPECT_NE(log.str().find("val recall@10"), std::string::npos);
  EXPECT_NE(log.str().find("ETA"), std::string::npos);
}

TEST(Trainer, RestoresTheBestEpochAndIsReproducible) {
  const auto data = make_planted();
  gatrec::trainer_options opt;
  opt.max_epochs = 25;
  opt.optimizer.lr = 3e-2;
  opt.validation_metric = "ndcg@10";
  opt.patience = 5;
  opt.warmup_epochs = 3;
  auto run = [&] {
    gatrec::gat_recommender<float> model(data.users, data.items, data.train, {}, small_gat());
    const auto r = gatrec::train(model, data.train, data.validation, opt);
    gatrec::user_item_sets train_items(data.users, data.items, data.train);
    gatrec::full_ranking_options eo;
    eo.ks = {10};
    const auto m = gatrec::evaluate_embeddings(model.forward({}), data.users, train_items, data.validation, eo);
    return std::make_pair(r, m.at("ndcg@10"));
  };
  const auto [a, final_a] = run();
  const auto [b, final_b] = run();
  EXPECT_EQ(a.best_epoch, b.best_epoch);
  EXPECT_EQ(a.history.back().loss, b.history.back().loss);  // bit-identical
  EXPECT_DOUBLE_EQ(final_a, a.best_validation);             // the best parameters were restored
  EXPECT_DOUBLE_EQ(final_a, final_b);
  EXPECT_GT(a.best_epoch, opt.warmup_epochs);  // nothing before the warm-up counts as a best
  if (a.stopped_early) {
    EXPECT_EQ(a.epochs_run, a.best_epoch + opt.patience);
  }
}

TEST(Trainer, ValidationMetricSpecs) {
  const auto full = gatrec::validation_metric::parse("ndcg@20");
  EXPECT_FALSE(full.rated_only);
  EXPECT_EQ(full.k, 20);
  const auto paper = gatrec::validation_metric::parse("paper:precision@10");
  EXPECT_TRUE(paper.rated_only);
  EXPECT_EQ(paper.name, "precision@10");
  EXPECT_EQ(paper.k, 10);
  for (const char* bad : {"ndcg", "ndcg@", "@10", "paper:", "ndcg@x", "ndcg@0"})
    EXPECT_THROW(gatrec::validation_metric::parse(bad), gatrec::logic_error) << bad;
}

TEST(Trainer, TrainsOnTheRatedOnlyValidationMetric) {
  auto data = make_planted();
  // Add disliked validation ratings, so that the rated-only filter has something to rank against.
  for (gatrec::index_t u = 0; u < data.users; ++u)
    data.validation.push_back(u, static_cast<gatrec::index_t>((u % 2 == 0 ? 35 : 5)), 1.0f);
  gatrec::gat_recommender<float> model(data.users, data.items, data.train, {}, small_gat());
  gatrec::trainer_options opt;
  opt.max_epochs = 30;
  opt.optimizer.lr = 1e-2;
  opt.warmup_epochs = 0;
  opt.validation_metric = "paper:precision@5";
  const auto r = gatrec::train(model, data.train, data.validation, opt);
  EXPECT_GT(r.best_validation, 0.6);  // liked own-cluster items above the disliked other-cluster ones
}

// A ranking prior that knows the validation items: the ensemble's validation metric is perfect from
// the first epoch, whatever the model does.
TEST(Trainer, SelectsOnTheModelAloneInAScoreEnsemble) {
  const auto data = make_planted();
  gatrec::matrix<float> users = gatrec::matrix<float>::Zero(data.users, data.items);
  const gatrec::matrix<float> items = gatrec::matrix<float>::Identity(data.items, data.items);
  for (std::size_t r = 0; r < data.validation.size(); ++r) users(data.validation.user[r], data.validation.item[r]) = 1.0f;
  const gatrec::score_prior oracle(gatrec::dot_product_scorer(users, items), 100.0);
  gatrec::trainer_options opt;
  opt.max_epochs = 40;
  opt.optimizer.lr = 1e-2;
  opt.validation_metric = "recall@10";
  opt.patience = 5;
  opt.warmup_epochs = 2;
  opt.prior = &oracle;
  opt.prior_in_loss = false;
  auto run = [&](bool model_alone) {
    gatrec::gat_recommender<float> model(data.users, data.items, data.train, {}, small_gat());
    opt.select_on_model_alone = model_alone;
    const auto r = gatrec::train(model, data.train, data.validation, opt);
    const gatrec::user_item_sets train_items(data.users, data.items, data.train);
    gatrec::full_ranking_options eo;
    eo.ks = {10};
    const double own = gatrec::evaluate_embeddings(model.forward({}), data.users, train_items, data.validation, eo)
                           .at("recall@10");
    return std::make_pair(r, own);
  };
  // On the ensemble: every epoch scores 1, the first after the warm-up is the best, training stops
  // `patience` evaluations later.
  const auto [ens, ens_own] = run(false);
  EXPECT_DOUBLE_EQ(ens.best_validation, 1.0);
  EXPECT_EQ(ens.best_epoch, opt.warmup_epochs + 1);
  EXPECT_TRUE(ens.stopped_early);
  // On the model alone: the history is the model's own metric, the restored parameters are those
  // of its best epoch, and it trains longer and ends better than the ensemble-stopped model.
  const auto [own, own_final] = run(true);
  EXPECT_DOUBLE_EQ(own_final, own.best_validation);
  EXPECT_LT(own.history.front().validation, 1.0);
  EXPECT_GT(own.best_epoch, ens.best_epoch);
  EXPECT_GT(own_final, ens_own);
  // A model that learns a residual of the prior has no ranking of its own to select on.
  opt.prior_in_loss = true;
  gatrec::gat_recommender<float> model(data.users, data.items, data.train, {}, small_gat());
  EXPECT_THROW(gatrec::train(model, data.train, data.validation, opt), gatrec::logic_error);
}

// A model that ranks elsewhere (a GPU model ranks on its device) is asked for its lists; this one
// delegates to a CPU model, counts the calls, and can return empty lists instead.
class ranking_spy final : public gatrec::embedding_recommender<float> {
 public:
  ranking_spy(const gatrec::test::planted& data, bool empty_lists)
      : inner_(data.users, data.items, data.train, {}, small_gat()), empty_lists_(empty_lists) {}
  std::string name() const override { return inner_.name(); }
  gatrec::index_t num_users() const override { return inner_.num_users(); }
  gatrec::index_t num_items() const override { return inner_.num_items(); }
  gatrec::parameter_list<float> parameters() override { return inner_.parameters(); }
  const gatrec::matrix<float>& forward(const gatrec::run_mode& mode) override { return inner_.forward(mode); }
  void backward(const gatrec::matrix<float>& grad) override { inner_.backward(grad); }
  gatrec::checkpoint_metadata describe() const override { return inner_.describe(); }
  gatrec::ranked_lists rank_by_dot(const gatrec::matrix<float>& h, int k,
                                   const gatrec::user_item_sets& exclude) override {
    ++calls;
    EXPECT_EQ(k, 10);
    EXPECT_EQ(exclude.num_users(), num_users());
    return empty_lists_ ? gatrec::ranked_lists(num_users(), k) : inner_.rank_by_dot(h, k, exclude);
  }
  int calls = 0;

 private:
  gatrec::gat_recommender<float> inner_;
  bool empty_lists_;
};

TEST(Trainer, ValidatesOnTheModelsOwnRanking) {
  const auto data = make_planted();
  gatrec::trainer_options opt;
  opt.max_epochs = 12;
  opt.optimizer.lr = 1e-2;
  opt.validation_metric = "recall@10";
  opt.warmup_epochs = 0;
  opt.eval_every = 3;
  ranking_spy spy(data, false);
  const auto r = gatrec::train(spy, data.train, data.validation, opt);
  EXPECT_EQ(spy.calls, 4);  // epochs 3, 6, 9, 12
  EXPECT_GT(r.best_validation, 0.0);
  // The metric is computed from those lists: empty ones score 0.
  ranking_spy empty(data, true);
  const auto e = gatrec::train(empty, data.train, data.validation, opt);
  EXPECT_EQ(empty.calls, 4);
  EXPECT_DOUBLE_EQ(e.best_validation, 0.0);
  // With a ranking prior the trainer ranks the ensemble itself (the model's dot products alone
  // would not include the prior).
  const gatrec::score_prior zero(gatrec::dot_product_scorer(gatrec::matrix<float>::Zero(data.users, 1),
                                                            gatrec::matrix<float>::Zero(data.items, 1)),
                                 1.0);
  opt.prior = &zero;
  opt.prior_in_loss = false;
  ranking_spy with_prior(data, true);
  const auto p = gatrec::train(with_prior, data.train, data.validation, opt);
  EXPECT_EQ(with_prior.calls, 0);
  EXPECT_GT(p.best_validation, 0.0);
}

// A device training run emulated on the CPU: the "device" is a second copy of the model whose
// parameters the run updates; the host parameters (parameters()) are separate and go stale during
// the run, as a GPU model's do. The step does what the trainer's host step does, so a trainer that
// follows the protocol (a snapshot on the device at each best epoch, then one pull at the end: the
// snapshot when the best epoch is restored, the current parameters otherwise; then finish) gives
// the same bits as plain host training; one that pulled the wrong one, or none, would not.
class emulated_device_model final : public gatrec::embedding_recommender<float> {
 public:
  explicit emulated_device_model(const gatrec::test::planted& data, const gatrec::gat_recommender_options& o)
      : device_(data.users, data.items, data.train, {}, o) {
    for (auto* p : device_.parameters()) host_.push_back(*p);
  }
  std::string name() const override { return device_.name(); }
  gatrec::index_t num_users() const override { return device_.num_users(); }
  gatrec::index_t num_items() const override { return device_.num_items(); }
  gatrec::parameter_list<float> parameters() override {
    gatrec::parameter_list<float> out;
    for (auto& p : host_) out.push_back(&p);
    return out;
  }
  const gatrec::matrix<float>& forward(const gatrec::run_mode& mode) override {
    if (!in_run) push();
    return device_.forward(mode);
  }
  void backward(const gatrec::matrix<float>&) override { ADD_FAILURE() << "the host step ran during a device run"; }
  gatrec::checkpoint_metadata describe() const override { return device_.describe(); }

  std::unique_ptr<gatrec::device_training> start_device_training(const gatrec::device_training_options& o) override {
    push();
    return std::make_unique<run>(*this, o);
  }

  bool in_run = false;
  int steps = 0, pulls = 0, snapshots = 0;

 private:
  void push() {
    auto d = device_.parameters();
    for (std::size_t k = 0; k < d.size(); ++k) d[k]->value = host_[k].value;
  }

  class run final : public gatrec::device_training {
   public:
    run(emulated_device_model& m, const gatrec::device_training_options& o)
        : m_(m), o_(o), optimizer_(m.device_.parameters(), o.optimizer) {
      m_.in_run = true;
    }
    ~run() override { m_.in_run = false; }
    gatrec::loss_value step(std::uint64_t epoch, const gatrec::run_mode& mode, double lr) override {
      ++m_.steps;
      o_.sampler->sample(epoch, triples_);
      const int per_positive = o_.sampler->options().negatives_per_positive;
      auto params = m_.device_.parameters();
      gatrec::zero_grad(params);
      const auto& h = m_.device_.forward(mode);
      const gatrec::index_t nu = m_.num_users();
      gatrec::loss_value l;
      if (!o_.softmax_ranking) {
        l = gatrec::hybrid_loss(h, nu, triples_, per_positive, o_.loss, grad_);
      } else {
        l = gatrec::hybrid_loss(h, nu, triples_, per_positive, {0.0, o_.loss.cosine_weight}, grad_);
        l.bpr = gatrec::softmax_loss(h, nu, o_.sampler->positive_offsets(), o_.sampler->positives(), o_.softmax, grad_,
                                     nullptr, o_.rated);
        l.total = l.bpr + o_.loss.cosine_weight * l.cosine;
      }
      m_.device_.backward(grad_);
      if (o_.clip_norm > 0) gatrec::clip_gradient_norm(params, o_.clip_norm);
      optimizer_.set_lr(lr);
      optimizer_.step();
      return l;
    }
    void pull_parameters() override {
      ++m_.pulls;
      auto d = m_.device_.parameters();
      for (std::size_t k = 0; k < d.size(); ++k) m_.host_[k].value = d[k]->value;
    }
    void snapshot_parameters() override {
      ++m_.snapshots;
      snapshot_.clear();
      for (auto* p : m_.device_.parameters()) snapshot_.push_back(p->value);
    }
    void pull_snapshot() override {
      ++m_.pulls;
      ASSERT_EQ(snapshot_.size(), m_.host_.size()) << "pull_snapshot before a snapshot";
      for (std::size_t k = 0; k < snapshot_.size(); ++k) m_.host_[k].value = snapshot_[k];
    }
    void finish() override { m_.in_run = false; }

   private:
    emulated_device_model& m_;
    gatrec::device_training_options o_;
    gatrec::adamw<float> optimizer_;
    gatrec::training_triples triples_;
    gatrec::matrix<float> grad_;
    std::vector<gatrec::matrix<float>> snapshot_;
  };

  gatrec::gat_recommender<float> device_;
  std::vector<gatrec::parameter<float>> host_;
};

TEST(Trainer, FollowsTheDeviceTrainingProtocol) {
  const auto data = make_planted();
  struct train_case {
    const char* name;
    bool validate, softmax;
  };
  for (const train_case c : {train_case{"validation, restore the best epoch", true, false},
                             train_case{"no validation: the last epoch", false, false},
                             train_case{"softmax + rated term, cosine scores", true, true}}) {
    SCOPED_TRACE(c.name);
    gatrec::trainer_options opt;
    opt.max_epochs = 20;
    opt.optimizer.lr = 3e-2;
    opt.validation_metric = "ndcg@10";
    opt.patience = 4;
    opt.warmup_epochs = 2;
    opt.clip_norm = 1.0;
    auto gat = small_gat();
    if (c.softmax) {
      opt.ranking = gatrec::ranking_loss::softmax;
      opt.softmax.temperature = 0.2;
      opt.softmax.rated_weight = 0.5;
      gat.normalize_output = true;
    }
    const gatrec::rating_table none;
    const auto& validation = c.validate ? data.validation : none;
    gatrec::gat_recommender<float> host(data.users, data.items, data.train, {}, gat);
    const auto ref = gatrec::train(host, data.train, validation, opt);
    emulated_device_model device(data, gat);
    const auto got = gatrec::train(device, data.train, validation, opt);
    EXPECT_FALSE(device.in_run);
    EXPECT_EQ(device.steps, ref.epochs_run);
    EXPECT_EQ(device.pulls, 1) << "parameters cross to the host once, at the end";
    if (c.validate)
      EXPECT_GE(device.snapshots, 1);
    else
      EXPECT_EQ(device.snapshots, 0);
    ASSERT_EQ(got.history.size(), ref.history.size());
    for (std::size_t e = 0; e < ref.history.size(); ++e) {
      EXPECT_EQ(got.history[e].loss, ref.history[e].loss) << "epoch " << e + 1;
      if (c.validate) {
        EXPECT_EQ(got.history[e].validation, ref.history[e].validation) << "epoch " << e + 1;
      }
    }
    EXPECT_EQ(got.best_epoch, ref.best_epoch);
    if (c.validate) {
      EXPECT_TRUE(ref.stopped_early);  // so that the restored epoch is not the last one
      EXPECT_LT(ref.best_epoch, ref.epochs_run);
    }
    // The host parameters are the trained (restored) ones.
    auto hp = host.parameters(), dp = device.parameters();
    ASSERT_EQ(hp.size(), dp.size());
    for (std::size_t k = 0; k < hp.size(); ++k) EXPECT_EQ(dp[k]->value, hp[k]->value) << hp[k]->name;
    EXPECT_EQ(device.forward({}), host.forward({}));
  }
}

TEST(Trainer, ReplaysALearningRateSchedule) {
  const auto data = make_planted();
  gatrec::gat_recommender<float> model(data.users, data.items, data.train, {}, small_gat());
  gatrec::trainer_options opt;
  opt.lr_schedule = {1e-2, 5e-3, 5e-3, 1e-3};
  const auto r = gatrec::train(model, data.train, data.validation, opt);  // validation ignored when replaying
  ASSERT_EQ(r.epochs_run, 4);
  for (int e = 0; e < 4; ++e) {
    EXPECT_DOUBLE_EQ(r.history[e].lr, opt.lr_schedule[e]);
    EXPECT_TRUE(std::isnan(r.history[e].validation));
  }
}

TEST(Trainer, RejectsDataWithoutPositives) {
  gatrec::rating_table t;
  t.push_back(0, 0, 1.0f);
  gatrec::gat_recommender<float> model(1, 2, t, {}, small_gat());
  EXPECT_THROW(gatrec::train(model, t, {}, {}), gatrec::logic_error);
}

TEST(GatRecommender, RejectsBadFeatures) {
  const auto data = make_planted();
  gatrec::matrix<float> wrong_rows(10, 16), wrong_width(100, 8), nan(100, 16);
  wrong_rows.setZero();
  wrong_width.setZero();
  nan.setZero();
  nan(3, 3) = std::nanf("");
  EXPECT_THROW(gatrec::gat_recommender<float>(60, 40, data.train, wrong_rows, small_gat()), gatrec::logic_error);
  EXPECT_THROW(gatrec::gat_recommender<float>(60, 40, data.train, wrong_width, small_gat()), gatrec::logic_error);
  EXPECT_THROW(gatrec::gat_recommender<float>(60, 40, data.train, nan, small_gat()), gatrec::logic_error);
}

}  // namespace

}  // namespace test_trainer
