// Training components: hybrid loss (value by hand, gradient by finite differences), negative
// sampling rules, AdamW, plateau schedule, early stopping, checkpoint files.
#include <gatrec/train/adamw.hpp>
#include <gatrec/train/checkpoint.hpp>
#include <gatrec/train/hybrid_loss.hpp>
#include <gatrec/train/negative_sampler.hpp>
#include <gatrec/train/reduce_on_plateau.hpp>
#include <gatrec/train/softmax_loss.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "support/gradient_check.hpp"
#include "support/random_graphs.hpp"

namespace test_train {
namespace {

using gatrec::matrix;

// 1 user (row 0), 2 items (rows 1, 2): h_u = (1, 0), h_i = (2, 0), h_j = (0, 1).
matrix<double> hand_embeddings() {
  matrix<double> h(3, 2);
  h << 1, 0, 2, 0, 0, 1;
  return h;
}

// The one triple (user 0, positive item 0, negative item 1).
gatrec::training_triples one_triple() {
  gatrec::training_triples t;
  t.user = {0};
  t.positive = {0};
  t.negative = {1};
  return t;
}

TEST(HybridLoss, ValueMatchesHandComputation) {
  matrix<double> h = hand_embeddings();
  const gatrec::training_triples t = one_triple();
  matrix<double> grad;
  const auto l = gatrec::hybrid_loss(h, 1, t, 1, {5.0, 2.0}, grad);
  // s_ui - s_uj = 2 - 0; BPR = -log sigmoid(2) = log(1 + e^-2); cos(h_u, h_i) = 1.
  EXPECT_NEAR(l.bpr, std::log1p(std::exp(-2.0)), 1e-15);
  EXPECT_NEAR(l.cosine, 0.0, 1e-15);
  EXPECT_NEAR(l.total, 5 * std::log1p(std::exp(-2.0)), 1e-15);
}

TEST(HybridLoss, GradientMatchesFiniteDifferences) {
  const gatrec::index_t users = 5, items = 7;
  matrix<double> h = gatrec::test::random_matrix<double>(users + items, 4, 3);
  gatrec::training_triples t;
  gatrec::rng gen(2);
  const int per_positive = 3;
  for (int p = 0; p < 6; ++p) {
    const auto u = static_cast<gatrec::index_t>(gen.below(users));
    const auto i = static_cast<gatrec::index_t>(gen.below(items));
    for (int k = 0; k < per_positive; ++k) {
      t.user.push_back(u);
      t.positive.push_back(i);
      t.negative.push_back(static_cast<gatrec::index_t>(gen.below(items)));
    }
  }
  for (auto weights : {gatrec::hybrid_loss_options{5, 2}, gatrec::hybrid_loss_options{1, 0}, gatrec::hybrid_loss_options{0, 1}}) {
    matrix<double> grad;
    gatrec::hybrid_loss(h, users, t, per_positive, weights, grad);
    auto loss = [&] {
      matrix<double> g;
      return gatrec::hybrid_loss(h, users, t, per_positive, weights, g).total;
    };
    const auto r = gatrec::test::check_gradient(h.data(), grad.data(), h.size(), loss);
    EXPECT_LT(r.max_rel_error, 1e-6);
    EXPECT_GT(r.max_abs_grad, 0.0);
  }
}

// A scorer with fixed scores, to build a prior from.
class table_scorer final : public gatrec::scorer {
 public:
  explicit table_scorer(gatrec::matrix<float> s) : s_(std::move(s)) {}
  gatrec::index_t num_users() const override { return static_cast<gatrec::index_t>(s_.rows()); }
  gatrec::index_t num_items() const override { return static_cast<gatrec::index_t>(s_.cols()); }
  void score_block(gatrec::index_t first, gatrec::index_t count, gatrec::matrix<float>& out) const override {
    out = s_.middleRows(first, count);
  }

