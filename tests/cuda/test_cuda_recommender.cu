// gatrec::cuda::device_gat_recommender (the model behind `gatrec-movielens --device cuda`) against
// gatrec::gat_recommender<float>: one step (embeddings and every parameter gradient, the input
// features included, with cosine outputs and frozen features), whole training runs under the same
// trainer (loss and validation curves, final embeddings: device training runs with the BPR and the
// softmax loss, dot and cosine outputs, and the host step with a prior in the loss; clipping and
// weight decay; two device runs bit for bit equal), checkpoints read by the CPU model, and the
// validation ranking on the device (rank_current); on the emulation, what a steady epoch allocates
// and moves over the bus.
// Without a GPU, building one fails with an exception instead of a crash.
#include <gatrec/cuda/device.cuh>
#include <gatrec/cuda/device_gat_recommender.cuh>
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/train/checkpoint.hpp>
#include <gatrec/train/negative_sampler.hpp>
#include <gatrec/train/trainer.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "cuda/device_test_support.cuh"
#include "support/planted_ratings.hpp"
#include "support/random_graphs.hpp"

namespace test_cuda_recommender {
namespace {

using gatrec::matrix;

constexpr double step_tolerance = 5e-4;  // two layers of float, LayerNorm included

gatrec::gat_recommender_options small_gat(bool cosine, bool trainable_features) {
  gatrec::gat_recommender_options o;
  o.encoder.in_dim = 16;
  o.encoder.layers = {{2, 8, true}, {1, 8, true}};
  o.encoder.dropout = 0.1;
  o.encoder.seed = 5;
  o.normalize_output = cosine;
  o.trainable_features = trainable_features;
  return o;
}

std::string label(bool cosine, bool trainable) {
  return std::string(cosine ? "cosine" : "dot") + " outputs, " + (trainable ? "trainable" : "frozen") + " features";
}

TEST(CudaRecommender, OneStepMatchesTheCpuModel) {
  GATREC_SKIP_WITHOUT_GPU();
  const auto data = gatrec::test::make_planted();
  for (bool cosine : {false, true})
    for (bool trainable : {true, false}) {
      SCOPED_TRACE(label(cosine, trainable));
      std::printf("[%s]\n", label(cosine, trainable).c_str());
      const auto opt = small_gat(cosine, trainable);
      gatrec::gat_recommender<float> host(data.users, data.items, data.train, {}, opt);
      gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, opt);
      auto hp = host.parameters(), dp = device.parameters();
      ASSERT_EQ(hp.size(), dp.size());
      EXPECT_EQ(hp.front()->name == "features", trainable);
      const gatrec::run_mode mode{true, 9, 3};
      const matrix<float> grad = gatrec::test::random_matrix<float>(data.users + data.items, 8, 41);
      gatrec::zero_grad(hp);
      gatrec::zero_grad(dp);
      const matrix<float> h_ref = host.forward(mode);
      host.backward(grad);
      const matrix<float> h = device.forward(mode);
      device.backward(grad);
      gatrec::test::expect_matrix_near("embeddings", h, h_ref, step_tolerance);
      for (std::size_t k = 0; k < hp.size(); ++k) {
        ASSERT_EQ(dp[k]->name, hp[k]->name);
        gatrec::test::expect_matrix_near("d " + hp[k]->name, dp[k]->grad, hp[k]->grad, step_tolerance);
      }
      // backward adds: a second pass doubles every gradient.
      device.forward(mode);
      device.backward(grad);
      gatrec::test::expect_matrix_near("d " + hp.back()->name + " twice", dp.back()->grad,
                                       matrix<float>(2.0f * hp.back()->grad), step_tolerance);
    }
}

// Four ways a trainer drives the device model: the paper's BPR + cosine loss on dot products and
// on cosine scores, the full softmax with its rated-only term on cosine scores (all three device
// training runs), and BPR with a prior inside the loss (the host step: loss and AdamW on the CPU).
TEST(CudaRecommender, TrainsLikeTheCpuModel) {
  GATREC_SKIP_WITHOUT_GPU();
  const auto data = gatrec::test::make_planted();
  // A fixed score prior (item popularity-like scores), for the host-step case.
  const gatrec::matrix<float> ones = gatrec::matrix<float>::Ones(data.users, 1);
  const gatrec::matrix<float> item_bias = gatrec::test::random_matrix<float>(data.items, 1, 77, 0.3);
  const gatrec::score_prior prior(gatrec::dot_product_scorer(ones, item_bias), 1.0);
  struct train_case {
    const char* name;
    bool cosine;
    gatrec::ranking_loss ranking;
    bool prior_in_loss;
  };
  for (const train_case c : {train_case{"bpr, dot outputs", false, gatrec::ranking_loss::bpr, false},
                             train_case{"bpr, cosine outputs", true, gatrec::ranking_loss::bpr, false},
                             train_case{"softmax + rated term, cosine outputs", true, gatrec::ranking_loss::softmax, false},
                             train_case{"bpr with a prior in the loss (host step)", false, gatrec::ranking_loss::bpr,
                                        true}}) {
    SCOPED_TRACE(c.name);
    std::printf("[%s]\n", c.name);
    gatrec::trainer_options topt;
    topt.max_epochs = 12;
    topt.optimizer.lr = 1e-2;
    topt.validation_metric = "recall@10";
    topt.patience = 100;
    topt.warmup_epochs = 0;
    topt.ranking = c.ranking;
    topt.softmax.temperature = c.cosine ? 0.2 : 1.0;
    topt.softmax.rated_weight = 0.5;
    if (c.prior_in_loss) topt.prior = &prior;
    const auto opt = small_gat(c.cosine, true);
    gatrec::gat_recommender<float> host(data.users, data.items, data.train, {}, opt);
    gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, opt);
    const auto ref = gatrec::train(host, data.train, data.validation, topt);
    const auto got = gatrec::train(device, data.train, data.validation, topt);
    ASSERT_EQ(got.history.size(), ref.history.size());
    for (std::size_t e = 0; e < ref.history.size(); ++e) {
      std::printf("  epoch %2zu  loss cpu %.6f gpu %.6f  val cpu %.4f gpu %.4f\n", e + 1, ref.history[e].loss,
                  got.history[e].loss, ref.history[e].validation, got.history[e].validation);
      EXPECT_NEAR(got.history[e].loss, ref.history[e].loss, 1e-3 * std::abs(ref.history[e].loss)) << "epoch " << e + 1;
      // One swapped pair among near-tied items moves recall@10 by 1/120.
      EXPECT_NEAR(got.history[e].validation, ref.history[e].validation, 0.02) << "epoch " << e + 1;
    }
    EXPECT_LT(got.history.back().loss, got.history.front().loss);
    gatrec::test::expect_matrix_near("trained embeddings", device.forward({}), host.forward({}), 5e-3);
  }
}

