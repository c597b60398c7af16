// The embeddings tools/embed_profiles.py writes, read back through npy_provider into ML-100K
// node features. Skips unless both the shared data and the cache files exist: the cache is made
// by running the pipeline (see tools/embed_profiles.py), never by the tests.

#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/embeddings/node_features.hpp>
#include <gatrec/embeddings/npy_provider.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/test_data.hpp"

namespace test_profiles_embeddings {
namespace {

std::filesystem::path cache_dir() {
  if (const char* env = std::getenv("GATREC_CACHE"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") / ".cache" / "gatrec";
}

class ProfileEmbeddings : public testing::TestWithParam<std::string> {};

TEST_P(ProfileEmbeddings, ReadBackAsUnitNormNodeFeatures) {
  GATREC_REQUIRE_DATA(data, "ml-100k/u.item");
  const std::string prefix = "ml100k_" + GetParam();
  const auto dir = cache_dir();
  for (const char* part : {"_users.npy", "_users.ids", "_items.npy", "_items.ids"})
    if (!std::filesystem::exists(dir / (prefix + part)))
      GTEST_SKIP() << "no " << (dir / (prefix + part)).string() << ": run gatrec-profiles --source " << GetParam()
                   << " --out " << prefix << ".jsonl and tools/embed_profiles.py " << prefix << ".jsonl";
  const gatrec::dataset ds = gatrec::load_movielens_100k(data / "ml-100k");
  const gatrec::npy_provider users(dir / (prefix + "_users.npy"), dir / (prefix + "_users.ids"));
  const gatrec::npy_provider items(dir / (prefix + "_items.npy"), dir / (prefix + "_items.ids"));
  EXPECT_EQ(users.dim(), 384);
  const auto f = gatrec::build_node_features(users, items, ds);
  ASSERT_EQ(f.users.rows(), 943);
  ASSERT_EQ(f.items.rows(), 1682);
  ASSERT_EQ(f.users.cols(), 384);
  const auto check_norms = [](const gatrec::matrix<float>& m) {
    double worst = 0;
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      worst = std::max(worst, std::abs(m.row(r).cast<double>().norm() - 1.0));
    return worst;
  };
  EXPECT_LT(check_norms(f.users), 1e-5);
  EXPECT_LT(check_norms(f.items), 1e-5);
  // Different profiles give different vectors: no two of the first 50 items coincide.
  for (Eigen::Index a = 0; a < 50; ++a)
    for (Eigen::Index b = a + 1; b < 50; ++b) EXPECT_LT(f.items.row(a).dot(f.items.row(b)), 0.9999f) << a << " " << b;
}

INSTANTIATE_TEST_SUITE_P(Sources, ProfileEmbeddings, testing::Values("unified", "integrated", "template"));

}  // namespace

}  // namespace test_profiles_embeddings
