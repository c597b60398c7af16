// The device training step's parts against the CPU: cuda::device_negative_sampler against
// negative_sampler::sample (triple for triple), cuda::device_loss_incidence against
// loss_incidence::build (entry for entry), cuda::device_hybrid_loss against
// gatrec::hybrid_loss (value and every gradient element; one and three negatives per positive,
// cosine term on and off, repeated rows), cuda::device_softmax_loss against gatrec::softmax_loss
// (rated-only term on and off, two temperatures, users without positives, a duplicated positive,
// all users in one block and in blocks of 7),
// the row normalisation of cosine scores (clamped rows included), and cuda::device_adamw against gatrec::adamw with
// clip_gradient_norm (several steps, a learning-rate change, decaying and non-decaying tensors).
// Skips without a GPU; tests/unit/test_cuda_training_emulation.cpp checks the same arithmetic on the CPU.
#include <gatrec/core/random.hpp>
#include <gatrec/cuda/device_adamw.cuh>
#include <gatrec/cuda/device_hybrid_loss.cuh>
#include <gatrec/cuda/device_loss_incidence.cuh>
#include <gatrec/cuda/device_negative_sampler.cuh>
#include <gatrec/cuda/device_parameter.cuh>
#include <gatrec/cuda/device_softmax_loss.cuh>
#include <gatrec/nn/row_normalize.hpp>
#include <gatrec/train/adamw.hpp>
#include <gatrec/train/hybrid_loss.hpp>
#include <gatrec/train/negative_sampler.hpp>
#include <gatrec/train/softmax_loss.hpp>

#include "row_normalize.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cuda/device_test_support.cuh"
#include "support/random_graphs.hpp"
#include "support/random_triples.hpp"