// After a device training run the trainer must leave the trained parameters in the host model.
TEST(CudaRecommender, CheckpointsLoadIntoTheCpuModel) {
  GATREC_SKIP_WITHOUT_GPU();
  const auto data = gatrec::test::make_planted();
  for (bool cosine : {false, true}) {
    SCOPED_TRACE(label(cosine, true));
    const auto opt = small_gat(cosine, true);
    gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, opt);
    EXPECT_NE(device.start_device_training({}), nullptr);
    gatrec::trainer_options topt;
    topt.max_epochs = 4;
    topt.optimizer.lr = 1e-2;
    gatrec::train(device, data.train, {}, topt);
    const auto path = std::filesystem::temp_directory_path() / ("gatrec_device_ckpt_" + std::to_string(::getpid()));
    gatrec::save_checkpoint(path, device.parameters(), device.describe());
    gatrec::gat_recommender<float> host(data.users, data.items, data.train, {}, opt);
    const auto meta = gatrec::load_checkpoint(path, host.parameters());
    std::filesystem::remove(path);
    EXPECT_EQ(meta.at("model"), "gatv2");
    gatrec::test::expect_matrix_near("loaded embeddings", host.forward({}), device.forward({}), step_tolerance);
    // host_model() holds the trained parameters too.
    gatrec::test::expect_matrix_near("host_model embeddings", device.host_model().forward({}), device.forward({}),
                                     step_tolerance);
  }
}

