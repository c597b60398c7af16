// gatrec::cuda::device_top_k (score blocks by cuBLAS, radix selection by kernels/top_k.cuh) against
// gatrec::top_k: the same lists element by element, from dense scores (ties, signed zeros,
// infinities, masks, rows with fewer candidates than k, k up to 1024, many score blocks) and from
// embeddings (exact when the dot products are exact; otherwise equal scores position by position);
// the same errors. Skips without a GPU; the algorithm itself is checked on the CPU by
// tests/unit/test_eval_rank_key.cpp.
#include <gatrec/core/random.hpp>
#include <gatrec/cuda/device_top_k.cuh>
#include <gatrec/cuda/library_handles.cuh>
#include <gatrec/eval/top_k.hpp>
#include <gatrec/eval/user_item_sets.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cuda/device_test_support.cuh"
#include "support/random_graphs.hpp"

namespace test_cuda_top_k {
namespace {

using gatrec::index_t;
using gatrec::matrix;
using gatrec::ranked_lists;
using gatrec::user_item_sets;
using gatrec::cuda::device_matrix;
using gatrec::cuda::device_top_k;

user_item_sets random_mask(index_t users, index_t items, double density, std::uint64_t seed) {
  gatrec::rng r(seed);
  gatrec::rating_table t;
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i < items; ++i)
      if (r.uniform() < density) t.push_back(u, i, 1.0f);
  return user_item_sets(users, items, t);
}

// Scores with ties (a few integer levels), signed zeros and infinities mixed into normal values.
matrix<float> awkward_scores(index_t users, index_t items, std::uint64_t seed) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  gatrec::rng r(seed);
  matrix<float> s(users, items);
  for (Eigen::Index k = 0; k < s.size(); ++k) {
    const std::uint64_t kind = r.below(10);
    const float special[] = {0.0f, -0.0f, inf, -inf};
    s.data()[k] = kind < 4 ? static_cast<float>(r.below(3)) : kind < 5 ? special[r.below(4)] : static_cast<float>(r.normal());
  }
  return s;
}

void expect_same_lists(const ranked_lists& got, const ranked_lists& ref, const std::string& what) {
  ASSERT_EQ(got.num_users, ref.num_users) << what;
  ASSERT_EQ(got.k, ref.k) << what;
  for (index_t u = 0; u < ref.num_users; ++u)
    for (int p = 0; p < ref.k; ++p)
      ASSERT_EQ(got.row(u)[p], ref.row(u)[p]) << what << ": user " << u << ", position " << p;
}

TEST(CudaTopK, FromScoresEqualsTopKExactly) {
  GATREC_SKIP_WITHOUT_GPU();
  struct shape {
    index_t users, items;
  };
  for (const shape sh : {shape{1, 1}, shape{3, 7}, shape{40, 257}, shape{37, 1682}, shape{5, 20000}})
    for (int k : {1, 10, 100, 1024})
      for (double density : {0.0, 0.2, 0.9}) {
        const std::string what = std::to_string(sh.users) + " x " + std::to_string(sh.items) + ", k " +
                                 std::to_string(k) + ", mask density " + std::to_string(density);
        SCOPED_TRACE(what);
        const matrix<float> scores = awkward_scores(sh.users, sh.items, 11 + static_cast<std::uint64_t>(k));
        const user_item_sets mask =
            density > 0 ? random_mask(sh.users, sh.items, density, 3) : user_item_sets();
        const ranked_lists ref = gatrec::top_k_from_scores(scores, k, mask);
        device_matrix d(scores);
        device_top_k ranker;
        expect_same_lists(ranker(d, k, mask), ref, what);
        // The input stays untouched (masking happens in the ranker's own block).
        gatrec::test::expect_bitwise_equal("scores after ranking", d.download(), scores);
        // Blocks of 3 users: the lists do not depend on the blocking.
        device_top_k small_blocks(gatrec::cuda::device_top_k_options{3 * sizeof(float) * static_cast<std::size_t>(sh.items)});
        EXPECT_EQ(small_blocks.block_users(sh.users, sh.items), std::min<index_t>(3, sh.users));
        expect_same_lists(small_blocks(d, k, mask), ref, what + ", blocks of 3 users");
      }
}

TEST(CudaTopK, FromExactEmbeddingsEqualsTopKExactly) {
  GATREC_SKIP_WITHOUT_GPU();
  // Small integers: every dot product is exact in float on both sides, with many ties.
  gatrec::rng r(5);
  const index_t users = 300, items = 1682;
  matrix<float> u(users, 8), v(items, 8);
  for (Eigen::Index k = 0; k < u.size(); ++k) u.data()[k] = static_cast<float>(static_cast<int>(r.below(7)) - 3);
  for (Eigen::Index k = 0; k < v.size(); ++k) v.data()[k] = static_cast<float>(static_cast<int>(r.below(7)) - 3);
  const user_item_sets mask = random_mask(users, items, 0.05, 9);
  gatrec::cuda::cublas_handle blas;
  device_top_k ranker(gatrec::cuda::device_top_k_options{std::size_t{64} * items * sizeof(float)});
  for (int k : {1, 20, 200}) {
    const ranked_lists ref = gatrec::top_k(u, v, k, mask);
    expect_same_lists(ranker(blas, u, v, k, mask), ref, "k " + std::to_string(k));
  }
  // Two runs agree bit for bit, and the mask cached from the first run is still right.
  expect_same_lists(ranker(blas, u, v, 20, mask), ranker(blas, u, v, 20, mask), "second run");
  expect_same_lists(ranker(blas, u, v, 20), gatrec::top_k(u, v, 20), "no mask after a mask");
  // Another mask (of the same shape) replaces the cached one; then the first is uploaded again.
  const user_item_sets other = random_mask(users, items, 0.2, 10);
  expect_same_lists(ranker(blas, u, v, 20, other), gatrec::top_k(u, v, 20, other), "another mask");
  expect_same_lists(ranker(blas, u, v, 20, mask), gatrec::top_k(u, v, 20, mask), "the first mask again");
}