namespace test_cuda_training {
namespace {

using gatrec::index_t;
using gatrec::matrix;
using gatrec::user_item_sets;
using gatrec::test::random_triples;
using gatrec::cuda::device_matrix;

TEST(CudaTraining, HybridLossMatchesTheCpu) {
  GATREC_SKIP_WITHOUT_GPU();
  const index_t users = 300, items = 500;
  gatrec::cuda::device_hybrid_loss loss;
  for (int width : {64, 37})
    for (int per_positive : {1, 3})
      for (double cos_weight : {0.0, 2.0}) {
        const std::string what = "width " + std::to_string(width) + ", negatives " + std::to_string(per_positive) +
                                 ", cosine weight " + std::to_string(cos_weight);
        SCOPED_TRACE(what);
        std::printf("[%s]\n", what.c_str());
        const matrix<float> h = gatrec::test::random_matrix<float>(users + items, width, 3, 0.3);
        const auto t = random_triples(users, items, 4000, per_positive, 5);
        const gatrec::hybrid_loss_options opt{5.0, cos_weight};
        matrix<float> ref_grad;
        const auto ref = gatrec::hybrid_loss(h, users, t, per_positive, opt, ref_grad);
        device_matrix dh(h), grad;
        gatrec::test::poison(grad);
        const auto got = loss(dh, users, t, per_positive, opt, grad);
        EXPECT_NEAR(got.bpr, ref.bpr, 1e-5 * ref.bpr);
        EXPECT_NEAR(got.cosine, ref.cosine, 1e-5);
        EXPECT_NEAR(got.total, ref.total, 1e-5 * ref.total);
        gatrec::test::expect_matrix_near("dL/dh", grad.download(), ref_grad, 1e-5);
        // Deterministic: a second call gives the same bits.
        device_matrix grad2;
        const auto again = loss(dh, users, t, per_positive, opt, grad2);
        EXPECT_EQ(again.total, got.total);
        gatrec::test::expect_bitwise_equal("dL/dh twice", grad2.download(), grad.download());
      }
  // Bad triples are refused before anything runs.
  auto bad = random_triples(users, items, 10, 1, 1);
  bad.negative[4] = items;
  device_matrix dh(gatrec::test::random_matrix<float>(users + items, 8, 1)), grad;
  EXPECT_THROW(loss(dh, users, bad, 1, {}, grad), gatrec::logic_error);
}

TEST(CudaTraining, LossIncidenceEqualsTheHostOne) {
  GATREC_SKIP_WITHOUT_GPU();
  // 3,000 users and 5,000 items: many rows without any term, others with dozens.
  const index_t users = 3000, items = 5000;
  gatrec::cuda::device_loss_incidence device;
  for (int per_positive : {1, 3})
    for (bool cosine : {true, false}) {
      SCOPED_TRACE("negatives " + std::to_string(per_positive) + (cosine ? ", cosine" : ", no cosine"));
      const auto t = random_triples(users, items, 20000, per_positive, 6);
      const auto ref = gatrec::loss_incidence::build(t, users, users + items, per_positive, cosine);
      const gatrec::cuda::device_buffer<index_t> u(t.user), p(t.positive), n(t.negative);
      device.build(u.data(), p.data(), n.data(), static_cast<std::int64_t>(t.size()), per_positive, users,
                   users + items, cosine);
      const auto got = device.download();
      ASSERT_EQ(got.offsets, ref.offsets);
      ASSERT_EQ(got.entries, ref.entries);
    }
  // No triples at all: every row empty.
  device.build(nullptr, nullptr, nullptr, 0, 1, users, users + items, true);
  const auto empty = device.download();
  EXPECT_EQ(empty.offsets, std::vector<gatrec::offset_t>(static_cast<std::size_t>(users + items) + 1, 0));
  EXPECT_TRUE(empty.entries.empty());
}

TEST(CudaTraining, DeviceSamplerDrawsTheHostTriples) {
  GATREC_SKIP_WITHOUT_GPU();
  struct sampler_case {
    const char* name;
    index_t users, items;
    int ratings, negatives;
    double dislike_fraction;
  };
  // In every case one user likes every item and dislikes none (no admissible negative: no
  // triples), one rates everything 3 (no positive) and five rate nothing. The last case has 12
  // items for ~80 ratings a user: nearly every user liked or disliked every item and draws only
  // hard negatives.
  const sampler_case cases[] = {{"one negative", 400, 700, 9000, 1, 0.0},
                                {"three negatives, hard share", 400, 700, 9000, 3, 0.35},
                                {"every item excluded for many", 150, 12, 12000, 2, 0.0}};
  for (const sampler_case& c : cases) {
    SCOPED_TRACE(c.name);
    gatrec::rng r(static_cast<std::uint64_t>(c.users) * 7 + c.negatives);
    gatrec::rating_table train;
    for (int k = 0; k < c.ratings; ++k)
      train.push_back(static_cast<index_t>(r.below(static_cast<std::uint64_t>(c.users - 5))),  // 5 users unrated
                      static_cast<index_t>(r.below(static_cast<std::uint64_t>(c.items))),
                      static_cast<float>(1 + r.below(5)));
    for (index_t i = 0; i < c.items; ++i) {
      train.push_back(c.users - 1, i, 5.0f);
      train.push_back(c.users - 2, i, 3.0f);
    }
    gatrec::sampler_options o;
    o.negatives_per_positive = c.negatives;
    o.dislike_fraction = c.dislike_fraction;
    o.seed = 41;
    const gatrec::negative_sampler host(train, c.users, c.items, o);
    gatrec::cuda::device_negative_sampler device(host);
    ASSERT_GT(host.triples_per_epoch(), 0u);
    EXPECT_EQ(device.triples().count, static_cast<std::int64_t>(host.triples_per_epoch()));
    for (std::uint64_t epoch : {1u, 2u, 17u}) {
      gatrec::training_triples ref;
      host.sample(epoch, ref);
      device.sample(epoch);
      const gatrec::training_triples got = device.download();
      ASSERT_EQ(got.user, ref.user) << "epoch " << epoch;
      ASSERT_EQ(got.positive, ref.positive) << "epoch " << epoch;
      ASSERT_EQ(got.negative, ref.negative) << "epoch " << epoch;
    }
  }
}

TEST(CudaTraining, SoftmaxLossMatchesTheCpu) {
  GATREC_SKIP_WITHOUT_GPU();
  // 60 users x 300 items; users 0-4 like nothing (their rows contribute no loss), every user rated
  // some items it does not like (the rated-only term's contrast), user 7 likes an item twice.
  const index_t users = 60, items = 300;
  gatrec::rng r(4);
  gatrec::rating_table rated_table;
  std::vector<gatrec::offset_t> offsets{0};
  std::vector<index_t> positives;
  for (index_t u = 0; u < users; ++u) {
    for (int k = 0; k < 25; ++k) {
      const auto i = static_cast<index_t>(r.below(items));
      const bool liked = u >= 5 && k % 3 != 0;
      rated_table.push_back(u, i, liked ? 5.0f : 2.0f);
      if (liked) positives.push_back(i);
      if (liked && u == 7 && k == 1) positives.push_back(i);
    }
    offsets.push_back(static_cast<gatrec::offset_t>(positives.size()));
  }
  const user_item_sets rated(users, items, rated_table);
  gatrec::cuda::cublas_handle blas;
  for (double rated_weight : {0.0, 0.5})
    for (double temperature : {1.0, 0.2}) {
      const std::string what = "rated weight " + std::to_string(rated_weight) + ", temperature " +
                                std::to_string(temperature);
      SCOPED_TRACE(what);
      std::printf("[%s]\n", what.c_str());
      gatrec::softmax_loss_options opt;
      opt.weight = 1.5;
      opt.temperature = temperature;
      opt.rated_weight = rated_weight;
      const matrix<float> h = gatrec::test::random_matrix<float>(users + items, 24, 8, 0.5);
      const matrix<float> start = gatrec::test::random_matrix<float>(users + items, 24, 9);  // grad adds into this
      matrix<float> ref_grad = start;
      const double ref = gatrec::softmax_loss(h, users, offsets, positives, opt, ref_grad, nullptr, &rated);
      // All 60 users in one block, and blocks of 7 (the last one of 4), as for a catalogue whose
      // scores do not fit at once.
      for (const std::size_t block_bytes : {std::size_t{1} << 30, 7 * 2 * sizeof(float) * items + 5}) {
        gatrec::cuda::device_softmax_loss loss(users, items, offsets, positives, opt, &rated, block_bytes);
        SCOPED_TRACE("blocks of " + std::to_string(loss.block_users()) + " users");
        EXPECT_EQ(loss.block_users(), block_bytes > (std::size_t{1} << 20) ? users : 7);
        device_matrix dh(h), grad(start);
        const double got = loss(blas, dh, grad);
        EXPECT_NEAR(got, ref, 1e-5 * std::abs(ref));
        gatrec::test::expect_matrix_near("grad + dL/dh", grad.download(), ref_grad, 1e-5);
        gatrec::test::expect_matrix_near("dL/dh alone", matrix<float>(grad.download() - start),
                                         matrix<float>(ref_grad - start), 1e-4);
      }
    }
  // The rated-only term needs the rated items to hold the liked ones.
  gatrec::softmax_loss_options with_rated;
  with_rated.rated_weight = 1.0;
  EXPECT_THROW(gatrec::cuda::device_softmax_loss(users, items, offsets, positives, with_rated,
                                                 std::make_unique<user_item_sets>(users, items,
                                                                                  gatrec::rating_table{}).get()),
               gatrec::logic_error);
}

TEST(CudaTraining, RowNormalizeMatchesTheCpu) {
  GATREC_SKIP_WITHOUT_GPU();
  matrix<float> x = gatrec::test::random_matrix<float>(500, 37, 3);
  x.row(11).setZero();        // clamped to eps: a plain scaling
  x.row(12).setConstant(1e-12f);
  const matrix<float> dy = gatrec::test::random_matrix<float>(500, 37, 4);
  gatrec::row_normalize_context<float> ctx;
  const matrix<float> y_ref = gatrec::row_normalize_forward(x, ctx);
  matrix<float> dx_ref;
  gatrec::row_normalize_backward(ctx, dy, dx_ref);
  device_matrix dx_in(x), y(500, 37), ddy(dy), dx(500, 37);
  gatrec::cuda::device_buffer<float> norms(500);
  gatrec::test::poison(y);
  gatrec::test::poison(dx);
  gatrec::cuda::row_normalize_forward(dx_in.data(), y.data(), norms.data(), 500, 37);
  gatrec::cuda::row_normalize_backward(y.data(), norms.data(), ddy.data(), dx.data(), 500, 37);
  gatrec::test::expect_matrix_near("y", y.download(), y_ref, 1e-6);
  // The clamped rows' gradients are dy / 1e-8: compare the others at float precision, those exactly.
  const matrix<float> got = dx.download();
  for (int r : {11, 12})
    for (int c = 0; c < 37; ++c) EXPECT_FLOAT_EQ(got(r, c), dx_ref(r, c)) << "row " << r;
  matrix<float> got_rest = got, ref_rest = dx_ref;
  got_rest.row(11).setZero();
  got_rest.row(12).setZero();
  ref_rest.row(11).setZero();
  ref_rest.row(12).setZero();
  gatrec::test::expect_matrix_near("dx", got_rest, ref_rest, 1e-5);
}

// One launch updates every tensor, a chunk of adamw_chunk_elements a block: a tensor over three
// chunks, the last one partial (a), one of exactly two chunks (c), a bias of 37 without decay (b).
TEST(CudaTraining, AdamWMatchesTheCpu) {
  GATREC_SKIP_WITHOUT_GPU();
  static_assert(gatrec::cuda::adamw_chunk_elements == 2048, "the shapes below straddle chunks of 2048");
  gatrec::parameter<float> a("a", 64, 80), b("b", 1, 37, false), c("c", 2, 2048);
  a.value = gatrec::test::random_matrix<float>(64, 80, 1);
  b.value = gatrec::test::random_matrix<float>(1, 37, 2);
  c.value = gatrec::test::random_matrix<float>(2, 2048, 3);
  gatrec::cuda::device_parameter da(a), db(b), dc(c);
  gatrec::adamw_options opt;
  opt.lr = 3e-3;
  opt.weight_decay = 0.01;
  gatrec::adamw<float> host({&a, &b, &c}, opt);
  gatrec::cuda::device_adamw device({&da, &db, &dc}, opt);
  for (int step = 1; step <= 8; ++step) {
    a.grad = gatrec::test::random_matrix<float>(64, 80, 10 + step);
    b.grad = gatrec::test::random_matrix<float>(1, 37, 20 + step);
    c.grad = gatrec::test::random_matrix<float>(2, 2048, 30 + step);
    da.grad.upload(a.grad);
    db.grad.upload(b.grad);
    dc.grad.upload(c.grad);
    if (step == 5) {
      host.set_lr(1e-3);
      device.set_lr(1e-3);
    }
    // norm ~ 100: no clipping on odd steps, clipped to 5 on steps 2 and 6, a bound above the norm
    // (factor 1, the norm still computed) on steps 4 and 8.
    const double clip = step % 2 == 1 ? 0.0 : (step % 4 == 2 ? 5.0 : 500.0);
    const double ref_norm =
        clip > 0 ? gatrec::clip_gradient_norm(gatrec::parameter_list<float>{&a, &b, &c}, clip) : 0.0;
    host.step();
#if defined(GATREC_CUDA_EMULATION)
    const cuda_emulation::activity_counters before = cuda_emulation::activity();
#endif
    device.step(clip);
#if defined(GATREC_CUDA_EMULATION)
    // The update in one launch; clipping adds the sums of squares and the factor, one launch each.
    EXPECT_EQ((cuda_emulation::activity() - before).kernel_launches, clip > 0 ? 3 : 1) << "step " << step;
#endif
    if (clip > 0) {
      EXPECT_NEAR(device.last_gradient_norm(), ref_norm, 1e-5 * ref_norm);
      if (clip == 5.0) {
        EXPECT_GT(ref_norm, clip) << "this step should clip";
      } else {
        EXPECT_LT(ref_norm, clip) << "this step should not clip";
      }
    }
  }
  gatrec::test::expect_matrix_near("a after 8 steps", da.value.download(), a.value, 1e-5);
  gatrec::test::expect_matrix_near("b after 8 steps", db.value.download(), b.value, 1e-5);
  gatrec::test::expect_matrix_near("c after 8 steps", dc.value.download(), c.value, 1e-5);
  EXPECT_EQ(device.steps(), 8);
  // A parameter reallocated behind the optimiser's back is refused, not updated at its old address.
  // (The new buffer is allocated before the old one is freed, so its address differs.)
  dc.grad = gatrec::cuda::device_matrix(2, 2048);
  EXPECT_THROW(device.step(), gatrec::logic_error);
}

}  // namespace

}  // namespace test_cuda_training