// The device run: the same curve as the host trainer with clipping and weight decay on, and two
// runs bit for bit equal (no atomics anywhere in the step).
TEST(CudaRecommender, DeviceTrainingRunClipsAndIsReproducible) {
  GATREC_SKIP_WITHOUT_GPU();
  const auto data = gatrec::test::make_planted();
  gatrec::trainer_options topt;
  topt.max_epochs = 10;
  topt.optimizer.lr = 2e-2;
  topt.optimizer.weight_decay = 1e-2;
  topt.clip_norm = 0.05;  // small enough to clip every step
  topt.sampler.negatives_per_positive = 2;
  topt.validation_metric = "recall@10";
  topt.warmup_epochs = 0;
  const auto opt = small_gat(false, true);
  gatrec::gat_recommender<float> host(data.users, data.items, data.train, {}, opt);
  const auto ref = gatrec::train(host, data.train, data.validation, topt);
  auto run = [&] {
    gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, opt);
    const auto r = gatrec::train(device, data.train, data.validation, topt);
    return std::make_pair(r, device.forward({}));
  };
  const auto [a, ha] = run();
  const auto [b, hb] = run();
  ASSERT_EQ(a.history.size(), ref.history.size());
  for (std::size_t e = 0; e < ref.history.size(); ++e) {
    std::printf("  epoch %2zu  loss cpu %.6f gpu %.6f\n", e + 1, ref.history[e].loss, a.history[e].loss);
    EXPECT_NEAR(a.history[e].loss, ref.history[e].loss, 1e-3 * std::abs(ref.history[e].loss)) << "epoch " << e + 1;
    EXPECT_EQ(a.history[e].loss, b.history[e].loss) << "epoch " << e + 1;
  }
  EXPECT_EQ(a.best_epoch, ref.best_epoch);
  gatrec::test::expect_bitwise_equal("embeddings of two device runs", ha, hb);
  gatrec::test::expect_matrix_near("trained embeddings", ha, host.forward({}), 5e-3);
}

// rank_current (the trainer's validation ranking) keeps forward, the cosine normalisation and the
// ranking on the device, with the current host parameters: the same lists as ranking the host
// model's embeddings with gatrec::top_k (a near-tie aside: every rank's score is equal).
TEST(CudaRecommender, RanksTheCurrentParametersOnTheDevice) {
  GATREC_SKIP_WITHOUT_GPU();
  const auto data = gatrec::test::make_planted();
  const gatrec::user_item_sets mask(data.users, data.items, data.train);
  const int k = 10;
  for (bool cosine : {false, true}) {
    SCOPED_TRACE(label(cosine, true));
    const auto opt = small_gat(cosine, true);
    gatrec::gat_recommender<float> host(data.users, data.items, data.train, {}, opt);
    gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, opt);
    device.forward({});  // the device now holds the initial parameters
    // Then the host values change, as after an optimiser step: rank_current must use the new ones.
    auto hp = host.parameters(), dp = device.parameters();
    for (std::size_t p = 0; p < hp.size(); ++p) {
      const matrix<float> step = gatrec::test::random_matrix<float>(hp[p]->value.rows(), hp[p]->value.cols(),
                                                                    100 + static_cast<int>(p), 0.05);
      hp[p]->value += step;
      dp[p]->value += step;
    }
    const matrix<float> h = host.forward({});
    const gatrec::ranked_lists ref = host.rank_by_dot(h, k, mask);
    const gatrec::ranked_lists got = device.rank_current(k, mask);
    ASSERT_EQ(got.num_users, ref.num_users);
    ASSERT_EQ(got.k, ref.k);
    const double scale = h.cwiseAbs().maxCoeff();
    auto score = [&](gatrec::index_t u, gatrec::index_t i) { return h.row(u).dot(h.row(data.users + i)); };
    std::size_t same = 0;
    for (gatrec::index_t u = 0; u < ref.num_users; ++u)
      for (int r = 0; r < k; ++r) {
        const gatrec::index_t a = got.row(u)[r], b = ref.row(u)[r];
        ASSERT_NE(a, gatrec::ranked_lists::none) << "user " << u << " rank " << r;
        ASSERT_NE(b, gatrec::ranked_lists::none);
        EXPECT_FALSE(mask.contains(u, a)) << "user " << u << " got a training item";
        EXPECT_NEAR(score(u, a), score(u, b), 1e-5 * scale * scale) << "user " << u << " rank " << r;
        same += a == b;
      }
    std::printf("  %s: %zu of %d ranks name the same item\n", label(cosine, true).c_str(), same, ref.num_users * k);
    EXPECT_GE(same, static_cast<std::size_t>(0.98 * ref.num_users * k));
    // The ranking's forward replaced the one a backward would need.
    EXPECT_THROW(device.backward(matrix<float>::Zero(h.rows(), h.cols())), gatrec::logic_error);
  }
}