 private:
  gatrec::matrix<float> s_;
};

TEST(HybridLoss, PriorShiftsTheBprMarginAndKeepsGradientsExact) {
  matrix<double> h = hand_embeddings();
  const gatrec::training_triples t = one_triple();
  gatrec::matrix<float> s0(1, 2);
  s0 << 0.5f, -1.0f;
  const gatrec::score_prior prior(table_scorer(s0), 2.0);
  EXPECT_FLOAT_EQ(prior(0, 1), -2.0f);
  matrix<double> grad;
  const auto l = gatrec::hybrid_loss(h, 1, t, 1, {1.0, 0.0}, grad, &prior);
  // x = (2 - 0) + 2 * (0.5 - (-1)) = 5.
  EXPECT_NEAR(l.bpr, std::log1p(std::exp(-5.0)), 1e-12);
  auto loss = [&] {
    matrix<double> g;
    return gatrec::hybrid_loss(h, 1, t, 1, {1.0, 0.0}, g, &prior).total;
  };
  EXPECT_LT(gatrec::test::check_gradient(h.data(), grad.data(), h.size(), loss).max_rel_error, 1e-6);
}

TEST(HybridLoss, LossSeesTheOutOfSampleScoresWhenSet) {
  matrix<double> h = hand_embeddings();
  const gatrec::training_triples t = one_triple();
  gatrec::matrix<float> s0(1, 2), s_loss(1, 2);
  s0 << 0.5f, -1.0f;
  s_loss << 0.25f, 0.0f;
  gatrec::score_prior prior(table_scorer(s0), 2.0);
  prior.set_loss_scores(s_loss);
  EXPECT_FLOAT_EQ(prior(0, 1), -2.0f);        // ranking: the full-fit scores
  EXPECT_FLOAT_EQ(prior.in_loss(0, 0), 0.5f);  // loss: the out-of-sample ones
  matrix<double> grad;
  const auto l = gatrec::hybrid_loss(h, 1, t, 1, {1.0, 0.0}, grad, &prior);
  // x = (2 - 0) + 2 * (0.25 - 0) = 2.5.
  EXPECT_NEAR(l.bpr, std::log1p(std::exp(-2.5)), 1e-12);
}

TEST(SoftmaxLoss, ValueByHandAndGradientByFiniteDifferences) {
  // One user, two items; scores s = (1, 0) with tau = 1, the user likes item 0:
  // L = log(e^1 + e^0) - 1.
  matrix<double> h(3, 1);
  h << 1, 1, 0;
  const std::vector<gatrec::offset_t> offsets{0, 1};
  const std::vector<gatrec::index_t> positives{0};
  matrix<double> grad = matrix<double>::Zero(3, 1);
  const double l = gatrec::softmax_loss(h, 1, offsets, positives, {1.0, 1.0, 1e9}, grad);
  EXPECT_NEAR(l, std::log(std::exp(1.0) + 1.0) - 1.0, 1e-12);

  // Random case: 4 users (one without positives), 6 items, temperature 0.7, weight 2, with a prior.
  matrix<double> hr = gatrec::test::random_matrix<double>(10, 3, 8);
  const std::vector<gatrec::offset_t> off{0, 2, 2, 3, 5};
  const std::vector<gatrec::index_t> pos{1, 4, 0, 2, 5};
  gatrec::matrix<float> s0 = gatrec::test::random_matrix<float>(4, 6, 9);
  const gatrec::score_prior prior(table_scorer(s0), 0.5);
  const gatrec::softmax_loss_options o{2.0, 0.7, 1e9};
  matrix<double> g = matrix<double>::Zero(10, 3);
  gatrec::softmax_loss(hr, 4, off, pos, o, g, &prior);
  auto loss = [&] {
    matrix<double> scratch = matrix<double>::Zero(10, 3);
    return gatrec::softmax_loss(hr, 4, off, pos, o, scratch, &prior);
  };
  const auto r = gatrec::test::check_gradient(hr.data(), g.data(), hr.size(), loss);
  EXPECT_LT(r.max_rel_error, 1e-6);
  EXPECT_GT(r.max_abs_grad, 0.0);
  matrix<double> small = matrix<double>::Zero(10, 3);
  EXPECT_THROW(gatrec::softmax_loss(hr, 4, off, pos, {1.0, 1.0, 10.0}, small), gatrec::logic_error);  // 24 > max
}

/// Each user's rated items from (user, item) pairs, over a catalogue of num_items.
static gatrec::user_item_sets rated_sets(gatrec::index_t num_users, gatrec::index_t num_items,
                                         const std::vector<std::pair<gatrec::index_t, gatrec::index_t>>& pairs) {
  gatrec::rating_table t;
  for (const auto& [u, i] : pairs) t.push_back(u, i, 3.0f);
  return gatrec::user_item_sets(num_users, num_items, t);
}

TEST(SoftmaxLoss, RatedOnlyTermValueByHandAndGradientByFiniteDifferences) {
  // One user, scores s = (1, 0, 2), likes item 0, rated items 0 and 1 (item 2 unrated), tau = 1:
  // L = [log(e^1 + e^0 + e^2) - 1] + 0.5 [log(e^1 + e^0) - 1].
  matrix<double> h(4, 1);
  h << 1, 1, 0, 2;
  const std::vector<gatrec::offset_t> offsets{0, 1};
  const std::vector<gatrec::index_t> positives{0};
  gatrec::softmax_loss_options o{1.0, 1.0, 1e9};
  o.rated_weight = 0.5;
  const gatrec::user_item_sets rated = rated_sets(1, 3, {{0, 0}, {0, 1}});
  matrix<double> grad = matrix<double>::Zero(4, 1);
  const double full = std::log(std::exp(1.0) + 1.0 + std::exp(2.0)) - 1.0;
  EXPECT_NEAR(gatrec::softmax_loss(h, 1, offsets, positives, o, grad, nullptr, &rated),
              full + 0.5 * (std::log(std::exp(1.0) + 1.0) - 1.0), 1e-12);
  // A user whose rated items are all liked has no contrast: only the full term.
  const gatrec::user_item_sets only_liked = rated_sets(1, 3, {{0, 0}});
  EXPECT_NEAR(gatrec::softmax_loss(h, 1, offsets, positives, o, grad, nullptr, &only_liked), full, 1e-12);
  // Refusals: no rated sets, or a liked item missing from them.
  EXPECT_THROW(gatrec::softmax_loss(h, 1, offsets, positives, o, grad), gatrec::logic_error);
  const gatrec::user_item_sets missing = rated_sets(1, 3, {{0, 1}, {0, 2}});
  EXPECT_THROW(gatrec::softmax_loss(h, 1, offsets, positives, o, grad, nullptr, &missing), gatrec::logic_error);

  // Random case: 4 users (one without positives, one with only liked rated items), 6 items,
  // temperature 0.7, weight 2, rated weight 0.8, with a prior.
  matrix<double> hr = gatrec::test::random_matrix<double>(10, 3, 8);
  const std::vector<gatrec::offset_t> off{0, 2, 2, 3, 5};
  const std::vector<gatrec::index_t> pos{1, 4, 0, 2, 5};
  const gatrec::user_item_sets rr =
      rated_sets(4, 6, {{0, 1}, {0, 4}, {0, 0}, {0, 3}, {1, 2}, {2, 0}, {3, 2}, {3, 5}, {3, 1}});
  gatrec::matrix<float> s0 = gatrec::test::random_matrix<float>(4, 6, 9);
  const gatrec::score_prior prior(table_scorer(s0), 0.5);
  gatrec::softmax_loss_options ro{2.0, 0.7, 1e9};
  ro.rated_weight = 0.8;
  matrix<double> g = matrix<double>::Zero(10, 3);
  const double with_term = gatrec::softmax_loss(hr, 4, off, pos, ro, g, &prior, &rr);
  auto loss = [&] {
    matrix<double> scratch = matrix<double>::Zero(10, 3);
    return gatrec::softmax_loss(hr, 4, off, pos, ro, scratch, &prior, &rr);
  };
  const auto r = gatrec::test::check_gradient(hr.data(), g.data(), hr.size(), loss);
  EXPECT_LT(r.max_rel_error, 1e-6);
  EXPECT_GT(r.max_abs_grad, 0.0);
  matrix<double> g0 = matrix<double>::Zero(10, 3);
  EXPECT_GT(with_term, gatrec::softmax_loss(hr, 4, off, pos, {2.0, 0.7, 1e9}, g0, &prior));  // the term adds > 0
  EXPECT_GT((g - g0).cwiseAbs().maxCoeff(), 1e-6);
}

TEST(HybridLoss, CosineCountsEachPositiveOnce) {
  matrix<double> h(3, 2);
  h << 1, 0, 1, 1, 0, 1;
  gatrec::training_triples t;
  t.user = {0, 0, 0};
  t.positive = {0, 0, 0};
  t.negative = {1, 1, 1};
  matrix<double> g;
  const auto l = gatrec::hybrid_loss(h, 1, t, 3, {1.0, 1.0}, g);
  EXPECT_NEAR(l.cosine, 1.0 - 1.0 / std::sqrt(2.0), 1e-15);
  EXPECT_THROW(gatrec::hybrid_loss(h, 1, t, 2, {1.0, 1.0}, g), gatrec::logic_error);
}

gatrec::rating_table small_ratings() {
  // user 0: likes 0, 1; dislikes 2; neutral 3. user 1: likes 4. user 2: only a neutral rating.
  gatrec::rating_table r;
  r.push_back(0, 0, 5);
  r.push_back(0, 1, 4);
  r.push_back(0, 2, 1);
  r.push_back(0, 3, 3);
  r.push_back(1, 4, 4);
  r.push_back(2, 5, 3);
  return r;
}

TEST(NegativeSampler, NegativesAvoidLikesAndDislikesAndCoverTheRest) {
  const gatrec::negative_sampler s(small_ratings(), 3, 8, {4.0f, 2.0f, 2, 0.0, 7});
  EXPECT_EQ(s.num_positives(), 3u);
  std::set<gatrec::index_t> seen_user0;
  for (int epoch = 0; epoch < 200; ++epoch) {
    gatrec::training_triples t;
    s.sample(epoch, t);
    ASSERT_EQ(t.size(), 6u);
    for (std::size_t k = 0; k < t.size(); ++k) {
      ASSERT_FALSE(s.is_excluded(t.user[k], t.negative[k]));
      if (t.user[k] == 0) {
        ASSERT_NE(t.negative[k], 0);
        ASSERT_NE(t.negative[k], 1);
        ASSERT_NE(t.negative[k], 2);  // explicit dislike stays out of the uniform pool
        seen_user0.insert(t.negative[k]);
      }
    }
  }
  // Rated-3 item 3 and unrated items 4..7 are all admissible.
  EXPECT_EQ(seen_user0, (std::set<gatrec::index_t>{3, 4, 5, 6, 7}));
}

TEST(NegativeSampler, UniformOverAdmissibleItems) {
  gatrec::rating_table r;
  r.push_back(0, 1, 5);
  r.push_back(0, 3, 1);
  const gatrec::negative_sampler s(r, 1, 6, {4.0f, 2.0f, 1, 0.0, 3});
  std::vector<int> counts(6, 0);
  const int epochs = 20000;
  for (int e = 0; e < epochs; ++e) {
    gatrec::training_triples t;
    s.sample(e, t);
    ++counts[t.negative[0]];
  }
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[3], 0);
  for (int i : {0, 2, 4, 5}) EXPECT_NEAR(counts[i], epochs / 4, 5 * std::sqrt(epochs * 0.1875));
}

TEST(NegativeSampler, DeterministicPerEpochAndHardNegativesComeFromDislikes) {
  const gatrec::negative_sampler s(small_ratings(), 3, 8, {4.0f, 2.0f, 4, 1.0, 11});
  gatrec::training_triples a, b, c;
  s.sample(3, a);
  s.sample(3, b);
  s.sample(4, c);
  EXPECT_EQ(a.negative, b.negative);
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a.user[k] == 0) {
      EXPECT_EQ(a.negative[k], 2);  // dislike_fraction 1: always user 0's dislike
    }
  const gatrec::negative_sampler u(small_ratings(), 3, 8, {4.0f, 2.0f, 4, 0.0, 11});
  u.sample(3, a);
  u.sample(4, c);
  EXPECT_NE(a.negative, c.negative);
}

