// The device training step's arithmetic, run on the CPU in the kernels' order: the loss incidence
// (which terms touch which row, in hybrid_loss's order), the gradient gathered row by row through
// it from the shared coefficient functions (kernels/hybrid_loss.cuh), and AdamW element by element
// with the shared update (kernels/adamw.cuh), each against the CPU implementation. The kernels
// themselves run in tests/cuda/test_cuda_training.cu on a GPU.
#include <gatrec/core/random.hpp>
#include <gatrec/train/adamw.hpp>
#include <gatrec/train/adamw_update.hpp>
#include <gatrec/train/hybrid_loss.hpp>
#include <gatrec/train/hybrid_loss_terms.hpp>
#include <gatrec/train/loss_incidence.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "support/random_graphs.hpp"
#include "support/random_triples.hpp"

namespace test_cuda_training_emulation {
namespace {

using gatrec::index_t;
using gatrec::loss_role;
using gatrec::matrix;
using gatrec::test::random_triples;

TEST(LossIncidence, ListsEveryTermOfARowInHybridLossOrder) {
  // Users 0-1 (rows 0-1), items 0-2 (rows 2-4); two positives with two negatives each.
  gatrec::training_triples t;
  t.user = {0, 0, 1, 1};
  t.positive = {0, 0, 2, 2};
  t.negative = {1, 2, 0, 1};
  const auto inc = gatrec::loss_incidence::build(t, 2, 5, 2, true);
  auto row = [&](int r) {
    std::vector<std::pair<std::int64_t, loss_role>> out;
    for (auto k = inc.offsets[r]; k < inc.offsets[r + 1]; ++k)
      out.emplace_back(gatrec::loss_entry_index(inc.entries[k]), gatrec::loss_entry_role(inc.entries[k]));
    return out;
  };
  using v = std::vector<std::pair<std::int64_t, loss_role>>;
  EXPECT_EQ(row(0), (v{{0, loss_role::bpr_user}, {1, loss_role::bpr_user}, {0, loss_role::cosine_user}}));
  EXPECT_EQ(row(1), (v{{2, loss_role::bpr_user}, {3, loss_role::bpr_user}, {1, loss_role::cosine_user}}));
  EXPECT_EQ(row(2), (v{{0, loss_role::bpr_positive}, {1, loss_role::bpr_positive}, {2, loss_role::bpr_negative},
                       {0, loss_role::cosine_item}}));
  EXPECT_EQ(row(3), (v{{0, loss_role::bpr_negative}, {3, loss_role::bpr_negative}}));
  EXPECT_EQ(row(4), (v{{1, loss_role::bpr_negative}, {2, loss_role::bpr_positive}, {3, loss_role::bpr_positive},
                       {1, loss_role::cosine_item}}));
  // Without the cosine term only the BPR entries remain.
  const auto bpr_only = gatrec::loss_incidence::build(t, 2, 5, 2, false);
  EXPECT_EQ(bpr_only.entries.size(), 12u);
  // Bad input says which triple and row.
  t.negative[3] = 7;
  try {
    gatrec::loss_incidence::build(t, 2, 5, 2, true);
    FAIL() << "a row outside the embeddings was accepted";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("negative item of triple 3 is row 9"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gatrec::loss_incidence::build(random_triples(2, 3, 3, 1, 1), 2, 5, 2, true), gatrec::logic_error);
}

// The device loss as the kernels compute it: coefficients per triple and per pair from float dot
// products (shared functions), then each row summed over its incidence entries in order.
gatrec::loss_value emulate_device_loss(const matrix<float>& h, index_t num_users, const gatrec::training_triples& t,
                                       int per_positive, const gatrec::hybrid_loss_options& opt, matrix<float>& grad) {
  const std::size_t tc = t.size(), pc = tc / static_cast<std::size_t>(per_positive);
  const bool cosine = opt.cosine_weight != 0.0;
  std::vector<double> bpr_value(tc), bpr_coef(tc), cos_terms(4 * pc);
  auto row = [&](index_t r) { return h.row(r); };
  for (std::size_t k = 0; k < tc; ++k) {
    const float pos = row(t.user[k]).dot(row(num_users + t.positive[k]));
    const float neg = row(t.user[k]).dot(row(num_users + t.negative[k]));
    const auto term = gatrec::bpr_term_of(static_cast<double>(pos) - static_cast<double>(neg),
                                          opt.bpr_weight / static_cast<double>(tc));
    bpr_value[k] = term.value;
    bpr_coef[k] = term.coefficient;
  }
  for (std::size_t p = 0; cosine && p < pc; ++p) {
    const std::size_t k = p * static_cast<std::size_t>(per_positive);
    const auto hu = row(t.user[k]), hi = row(num_users + t.positive[k]);
    const auto term = gatrec::cosine_term_of(hu.dot(hi), std::sqrt(hu.squaredNorm()), std::sqrt(hi.squaredNorm()),
                                             -opt.cosine_weight / static_cast<double>(pc));
    cos_terms[4 * p] = term.value;
    cos_terms[4 * p + 1] = term.cross;
    cos_terms[4 * p + 2] = term.user;
    cos_terms[4 * p + 3] = term.item;
  }
  const auto inc = gatrec::loss_incidence::build(t, num_users, static_cast<index_t>(h.rows()), per_positive, cosine);
  grad.setZero(h.rows(), h.cols());
  for (index_t r = 0; r < h.rows(); ++r)
    for (auto e = inc.offsets[r]; e < inc.offsets[r + 1]; ++e) {
      const auto idx = static_cast<std::size_t>(gatrec::loss_entry_index(inc.entries[e]));
      const loss_role role = gatrec::loss_entry_role(inc.entries[e]);
      for (Eigen::Index c = 0; c < h.cols(); ++c) {
        if (role == loss_role::bpr_user || role == loss_role::bpr_positive || role == loss_role::bpr_negative) {
          const float coef = static_cast<float>(bpr_coef[idx]);
          const float hu = h(t.user[idx], c), hi = h(num_users + t.positive[idx], c),
                      hj = h(num_users + t.negative[idx], c);
          if (role == loss_role::bpr_user) grad(r, c) += coef * (hi - hj);
          if (role == loss_role::bpr_positive) grad(r, c) += coef * hu;
          if (role == loss_role::bpr_negative) grad(r, c) -= coef * hu;
        } else {
          const std::size_t k = idx * static_cast<std::size_t>(per_positive);
          const bool user = role == loss_role::cosine_user;
          const index_t other = user ? num_users + t.positive[k] : t.user[k];
          grad(r, c) += static_cast<float>(cos_terms[4 * idx + 1]) * h(other, c) +
                        static_cast<float>(cos_terms[4 * idx + (user ? 2 : 3)]) * h(r, c);
        }
      }
    }
  gatrec::loss_value out;
  for (double x : bpr_value) out.bpr += x;
  out.bpr /= static_cast<double>(tc);
  if (cosine) {
    double s = 0;
    for (std::size_t p = 0; p < pc; ++p) s += cos_terms[4 * p];
    out.cosine = 1.0 - s / static_cast<double>(pc);
  }
  out.total = opt.bpr_weight * out.bpr + opt.cosine_weight * out.cosine;
  return out;
}

TEST(DeviceLossEmulation, GatheredGradientEqualsHybridLoss) {
  const index_t users = 40, items = 60;
  for (int per_positive : {1, 3})
    for (double cos_weight : {0.0, 2.0}) {
      SCOPED_TRACE("negatives " + std::to_string(per_positive) + ", cosine weight " + std::to_string(cos_weight));
      const matrix<float> h = gatrec::test::random_matrix<float>(users + items, 24, 7);
      const auto t = random_triples(users, items, 300, per_positive, 9);  // with repeated rows and pairs
      const gatrec::hybrid_loss_options opt{5.0, cos_weight};
      matrix<float> ref_grad, grad;
      const auto ref = gatrec::hybrid_loss(h, users, t, per_positive, opt, ref_grad);
      const auto got = emulate_device_loss(h, users, t, per_positive, opt, grad);
      EXPECT_NEAR(got.bpr, ref.bpr, 1e-12 * std::abs(ref.bpr));
      EXPECT_NEAR(got.cosine, ref.cosine, 1e-6);
      EXPECT_NEAR(got.total, ref.total, 1e-6 * std::abs(ref.total));
      const double scale = ref_grad.cwiseAbs().maxCoeff();
      ASSERT_GT(scale, 0.0);
      EXPECT_LE((grad - ref_grad).cwiseAbs().maxCoeff(), 1e-6 * scale);
    }
}

TEST(DeviceAdamWEmulation, ElementUpdatesEqualAdamW) {
  gatrec::parameter<float> a("a", 5, 7), b("b", 3, 4, false);
  a.value = gatrec::test::random_matrix<float>(5, 7, 1);
  b.value = gatrec::test::random_matrix<float>(3, 4, 2);
  gatrec::adamw_options opt;
  opt.lr = 3e-3;
  opt.weight_decay = 0.01;
  gatrec::adamw<float> host({&a, &b}, opt);
  std::vector<matrix<float>> value{a.value, b.value}, m{matrix<float>::Zero(5, 7), matrix<float>::Zero(3, 4)},
      v{matrix<float>::Zero(5, 7), matrix<float>::Zero(3, 4)};
  const bool decays[] = {true, false};
  for (int step = 1; step <= 6; ++step) {
    a.grad = gatrec::test::random_matrix<float>(5, 7, 10 + step);
    b.grad = gatrec::test::random_matrix<float>(3, 4, 20 + step);
    if (step == 4) opt.lr = 1e-3;  // a schedule change between steps
    host.set_lr(opt.lr);
    host.step();
    const auto c = gatrec::adamw_step_constants::of(opt, step);
    const matrix<float>* grads[] = {&a.grad, &b.grad};
    for (int p = 0; p < 2; ++p)
      for (Eigen::Index k = 0; k < value[p].size(); ++k)
        gatrec::adamw_update(value[p].data()[k], grads[p]->data()[k], m[p].data()[k], v[p].data()[k], c, decays[p]);
  }
  EXPECT_LE((value[0] - a.value).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_LE((value[1] - b.value).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_GT((value[0] - gatrec::test::random_matrix<float>(5, 7, 1)).cwiseAbs().maxCoeff(), 1e-3f);  // it moved
}

}  // namespace

}  // namespace test_cuda_training_emulation