#if defined(GATREC_CUDA_EMULATION)
// What an epoch of a device training run costs besides arithmetic, counted by the emulation (a GPU
// cannot count it): once the first epoch has sized every buffer, a step allocates and frees nothing
// (cudaMalloc and cudaFree synchronise the device and cost tens of microseconds each), sends nothing
// to the device and brings only the loss sums back; the validation ranking brings back only the
// ranked lists (the training-item mask went up once). Also prints the launches per epoch: with a few
// microseconds each on a GPU, they bound a small graph's epoch from below.
TEST(CudaRecommender, SteadyEpochsAllocateNothingAndMoveOnlyTheLossAndTheLists) {
  const auto data = gatrec::test::make_planted();
  const gatrec::user_item_sets rated(data.users, data.items, data.train);
  const gatrec::negative_sampler sampler(data.train, data.users, data.items, gatrec::sampler_options{});
  const int k = 10;
  struct epoch_case {
    const char* name;
    bool cosine;
    bool softmax;
    bool paper_stack = false;  // PAPER.md's encoder (384-256-256-64, heads 4/4/1) on frozen features
  };
  for (const epoch_case c : {epoch_case{"bpr, dot outputs", false, false}, epoch_case{"bpr, cosine outputs", true, false},
                             epoch_case{"softmax + rated term, cosine outputs", true, true},
                             epoch_case{"paper stack, bpr + cosine term, dot outputs", false, false, true}}) {
    SCOPED_TRACE(c.name);
    gatrec::gat_recommender_options options = small_gat(c.cosine, true);
    if (c.paper_stack) {
      options.encoder = gatrec::gat_model_options::paper(384);
      options.trainable_features = false;
    }
    gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, options);
    gatrec::device_training_options dopt;
    dopt.sampler = &sampler;
    dopt.clip_norm = 0.05;  // clipping: its norm and factor stay on the device
    dopt.softmax_ranking = c.softmax;
    dopt.softmax.temperature = 0.2;
    dopt.softmax.rated_weight = 0.5;
    dopt.rated = &rated;
    const auto run = device.start_device_training(dopt);
    ASSERT_NE(run, nullptr);
    auto epoch = [&](std::uint64_t e) {
      run->step(e, gatrec::run_mode{true, 7, e}, 1e-2);
      return device.rank_current(k, rated);
    };
    epoch(1);  // sizes every buffer and uploads the mask
    for (std::uint64_t e = 2; e <= 3; ++e) {
      const cuda_emulation::activity_counters before = cuda_emulation::activity();
      run->step(e, gatrec::run_mode{true, 7, e}, 1e-2);
      const cuda_emulation::activity_counters step = cuda_emulation::activity() - before;
      const gatrec::ranked_lists lists = device.rank_current(k, rated);
      const cuda_emulation::activity_counters ranking = cuda_emulation::activity() - before - step;
      std::printf("  [%s] epoch %d: step %lld launches + %lld library calls, %zu bytes down in %lld copies; "
                  "ranking %lld launches + %lld library calls, %zu bytes down\n",
                  c.name, static_cast<int>(e), static_cast<long long>(step.kernel_launches),
                  static_cast<long long>(step.library_calls), step.device_to_host_bytes,
                  static_cast<long long>(step.device_to_host_copies), static_cast<long long>(ranking.kernel_launches),
                  static_cast<long long>(ranking.library_calls), ranking.device_to_host_bytes);
      // Scalars only: the epoch's triples alone would be 12 bytes x ~2,400 here, the embeddings
      // 8 floats x 260 rows.
      for (const auto& [what, a] : {std::pair{"step", step}, std::pair{"ranking", ranking}}) {
        EXPECT_EQ(a.allocations, 0) << what;
        EXPECT_EQ(a.frees, 0) << what;
        EXPECT_LE(a.host_to_device_bytes, 64u) << what << ": more than a few flags went up";
        EXPECT_GT(a.kernel_launches, 0) << what;
      }
      // Launch overhead bounds a small graph's epoch: the paper's stack takes 78 device operations a
      // step (45 launches, 33 cuBLAS/CUB calls), 108 with one AdamW launch per tensor.
      EXPECT_LE(step.kernel_launches + step.library_calls, 100) << "device operations in a step";
      // The loss sums alone (at most 16 doubles); the clipping norm stays on the device.
      EXPECT_LE(step.device_to_host_bytes, 128u) << "more than the loss sums came down";
      const std::size_t list_bytes = lists.items.size() * sizeof(gatrec::index_t);
      EXPECT_GE(ranking.device_to_host_bytes, list_bytes);
      EXPECT_LE(ranking.device_to_host_bytes, list_bytes + 64) << "more than the lists and a NaN flag came down";
    }
    run->finish();
  }
}