TEST(AdamW, ConstantGradientMovesEachStepByTheLearningRate) {
  gatrec::parameter<double> p("w", 1, 2);
  p.value << 1.0, -2.0;
  gatrec::adamw<double> opt({&p}, {0.1, 0.9, 0.999, 1e-8, 0.5});
  for (int step = 0; step < 3; ++step) {
    const double before0 = p.value(0, 0), before1 = p.value(0, 1);
    p.grad << 3.0, -0.5;  // bias-corrected m/sqrt(v) = sign(g) for a constant gradient
    opt.step();
    EXPECT_NEAR(p.value(0, 0), before0 * (1 - 0.1 * 0.5) - 0.1, 1e-7);
    EXPECT_NEAR(p.value(0, 1), before1 * (1 - 0.1 * 0.5) + 0.1, 1e-7);
  }
  gatrec::parameter<double> b("b", 1, 1, false);  // no decay on this one
  b.value << 1.0;
  gatrec::adamw<double> o2({&b}, {0.1, 0.9, 0.999, 1e-8, 0.5});
  b.grad << 1.0;
  o2.step();
  EXPECT_NEAR(b.value(0, 0), 0.9, 1e-7);
}

TEST(AdamW, MinimisesAQuadratic) {
  gatrec::parameter<double> p("w", 3, 1);
  p.value << 5, -4, 2;
  gatrec::adamw<double> opt({&p}, {0.05, 0.9, 0.999, 1e-8, 0.0});
  for (int k = 0; k < 2000; ++k) {
    p.grad = 2 * p.value;
    opt.step();
  }
  EXPECT_LT(p.value.norm(), 1e-2);
}