TEST(CudaTopK, FromFloatEmbeddingsRanksTheSameScores) {
  GATREC_SKIP_WITHOUT_GPU();
  // cuBLAS and Eigen may round a dot product differently in the last bit, so near-tied items may
  // swap; the scores at every position must still agree.
  const index_t users = 943, items = 1682;
  const matrix<float> u = gatrec::test::random_matrix<float>(users, 64, 1);
  const matrix<float> v = gatrec::test::random_matrix<float>(items, 64, 2);
  const user_item_sets mask = random_mask(users, items, 0.06, 4);
  gatrec::cuda::cublas_handle blas;
  device_top_k ranker;
  const int k = 20;
  const ranked_lists got = ranker(blas, u, v, k, mask);
  const ranked_lists ref = gatrec::top_k(u, v, k, mask);
  long long same = 0;
  double worst = 0;
  for (index_t a = 0; a < users; ++a)
    for (int p = 0; p < k; ++p) {
      const index_t gi = got.row(a)[p], ri = ref.row(a)[p];
      ASSERT_GE(gi, 0);
      ASSERT_FALSE(mask.contains(a, gi)) << "user " << a << " got a masked item";
      same += gi == ri;
      const double gs = u.row(a).cast<double>().dot(v.row(gi).cast<double>());
      const double rs = u.row(a).cast<double>().dot(v.row(ri).cast<double>());
      worst = std::max(worst, std::abs(gs - rs));
    }
  std::printf("  identical positions %lld of %lld, largest score difference %.2e\n", same,
              static_cast<long long>(users) * k, worst);
  EXPECT_LE(worst, 1e-4);
  EXPECT_GE(same, static_cast<long long>(users) * k * 99 / 100);
}

TEST(CudaTopK, SaysWhatIsWrong) {
  GATREC_SKIP_WITHOUT_GPU();
  gatrec::cuda::cublas_handle blas;
  device_top_k ranker;
  matrix<float> scores = matrix<float>::Ones(4, 6);
  scores(2, 5) = std::nanf("");
  auto expect_nan_named = [&](device_top_k& r) {
    try {
      r(device_matrix(scores), 3);
      FAIL() << "a NaN score was ranked";
    } catch (const gatrec::logic_error& e) {
      EXPECT_NE(std::string(e.what()).find("score of user 2 for item 5 is NaN"), std::string::npos) << e.what();
    }
  };
  expect_nan_named(ranker);
  // A masked NaN is never a candidate.
  gatrec::rating_table t;
  t.push_back(2, 5, 1.0f);
  const ranked_lists masked = ranker(device_matrix(scores), 6, user_item_sets(4, 6, t));
  EXPECT_EQ(masked.row(2)[4], 4);
  EXPECT_EQ(masked.row(2)[5], ranked_lists::none);
  EXPECT_THROW(ranker(device_matrix(scores), 0), gatrec::logic_error);
  EXPECT_THROW(ranker(device_matrix(scores), gatrec::cuda::max_device_top_k + 1), gatrec::logic_error);
  EXPECT_THROW(ranker(device_matrix(scores), 3, user_item_sets(4, 7, {})), gatrec::logic_error);
  EXPECT_THROW(ranker(blas, matrix<float>::Ones(3, 4), matrix<float>::Ones(5, 6), 2), gatrec::logic_error);
  // Blocks of one user: NaNs in the third and fourth blocks; the first of them is named.
  device_top_k one_user_blocks(gatrec::cuda::device_top_k_options{6 * sizeof(float)});
  scores(3, 0) = std::nanf("");
  expect_nan_named(one_user_blocks);
}

#if defined(GATREC_CUDA_EMULATION)
// Blocks rank one after another on the device and the lists come down once at the end, with the
// NaN flag: two copies down whatever the number of blocks (a copy per block made the host wait for
// each block before issuing the next). Counted by the emulation.
TEST(CudaTopK, ListsComeDownOnceWhateverTheBlocks) {
  const index_t users = 50, items = 40;
  const matrix<float> scores = gatrec::test::random_matrix<float>(users, items, 3);
  const user_item_sets mask = random_mask(users, items, 0.1, 4);
  for (const std::size_t budget_users : {std::size_t{50}, std::size_t{7}, std::size_t{1}}) {
    SCOPED_TRACE("blocks of " + std::to_string(budget_users) + " users");
    device_top_k ranker(gatrec::cuda::device_top_k_options{budget_users * items * sizeof(float)});
    const device_matrix d(scores);
    ranker(d, 5, mask);  // uploads the mask
    const cuda_emulation::activity_counters before = cuda_emulation::activity();
    const ranked_lists got = ranker(d, 5, mask);
    const cuda_emulation::activity_counters a = cuda_emulation::activity() - before;
    expect_same_lists(got, gatrec::top_k_from_scores(scores, 5, mask), "lists");
    EXPECT_EQ(a.device_to_host_copies, 2);
    EXPECT_EQ(a.device_to_host_bytes, got.items.size() * sizeof(index_t) + sizeof(unsigned long long));
    EXPECT_EQ(a.kernel_launches, static_cast<std::int64_t>((users + budget_users - 1) / budget_users));
  }
}
#endif

}  // namespace

}  // namespace test_cuda_top_k