// The same through the trainer (validation, best-epoch snapshots, the end): what a run allocates
// does not grow with its epochs, and neither does what comes down beyond each epoch's loss sums and
// validation lists (best epochs are snapshotted on the device; parameters come down once).
TEST(CudaRecommender, ATrainingRunAllocatesPerRunNotPerEpoch) {
  const auto data = gatrec::test::make_planted();
  std::size_t parameter_bytes = 0;
  int best_epoch = 0;
  auto activity = [&](int epochs) {
    gatrec::trainer_options topt;
    topt.max_epochs = epochs;
    topt.optimizer.lr = 1e-2;
    topt.validation_metric = "recall@10";
    topt.patience = 100;
    topt.warmup_epochs = 0;
    gatrec::cuda::device_gat_recommender device(data.users, data.items, data.train, {}, small_gat(true, true));
    parameter_bytes = 0;
    for (auto* p : device.parameters()) parameter_bytes += static_cast<std::size_t>(p->value.size()) * sizeof(float);
    const cuda_emulation::activity_counters before = cuda_emulation::activity();
    const auto result = gatrec::train(device, data.train, data.validation, topt);
    EXPECT_EQ(result.epochs_run, epochs);
    best_epoch = result.best_epoch;
    return cuda_emulation::activity() - before;
  };
  const cuda_emulation::activity_counters short_run = activity(3), long_run = activity(9);
  std::printf("  allocations: %lld in a 3-epoch run, %lld in a 9-epoch run; down: %zu and %zu bytes "
              "(parameters %zu bytes)\n",
              static_cast<long long>(short_run.allocations), static_cast<long long>(long_run.allocations),
              short_run.device_to_host_bytes, long_run.device_to_host_bytes, parameter_bytes);
  EXPECT_GT(best_epoch, 3) << "the longer run must find best epochs after the shorter one's end to snapshot";
  EXPECT_GT(short_run.allocations, 0);
  EXPECT_EQ(long_run.allocations, short_run.allocations);
  // Six more epochs: six more validation lists (60 users x 10), NaN flags and loss sums, and no
  // parameter pull (one would add all of parameter_bytes, more than the bound's slack).
  const std::size_t per_epoch = data.users * 10 * sizeof(gatrec::index_t) + 8 + 64;
  const std::size_t more = long_run.device_to_host_bytes - short_run.device_to_host_bytes;
  EXPECT_LE(more, 6 * per_epoch);
  EXPECT_GT(more + parameter_bytes, 6 * per_epoch) << "the bound could not catch a parameter pull";
}
#endif

TEST(CudaRecommender, WithoutAGpuConstructionThrows) {
  if (gatrec::cuda::has_device()) GTEST_SKIP() << "this machine has a GPU";
  const auto data = gatrec::test::make_planted();
  EXPECT_ANY_THROW(gatrec::cuda::device_gat_recommender(data.users, data.items, data.train, {}, small_gat(false, true)));
}

}  // namespace

}  // namespace test_cuda_recommender