TEST(GradientClipping, ScalesToTheMaximumNorm) {
  gatrec::parameter<double> a("a", 1, 2), b("b", 1, 1);
  a.grad << 3, 0;
  b.grad << 4;
  const double norm = gatrec::clip_gradient_norm<double>({&a, &b}, 1.0);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  EXPECT_NEAR(std::sqrt(a.grad.squaredNorm() + b.grad.squaredNorm()), 1.0, 1e-6);
}

TEST(ReduceOnPlateau, ReducesAfterPatienceEpochsWithoutImprovement) {
  gatrec::reduce_on_plateau s({true, 0.4, 2, 1e-4, 1e-5});
  double lr = 1e-3;
  lr = s.update(0.1, lr);  // best
  lr = s.update(0.1, lr);  // 1 bad
  lr = s.update(0.1, lr);  // 2 bad
  EXPECT_DOUBLE_EQ(lr, 1e-3);
  lr = s.update(0.1, lr);  // 3 bad > patience 2
  EXPECT_DOUBLE_EQ(lr, 4e-4);
  lr = s.update(0.2, lr);
  EXPECT_DOUBLE_EQ(lr, 4e-4);
  EXPECT_EQ(s.reductions(), 1);
  for (int k = 0; k < 20; ++k) lr = s.update(0.0, lr);
  EXPECT_DOUBLE_EQ(lr, 1e-5);  // floored at min_lr
}

