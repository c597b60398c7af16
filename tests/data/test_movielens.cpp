// The loaders on the real datasets in ../shared/data (GATREC_DATA): sizes, folds, encodings, the
// LCFN split, the authors' multi-line profile CSVs, and the bipartite graph of fold u1.

#include <gatrec/data/csv_reader.hpp>
#include <gatrec/data/data_dir.hpp>
#include <gatrec/data/lcfn.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/data/movielens_dat.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/data/split.hpp>
#include <gatrec/graph/bipartite_graph.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "support/test_data.hpp"

namespace test_movielens {
namespace {

using namespace gatrec;
namespace fs = std::filesystem;

using row = std::tuple<index_t, index_t, float, std::int64_t>;

std::vector<row> sorted_rows(const std::vector<const rating_table*>& tables) {
  std::vector<row> out;
  for (const auto* t : tables)
    for (std::size_t k = 0; k < t->size(); ++k) out.emplace_back(t->user[k], t->item[k], t->rating[k], t->timestamp[k]);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RealMovieLens100K, SizesAndMetadata) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u.data");
  const dataset ds = load_movielens_100k(dataset_dir(root, "ml-100k"));
  EXPECT_EQ(ds.num_users(), 943);
  EXPECT_EQ(ds.num_items(), 1682);
  EXPECT_EQ(ds.ratings.size(), 100000u);
  EXPECT_EQ(ds.user_meta.size(), 943u);
  EXPECT_EQ(ds.item_meta.size(), 1682u);
  // Raw ids are 1..N in file order.
  EXPECT_EQ(ds.users.raw(0), 1);
  EXPECT_EQ(ds.items.raw(1681), 1682);

  for (const auto& m : ds.item_meta) EXPECT_TRUE(is_valid_utf8(m.title)) << m.title;
  const item_info& miserables = ds.item_meta[static_cast<std::size_t>(ds.items.at(543))];
  EXPECT_EQ(miserables.title, "Mis\xC3\xA9rables, Les");  // latin-1 0xE9 in u.item
  EXPECT_EQ(miserables.year, 1995);
  const item_info& toy = ds.item_meta[static_cast<std::size_t>(ds.items.at(1))];
  EXPECT_EQ(toy.title, "Toy Story");
  EXPECT_EQ(toy.genres, (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
  const item_info& unknown = ds.item_meta[static_cast<std::size_t>(ds.items.at(267))];
  EXPECT_EQ(unknown.title, "unknown");
  EXPECT_EQ(unknown.year, 0);
  EXPECT_EQ(ds.user_meta[0].age, 24);
  EXPECT_EQ(ds.user_meta[0].occupation, "technician");

  int with_year = 0;
  for (const auto& m : ds.item_meta) with_year += m.year > 0;
  EXPECT_EQ(with_year, 1681);  // all but "unknown"

  std::map<float, int> histogram;
  for (const float r : ds.ratings.rating) ++histogram[r];
  EXPECT_EQ(histogram.size(), 5u);
  EXPECT_EQ(histogram.begin()->first, 1.0f);
  EXPECT_EQ(histogram.rbegin()->first, 5.0f);
}

TEST(RealMovieLens100K, EveryFold) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const fs::path dir = dataset_dir(root, "ml-100k");
  const dataset ds = load_movielens_100k(dir);
  const auto all = sorted_rows({&ds.ratings});
  for (const auto fold : movielens_100k_folds) {
    const split s = load_movielens_100k_fold(dir, std::string(fold), ds);
    const bool five_fold = fold[1] != 'a' && fold[1] != 'b';
    EXPECT_EQ(s.train.size(), five_fold ? 80000u : 90570u) << fold;
    EXPECT_EQ(s.test.size(), five_fold ? 20000u : 9430u) << fold;
    EXPECT_TRUE(s.validation.empty());
    EXPECT_EQ(sorted_rows({&s.train, &s.test}), all) << fold << ": base + test must be u.data";
    if (!five_fold) {
      std::vector<int> per_user(943, 0);
      for (const index_t u : s.test.user) ++per_user[static_cast<std::size_t>(u)];
      EXPECT_EQ(*std::min_element(per_user.begin(), per_user.end()), 10) << fold;
      EXPECT_EQ(*std::max_element(per_user.begin(), per_user.end()), 10) << fold;
    }
  }
}

TEST(RealMovieLens100K, BipartiteGraphOfU1Base) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u1.base");
  const fs::path dir = dataset_dir(root, "ml-100k");
  const dataset ds = load_movielens_100k(dir);
  const split s = load_movielens_100k_fold(dir, "u1", ds);
  const bipartite_graph g(ds.num_users(), ds.num_items(), s.train);
  EXPECT_EQ(g.num_nodes(), 943 + 1682);
  EXPECT_EQ(g.num_edges(), 160000);

