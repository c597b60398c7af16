// The device training step's parts against the CPU: cuda::device_hybrid_loss against
// gatrec::hybrid_loss (value and every gradient element; one and three negatives per positive,
// cosine term on and off, repeated rows), and cuda::device_adamw against gatrec::adamw with
// clip_gradient_norm (several steps, a learning-rate change, decaying and non-decaying tensors).
// Skips without a GPU; tests/unit/test_cuda_training_emulation.cpp checks the same arithmetic on the CPU.
#include <gatrec/core/random.hpp>
#include <gatrec/cuda/device_adamw.cuh>
#include <gatrec/cuda/device_hybrid_loss.cuh>
#include <gatrec/cuda/device_parameter.cuh>
#include <gatrec/train/adamw.hpp>
#include <gatrec/train/hybrid_loss.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "cuda/device_test_support.cuh"
#include "support/random_graphs.hpp"
#include "support/random_triples.hpp"

namespace {

using gatrec::index_t;
using gatrec::matrix;
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

TEST(CudaTraining, AdamWMatchesTheCpu) {
  GATREC_SKIP_WITHOUT_GPU();
  gatrec::parameter<float> a("a", 64, 48), b("b", 1, 37, false);
  a.value = gatrec::test::random_matrix<float>(64, 48, 1);
  b.value = gatrec::test::random_matrix<float>(1, 37, 2);
  gatrec::cuda::device_parameter da(a), db(b);
  gatrec::adamw_options opt;
  opt.lr = 3e-3;
  opt.weight_decay = 0.01;
  gatrec::adamw<float> host({&a, &b}, opt);
  gatrec::cuda::device_adamw device({&da, &db}, opt);
  for (int step = 1; step <= 8; ++step) {
    a.grad = gatrec::test::random_matrix<float>(64, 48, 10 + step);
    b.grad = gatrec::test::random_matrix<float>(1, 37, 20 + step);
    da.grad.upload(a.grad);
    db.grad.upload(b.grad);
    if (step == 5) {
      host.set_lr(1e-3);
      device.set_lr(1e-3);
    }
    const double clip = step % 2 == 0 ? 5.0 : 0.0;  // norm ~ 56: clips on even steps
    const double ref_norm = clip > 0 ? gatrec::clip_gradient_norm(gatrec::parameter_list<float>{&a, &b}, clip) : 0.0;
    host.step();
    const double norm = device.step(clip);
    if (clip > 0) EXPECT_NEAR(norm, ref_norm, 1e-5 * ref_norm);
  }
  gatrec::test::expect_matrix_near("a after 8 steps", da.value.download(), a.value, 1e-5);
  gatrec::test::expect_matrix_near("b after 8 steps", db.value.download(), b.value, 1e-5);
  EXPECT_EQ(device.steps(), 8);
}

}  // namespace