TEST(EarlyStopping, StopsAfterPatienceWithoutNewBest) {
  gatrec::early_stopping e(2, true);
  EXPECT_TRUE(e.update(0.3));
  EXPECT_FALSE(e.update(0.2));
  EXPECT_FALSE(e.should_stop());
  EXPECT_FALSE(e.update(0.3));
  EXPECT_TRUE(e.should_stop());
  EXPECT_DOUBLE_EQ(e.best(), 0.3);
}

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("gatrec_ckpt_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    a_ = gatrec::parameter<float>("layer.weight", 3, 2);
    b_ = gatrec::parameter<float>("layer.bias", 1, 2, false);
    a_.value = gatrec::test::random_matrix<float>(3, 2, 1);
    b_.value = gatrec::test::random_matrix<float>(1, 2, 2);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  gatrec::parameter<float> a_, b_;
};

TEST_F(Checkpoint, RoundTripKeepsValuesAndMetadata) {
  const auto path = dir_ / "m.gatrec";
  gatrec::save_checkpoint<float>(path, {&a_, &b_}, {{"model", "gatv2"}, {"epochs", "12"}});
  gatrec::parameter<float> a2("layer.weight", 3, 2), b2("layer.bias", 1, 2);
  const auto meta = gatrec::load_checkpoint<float>(path, {&a2, &b2});
  EXPECT_EQ(meta.at("model"), "gatv2");
  EXPECT_EQ(gatrec::read_checkpoint_metadata(path).at("epochs"), "12");
  EXPECT_TRUE(a2.value == a_.value);
  EXPECT_TRUE(b2.value == b_.value);
}