  // Expected degrees straight from the file, independently of the loader.
  std::ifstream in(dir / "u1.base");
  std::map<long, long> user_degree, item_degree;
  long u = 0, i = 0, r = 0, t = 0;
  while (in >> u >> i >> r >> t) {
    ++user_degree[u];
    ++item_degree[i];
  }
  long max_user = 0, max_item = 0, min_user = 1L << 40, min_item = 1L << 40;
  for (const auto& [id, d] : user_degree) {
    max_user = std::max(max_user, d);
    min_user = std::min(min_user, d);
  }
  for (const auto& [id, d] : item_degree) {
    max_item = std::max(max_item, d);
    min_item = std::min(min_item, d);
  }
  const long items_without_ratings = 1682 - static_cast<long>(item_degree.size());
  const long users_without_ratings = 943 - static_cast<long>(user_degree.size());

  const degree_stats st = g.graph().degrees();
  EXPECT_EQ(st.max_in, std::max(max_user, max_item));
  const long isolated = users_without_ratings + items_without_ratings;
  EXPECT_EQ(st.min_in, isolated > 0 ? 0 : std::min(min_user, min_item));
  EXPECT_EQ(st.nodes_without_in_edges, isolated);
  EXPECT_EQ(st.nodes_without_in_edges, st.nodes_without_out_edges);
  EXPECT_DOUBLE_EQ(st.mean_in, 160000.0 / (943 + 1682));
  for (index_t v = 0; v < ds.num_users(); ++v) {
    const long expected = user_degree.count(ds.users.raw(v)) ? user_degree[ds.users.raw(v)] : 0;
    ASSERT_EQ(g.graph().in_degree(g.user_node(v)), expected);
    ASSERT_EQ(g.graph().out_degree(g.user_node(v)), expected);
  }
  std::cout << "u1.base graph: max user degree " << max_user << ", max item degree " << max_item
            << ", min user degree " << min_user << ", nodes without edges " << st.nodes_without_in_edges
            << ", mean degree " << st.mean_in << "\n";
}

TEST(RealMovieLens1M, MoviesUsersAndFirst10Ratings) {
  GATREC_REQUIRE_DATA(root, "ml-1m/ratings_first10_per_user.dat");
  const fs::path dir = dataset_dir(root, "ml-1m");
  dataset ds;
  ds.name = "ml-1m";
  read_movies_dat(dir / "movies.dat", ds);
  read_users_dat(dir / "users.dat", ds);
  EXPECT_EQ(ds.num_items(), 3883);
  EXPECT_EQ(ds.num_users(), 6040);
  const rating_table r = read_ratings_dat(dir / "ratings_first10_per_user.dat", ds, {});
  EXPECT_EQ(r.size(), 60400u);
  EXPECT_EQ(ds.num_users(), 6040);  // no user added
  std::vector<int> per_user(6040, 0);
  for (const index_t u : r.user) ++per_user[static_cast<std::size_t>(u)];
  EXPECT_EQ(*std::min_element(per_user.begin(), per_user.end()), 10);
  EXPECT_EQ(*std::max_element(per_user.begin(), per_user.end()), 10);
  for (const float x : r.rating) ASSERT_TRUE(x == 1 || x == 2 || x == 3 || x == 4 || x == 5);

  for (const auto& m : ds.item_meta) {
    EXPECT_TRUE(is_valid_utf8(m.title)) << m.title;
    EXPECT_GT(m.year, 1900) << m.title;
  }
  const item_info& miserables = ds.item_meta[static_cast<std::size_t>(ds.items.at(73))];
  EXPECT_EQ(miserables.title, "Mis\xC3\xA9rables, Les");
  EXPECT_EQ(miserables.genres, (std::vector<std::string>{"Drama", "Musical"}));
  EXPECT_EQ(ds.user_meta[0].gender, "F");
  EXPECT_EQ(ds.user_meta[0].age, 1);
  EXPECT_EQ(ds.user_meta[0].occupation, "10");

  // The folder has no ratings.dat here: the full loader must say so clearly.
  if (!fs::exists(dir / "ratings.dat")) {
    try {
      load_movielens_dat(dir);
      FAIL() << "expected io_error";
    } catch (const io_error& e) {
      EXPECT_NE(std::string(e.what()).find("ratings.dat"), std::string::npos) << e.what();
    }
  }
}

// The full ratings.dat is not on these machines: build a folder with the real movies.dat and
// users.dat and a ratings.dat of the real file's length (1,000,209 lines) in its exact format, made
// of the first-10 fixture's lines followed by generated ones, and load it like a downloaded copy.
TEST(RealMovieLens1M, FullSizeRatingsFileInTheRealFormat) {
  GATREC_REQUIRE_DATA(root, "ml-1m/ratings_first10_per_user.dat");
  const fs::path src = dataset_dir(root, "ml-1m");
  const fs::path dir = fs::temp_directory_path() / ("gatrec-ml1m-full-" + std::to_string(::getpid())) / "ml-1m";
  fs::remove_all(dir.parent_path());
  fs::create_directories(dir);
  fs::copy_file(src / "movies.dat", dir / "movies.dat");
  fs::copy_file(src / "users.dat", dir / "users.dat");
  dataset ids;
  read_movies_dat(src / "movies.dat", ids);
  read_users_dat(src / "users.dat", ids);
  {
    std::ofstream out(dir / "ratings.dat", std::ios::binary);
    out << read_file(src / "ratings_first10_per_user.dat");
    rng gen(2024);
    for (std::size_t k = 60400; k < 1000209; ++k)
      out << ids.users.raw(static_cast<index_t>(gen.below(6040))) << "::"
          << ids.items.raw(static_cast<index_t>(gen.below(3883))) << "::" << 1 + gen.below(5) << "::"
          << 956703932 + gen.below(90000000) << "\n";
  }
  const dataset ds = load_movielens_dat(dir);
  EXPECT_EQ(ds.name, "ml-1m");
  EXPECT_EQ(ds.num_users(), 6040);
  EXPECT_EQ(ds.num_items(), 3883);
  EXPECT_EQ(ds.ratings.size(), 1000209u);
  EXPECT_EQ(ds.min_rating, 1.0f);
  // The first line of the real file: 1::1193::5::978300760.
  EXPECT_EQ(ds.users.raw(ds.ratings.user[0]), 1);
  EXPECT_EQ(ds.items.raw(ds.ratings.item[0]), 1193);
  EXPECT_EQ(ds.ratings.rating[0], 5.0f);
  EXPECT_EQ(ds.ratings.timestamp[0], 978300760);
  fs::remove_all(dir.parent_path());
}

TEST(RealLcfn, TrainSplit) {
  GATREC_REQUIRE_DATA(root, "ml-1m-lcfn/train.txt");
  const lcfn_data d = load_lcfn(root / "ml-1m-lcfn" / "train.txt");
  EXPECT_EQ(d.data.num_users(), 6022);
  EXPECT_EQ(d.data.num_items(), 3043);
  EXPECT_EQ(d.parts.train.size(), 796244u);
  EXPECT_EQ(d.data.ratings.size(), 796244u);
  for (index_t u = 0; u < d.data.num_users(); ++u) ASSERT_EQ(d.data.users.raw(u), u);
  for (index_t i = 0; i < d.data.num_items(); ++i) ASSERT_EQ(d.data.items.raw(i), i);
  const bipartite_graph g(d.data.num_users(), d.data.num_items(), d.parts.train);
  EXPECT_EQ(g.num_edges(), 2 * 796244);
}

TEST(RealProfiles, MultiLineCsvRecords) {
  GATREC_REQUIRE_DATA(root, "llm-profiles/ml-100k/users_unified_profiles.csv");
  const std::string users = read_file(root / "llm-profiles/ml-100k/users_unified_profiles.csv");
  csv_reader csv(users, "users_unified_profiles.csv");
  ASSERT_TRUE(csv.next());
  EXPECT_EQ(csv.fields(), (std::vector<std::string_view>{"user_id", "user_profile"}));
  std::set<long> ids;
  int empty = 0;
  while (csv.next()) {
    ASSERT_EQ(csv.size(), 2u) << "record at line " << csv.line();
    ids.insert(parse_integer<long>(csv[0], csv.file(), csv.line(), "user_id"));
    empty += trim(csv[1]).empty();
    EXPECT_TRUE(is_valid_utf8(csv[1]));
  }
  EXPECT_EQ(ids.size(), 943u);
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), 943);
  EXPECT_EQ(empty, 1);  // the data README: one user has an empty profile

  const std::string items = read_file(root / "llm-profiles/ml-100k/items_unified_profiles.csv");
  csv_reader icsv(items, "items_unified_profiles.csv");
  ASSERT_TRUE(icsv.next());
  const std::size_t columns = icsv.size();
  int records = 0;
  while (icsv.next()) {
    ASSERT_EQ(icsv.size(), columns) << "record at line " << icsv.line();
    ++records;
  }
  EXPECT_EQ(records, 1591);
}

TEST(RealDataDir, ResolvesTheSharedFolder) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u.data");
  EXPECT_TRUE(fs::equivalent(resolve_data_dir(), root));  // ctest sets GATREC_DATA
  EXPECT_TRUE(fs::equivalent(dataset_dir(root, "ml-100k"), root / "ml-100k"));
  EXPECT_TRUE(fs::equivalent(dataset_dir(root / "ml-100k", "ml-100k"), root / "ml-100k"));
}

}  // namespace

}  // namespace test_movielens