TEST_F(Checkpoint, CorruptOrMismatchedFilesGiveClearErrors) {
  const auto path = dir_ / "m.gatrec";
  gatrec::save_checkpoint<float>(path, {&a_, &b_});
  auto expect_field = [&](const std::filesystem::path& p, auto params, const std::string& field) {
    try {
      gatrec::load_checkpoint<float>(p, params);
      ADD_FAILURE() << "no error for " << field;
    } catch (const gatrec::parse_error& e) {
      EXPECT_EQ(e.field(), field) << e.what();
      EXPECT_EQ(e.file(), p.string());
    }
  };
  // A flipped byte in the values.
  std::string bytes = gatrec::detail::read_file_bytes(path);
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return dir_ / name;
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  gatrec::parameter<float> a2("layer.weight", 3, 2), b2("layer.bias", 1, 2);
  expect_field(write("flipped", flipped), gatrec::parameter_list<float>{&a2, &b2}, "checksum");
  expect_field(write("truncated", bytes.substr(0, bytes.size() - 5)), gatrec::parameter_list<float>{&a2, &b2}, "checksum");
  expect_field(write("magic", "NOTAMODELFILE123456"), gatrec::parameter_list<float>{&a2, &b2}, "magic");
  gatrec::parameter<float> wrong_shape("layer.weight", 2, 3);
  expect_field(path, gatrec::parameter_list<float>{&wrong_shape, &b2}, "parameter 'layer.weight'");
  gatrec::parameter<float> wrong_name("other.weight", 3, 2);
  expect_field(path, gatrec::parameter_list<float>{&wrong_name, &b2}, "parameter 'other.weight'");
  expect_field(path, gatrec::parameter_list<float>{&a2}, "parameter_count");
  gatrec::parameter<double> d1("layer.weight", 3, 2), d2("layer.bias", 1, 2);
  EXPECT_THROW(gatrec::load_checkpoint<double>(path, {&d1, &d2}), gatrec::parse_error);
  EXPECT_THROW(gatrec::load_checkpoint<float>(dir_ / "missing", {&a2, &b2}), gatrec::io_error);
  // Nothing was half-loaded by the failures.
  EXPECT_TRUE(a2.value.isZero());
}

}  // namespace

}  // namespace test_train
