// The MovieLens and LCFN loaders on small hand-written fixtures, and their errors on hand-made bad
// lines (file, line and field checked).

#include <gatrec/data/lcfn.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/data/movielens_csv.hpp>
#include <gatrec/data/movielens_dat.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_data.hpp"

namespace test_data_movielens {
namespace {

using namespace gatrec;
namespace fs = std::filesystem;

/// A fresh copy of a fixture folder in a temporary directory, removed at the end of the test, so
/// that a test can break one file.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& fixture = "") {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("gatrec-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
    if (!fixture.empty())
      for (const auto& entry : fs::directory_iterator(test::fixtures() / fixture))
        fs::copy_file(entry.path(), path_ / entry.path().filename());
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
    return path_ / name;
  }
  std::string read(const std::string& name) const { return read_file(path_ / name); }

 private:
  fs::path path_;
};

template <class F>
parse_error expect_parse_error(F&& f) {
  try {
    f();
  } catch (const parse_error& e) {
    return e;
  }
  ADD_FAILURE() << "no parse_error thrown";
  return parse_error("", 0, "", "none");
}

void expect_error_at(const parse_error& e, const std::string& file_suffix, std::size_t line, const std::string& field,
                     const std::string& text_in_message = "") {
  EXPECT_GE(e.file().size(), file_suffix.size());
  EXPECT_EQ(e.file().substr(e.file().size() - std::min(e.file().size(), file_suffix.size())), file_suffix) << e.what();
  EXPECT_EQ(e.line(), line) << e.what();
  EXPECT_EQ(e.field(), field) << e.what();
  if (!text_in_message.empty()) {
    EXPECT_NE(std::string(e.what()).find(text_in_message), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------- ML-100K

TEST(MovieLens100K, LoadsFixture) {
  const dataset ds = load_movielens_100k(test::fixtures() / "ml-100k");
  EXPECT_EQ(ds.name, "ml-100k");
  EXPECT_EQ(ds.min_rating, 1.0f);
  EXPECT_EQ(ds.max_rating, 5.0f);
  ASSERT_EQ(ds.num_users(), 4);
  EXPECT_EQ(ds.users.raw_ids(), (std::vector<raw_id_t>{1, 2, 7, 3}));  // file order
  ASSERT_EQ(ds.user_meta.size(), 4u);
  EXPECT_EQ(ds.user_meta[1].age, 45);
  EXPECT_EQ(ds.user_meta[1].gender, "M");
  EXPECT_EQ(ds.user_meta[1].occupation, "engineer");
  EXPECT_EQ(ds.user_meta[1].zip, "T8H1N");

  ASSERT_EQ(ds.num_items(), 6);
  ASSERT_EQ(ds.item_meta.size(), 6u);
  EXPECT_EQ(ds.item_meta[0].title, "American President, The");
  EXPECT_EQ(ds.item_meta[0].year, 1995);
  EXPECT_EQ(ds.item_meta[0].release_date, "17-Nov-1995");
  EXPECT_EQ(ds.item_meta[0].genres, (std::vector<std::string>{"Comedy", "Drama", "Romance"}));
  EXPECT_EQ(ds.item_meta[1].title, "Mis\xC3\xA9rables, Les");  // latin-1 0xE9 -> UTF-8
  EXPECT_TRUE(is_valid_utf8(ds.item_meta[1].title));
  EXPECT_EQ(ds.item_meta[2].title, "unknown");
  EXPECT_EQ(ds.item_meta[2].year, 0);
  EXPECT_EQ(ds.item_meta[2].genres, (std::vector<std::string>{"unknown"}));
  EXPECT_EQ(ds.item_meta[3].title, "Great Giving, The (1994) (V)");
  EXPECT_EQ(ds.item_meta[3].year, 1994);  // from the release date
  EXPECT_EQ(ds.item_meta[3].genres, (std::vector<std::string>{"Adventure", "Animation", "Children's"}));
  EXPECT_EQ(ds.item_meta[4].title, "Quiet Harbour");  // trailing space dropped
  EXPECT_EQ(ds.item_meta[4].year, 1996);
  EXPECT_EQ(ds.item_meta[5].title, "Night Train");
  EXPECT_EQ(ds.item_meta[5].year, 1983);
  EXPECT_EQ(ds.item_meta[5].genres, (std::vector<std::string>{"Action", "Crime", "Thriller", "Western"}));

  ASSERT_EQ(ds.ratings.size(), 12u);
  EXPECT_EQ(ds.ratings.user[6], 2);  // raw user 7
  EXPECT_EQ(ds.ratings.item[6], 5);  // raw item 15
  EXPECT_EQ(ds.ratings.rating[6], 4.0f);
  EXPECT_EQ(ds.ratings.timestamp[6], 875000000);
}

TEST(MovieLens100K, Folds) {
  const fs::path dir = test::fixtures() / "ml-100k";
  const dataset ds = load_movielens_100k(dir);
  split s = load_movielens_100k_fold(dir, "u1", ds);
  EXPECT_EQ(s.train.size(), 8u);
  EXPECT_EQ(s.test.size(), 4u);
  EXPECT_TRUE(s.validation.empty());
  s = load_movielens_100k_fold(dir, "ua", ds);  // ua.test has no final newline
  EXPECT_EQ(s.train.size(), 9u);
  EXPECT_EQ(s.test.size(), 3u);
  EXPECT_EQ(s.test.timestamp.back(), 875000001);
  EXPECT_THROW(load_movielens_100k_fold(dir, "u6", ds), logic_error);
  EXPECT_THROW(load_movielens_100k_fold(dir, "", ds), logic_error);
  EXPECT_THROW(load_movielens_100k_fold(dir, "u2", ds), io_error);  // the fixture has no u2 files
  EXPECT_THROW(load_movielens_100k_fold(dir, "u1", dataset{}), logic_error);
}

TEST(MovieLens100K, MissingFolderIsAnIoError) {
  EXPECT_THROW(load_movielens_100k(test::fixtures() / "does-not-exist"), io_error);
}

TEST(MovieLens100K, BadLinesNameLineAndField) {
  scratch_dir d("ml-100k");
  d.write("u.data", "1\t10\t4\t881250949\n9\t10\t4\t881250949\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 2, "user_id", "unknown user id 9");
  d.write("u.data", "1\t10\t4\t1\n1\t99\t4\t1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 2, "item_id", "unknown item id 99");
  d.write("u.data", "1\t10\t4\t1\n\n1\t10\t6\t1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 3, "rating", "'6'");
  d.write("u.data", "1\t10\t3.5\t1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 1, "rating", "'3.5'");
  d.write("u.data", "1\t10\t4\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 1, "", "found 3");
  d.write("u.data", "1 10 4 1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 1, "", "found 1");
  d.write("u.data", "1\t10\t4\tyesterday\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 1, "timestamp", "'yesterday'");
  d.write("u.data", "-1\t10\t4\t1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 1, "user_id", "negative");
  d.write("u.data", "");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 0, "", "empty");
  d.write("u.data", "\n\r\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.data", 0, "", "empty");
  d.write("u.data", "1\t10\t4\t1\n");
  EXPECT_EQ(load_movielens_100k(d.path()).ratings.size(), 1u);

  const std::string items = d.read("u.item");
  d.write("u.item", items + "16|Broken Flags (1990)|01-Jan-1990|||0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|2\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.item", 7, "genre:Western", "'2'");
  d.write("u.item", items + "10|Duplicate (1990)|01-Jan-1990|||0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.item", 7, "item_id", "duplicate");
  d.write("u.item", items + "17|Too Short (1990)|01-Jan-1990\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.item", 7, "", "found 3");
  d.write("u.item", items);

  const std::string users = d.read("u.user");
  d.write("u.user", users + "8|x|M|writer|1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.user", 5, "age", "'x'");
  d.write("u.user", users + "8|30|Q|writer|1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.user", 5, "gender", "'Q'");
  d.write("u.user", "");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.user", 0, "", "empty");
  d.write("u.user", users);

  d.write("u.genre", "unknown|0\nAction|1\nComedy|2\n");
  expect_error_at(expect_parse_error([&] { load_movielens_100k(d.path()); }), "u.genre", 3, "genre", "Comedy");
  fs::remove(d.path() / "u.genre");  // u.genre is optional: the documented list is used
  EXPECT_EQ(load_movielens_100k(d.path()).item_meta[0].genres.size(), 3u);

  d.write("u1.test", "1\t10\t4\t1\n3\t77\t4\t1\n");
  const dataset ds = load_movielens_100k(d.path());
  expect_error_at(expect_parse_error([&] { load_movielens_100k_fold(d.path(), "u1", ds); }), "u1.test", 2, "item_id");
}

// ----------------------------------------------------------------------------------- ML-1M / 10M

TEST(MovieLensDat, LoadsMl1mFixture) {
  const dataset ds = load_movielens_dat(test::fixtures() / "ml-1m");
  EXPECT_EQ(ds.name, "ml-1m");
  EXPECT_EQ(ds.min_rating, 1.0f);
  EXPECT_EQ(ds.max_rating, 5.0f);
  ASSERT_EQ(ds.num_items(), 5);
  EXPECT_EQ(ds.item_meta[0].title, "Toy Town");
  EXPECT_EQ(ds.item_meta[0].genres, (std::vector<std::string>{"Animation", "Children's", "Comedy"}));
  EXPECT_EQ(ds.item_meta[1].title, "Caf\xC3\xA9 au Lait");
  EXPECT_EQ(ds.item_meta[1].year, 1993);
  EXPECT_EQ(ds.item_meta[2].title, "Ratio:: A Story");  // "::" inside a title
  EXPECT_EQ(ds.item_meta[2].genres, (std::vector<std::string>{"Drama", "Thriller"}));
  EXPECT_EQ(ds.item_meta[3].title, "Mystery:");
  EXPECT_EQ(ds.item_meta[3].genres, (std::vector<std::string>{"Drama"}));
  EXPECT_TRUE(ds.item_meta[4].genres.empty());
  EXPECT_EQ(ds.item_meta[4].year, 0);
  ASSERT_EQ(ds.num_users(), 3);
  EXPECT_EQ(ds.user_meta[2].age, 25);
  EXPECT_EQ(ds.user_meta[2].occupation, "0");
  EXPECT_EQ(ds.user_meta[2].zip, "T2A 4B5");
  ASSERT_EQ(ds.ratings.size(), 7u);
  EXPECT_EQ(ds.ratings.user[5], 2);
  EXPECT_EQ(ds.ratings.item[5], 4);
}

TEST(MovieLensDat, LoadsMl10mFixtureWithoutUsersFile) {
  const dataset ds = load_movielens_dat(test::fixtures() / "ml-10m");
  EXPECT_EQ(ds.min_rating, 0.5f);
  ASSERT_EQ(ds.num_users(), 2);
  EXPECT_EQ(ds.users.raw_ids(), (std::vector<raw_id_t>{71, 300}));  // first appearance
  EXPECT_TRUE(ds.user_meta.empty());
  ASSERT_EQ(ds.ratings.size(), 5u);
  EXPECT_EQ(ds.ratings.rating[1], 3.5f);
  EXPECT_EQ(ds.ratings.rating[2], 0.5f);
  EXPECT_TRUE(ds.item_meta[2].genres.empty());
  EXPECT_EQ(ds.item_meta[0].tags, (std::vector<std::string>{"pixar", "Pixar"}));
  EXPECT_EQ(ds.item_meta[2].tags, (std::vector<std::string>{"silent film", "the :: tag"}));
}

TEST(MovieLensDat, RatingsFileAlone) {
  dataset ds;
  read_movies_dat(test::fixtures() / "ml-1m" / "movies.dat", ds);
  const rating_table r = read_ratings_dat(test::fixtures() / "ml-1m" / "ratings.dat", ds,
                                          {unknown_ids::add, unknown_ids::reject, whole_stars});
  EXPECT_EQ(r.size(), 7u);
  EXPECT_EQ(ds.num_users(), 3);
  EXPECT_TRUE(ds.user_meta.empty());

  // Ids added by a ratings file get default metadata when the dataset has metadata.
  dataset partial;
  read_users_dat(test::fixtures() / "ml-1m" / "users.dat", partial);
  for (raw_id_t id : {1, 20, 21}) partial.items.insert(id);
  partial.item_meta.resize(3);
  read_ratings_dat(test::fixtures() / "ml-1m" / "ratings.dat", partial,
                   {unknown_ids::reject, unknown_ids::add, whole_stars});
  EXPECT_EQ(partial.num_items(), 5);
  EXPECT_EQ(partial.item_meta.size(), 5u);
  EXPECT_EQ(partial.user_meta.size(), 3u);
  dataset empty;
  const rating_table any = read_ratings_dat(test::fixtures() / "ml-1m" / "ratings.dat", empty,
                                            {unknown_ids::add, unknown_ids::add, whole_stars});
  EXPECT_EQ(empty.num_items(), 5);
  EXPECT_EQ(any.size(), 7u);
  dataset strict;
  read_movies_dat(test::fixtures() / "ml-1m" / "movies.dat", strict);
  expect_error_at(expect_parse_error([&] {
                    read_ratings_dat(test::fixtures() / "ml-1m" / "ratings.dat", strict, {});
                  }),
                  "ratings.dat", 1, "user_id", "unknown user id 1");
}

TEST(MovieLensDat, BadLines) {
  scratch_dir d("ml-1m");
  const std::string ratings = d.read("ratings.dat");
  d.write("ratings.dat", ratings + "1::1::4.5::978300760\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "ratings.dat", 8, "rating", "'4.5'");
  d.write("ratings.dat", ratings + "1:1:4:978300760\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "ratings.dat", 8, "", "found 1");
  d.write("ratings.dat", ratings + "3::1::4::978300760\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "ratings.dat", 8, "user_id");
  d.write("ratings.dat", ratings);
  const std::string users = d.read("users.dat");
  d.write("users.dat", users + "9::F::17::1::0\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "users.dat", 4, "age", "'17'");
  d.write("users.dat", users + "9::F::18::21::0\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "users.dat", 4, "occupation");
  d.write("users.dat", users);
  const std::string movies = d.read("movies.dat");
  d.write("movies.dat", movies + "30 Title Without Separators\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "movies.dat", 6, "");
  d.write("movies.dat", movies + "x1::Bad Id (1990)::Drama\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(d.path()); }), "movies.dat", 6, "item_id", "'x1'");
  fs::remove(d.path() / "ratings.dat");
  d.write("movies.dat", movies);
  EXPECT_THROW(load_movielens_dat(d.path()), io_error);

  scratch_dir t("ml-10m");
  t.write("ratings.dat", "71::1::0.25::1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(t.path()); }), "ratings.dat", 1, "rating");
  t.write("ratings.dat", "71::1::0::1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(t.path()); }), "ratings.dat", 1, "rating");
  t.write("ratings.dat", "71::1::5::1\n");
  t.write("tags.dat", "71::8::tag::1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_dat(t.path()); }), "tags.dat", 1, "item_id");
}

// ------------------------------------------------------------------------------------------- CSV

TEST(MovieLensCsv, LoadsFixture) {
  const dataset ds = load_movielens_csv(test::fixtures() / "ml-latest-small");
  EXPECT_EQ(ds.name, "ml-latest-small");
  EXPECT_EQ(ds.min_rating, 0.5f);
  ASSERT_EQ(ds.num_items(), 7);
  EXPECT_EQ(ds.item_meta[1].title, "American President, The");
  EXPECT_EQ(ds.item_meta[1].year, 1995);
  EXPECT_EQ(ds.item_meta[2].title, "Kiss Kiss \"Bang Bang\"");
  EXPECT_EQ(ds.item_meta[2].year, 2005);
  EXPECT_EQ(ds.item_meta[3].title, "Babylon 5");
  EXPECT_EQ(ds.item_meta[3].year, 0);
  EXPECT_EQ(ds.item_meta[4].title, "Wanderer's Tale, A");
  EXPECT_TRUE(ds.item_meta[4].genres.empty());
  EXPECT_EQ(ds.item_meta[5].title, "Fawlty Manor");
  EXPECT_EQ(ds.item_meta[5].year, 1975);
  EXPECT_EQ(ds.item_meta[6].title, "Am\xC3\xA9lie Lane");
  EXPECT_EQ(ds.item_meta[0].genres.size(), 5u);

  ASSERT_EQ(ds.num_users(), 3);
  EXPECT_EQ(ds.users.raw_ids(), (std::vector<raw_id_t>{1, 3, 2}));
  ASSERT_EQ(ds.ratings.size(), 7u);
  EXPECT_EQ(ds.ratings.rating[2], 0.5f);
  EXPECT_EQ(ds.ratings.user[5], 2);  // quoted numeric fields
  EXPECT_EQ(ds.ratings.item[5], 6);
  EXPECT_EQ(ds.ratings.rating[5], 2.5f);
  EXPECT_EQ(ds.ratings.timestamp[5], 1445715000);

  EXPECT_EQ(ds.item_meta[0].imdb_id, "0114709");
  EXPECT_EQ(ds.item_meta[0].tmdb_id, 862);
  EXPECT_EQ(ds.item_meta[3].tmdb_id, 0);  // empty tmdbId
  EXPECT_EQ(ds.item_meta[0].tags, (std::vector<std::string>{"pixar", "funny, sort of"}));
  EXPECT_EQ(ds.item_meta[2].tags, (std::vector<std::string>{"said \"bang\""}));
  EXPECT_EQ(ds.item_meta[3].tags, (std::vector<std::string>{"long\narc"}));
}

TEST(MovieLensCsv, OptionalFilesAndCrlf) {
  scratch_dir d("ml-latest-small");
  fs::remove(d.path() / "links.csv");
  fs::remove(d.path() / "tags.csv");
  std::string movies = d.read("movies.csv"), crlf;
  for (const char c : movies) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  d.write("movies.csv", "\xEF\xBB\xBF" + crlf);
  const dataset ds = load_movielens_csv(d.path());
  EXPECT_EQ(ds.num_items(), 7);
  EXPECT_EQ(ds.item_meta[6].genres, (std::vector<std::string>{"Comedy", "Romance"}));
  EXPECT_TRUE(ds.item_meta[0].tags.empty());
}

TEST(MovieLensCsv, HeadersAreChecked) {
  scratch_dir d("ml-latest-small");
  const std::string ratings = d.read("ratings.csv");
  d.write("ratings.csv", "movieId,userId,rating,timestamp\n1,1,4.0,1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "ratings.csv", 1, "header", "userId,movieId");
  d.write("ratings.csv", "userId,movieId,rating,timestamp\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "ratings.csv", 0, "", "no ratings");
  d.write("ratings.csv", "");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "ratings.csv", 0, "", "empty");
  d.write("ratings.csv", ratings);
  d.write("movies.csv", "movieId,title\n1,Toy Town (1995)\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "movies.csv", 1, "header");
  d.write("movies.csv", "movieId,title,genres\r\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "movies.csv", 0, "", "no movies");
}

TEST(MovieLensCsv, BadRecords) {
  scratch_dir d("ml-latest-small");
  const std::string movies = d.read("movies.csv"), ratings = d.read("ratings.csv"), tags = d.read("tags.csv"),
                    links = d.read("links.csv");
  d.write("movies.csv", movies + "90,\"Never Closed (1999),Drama\n91,Next (2000),Drama\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "movies.csv", 9, "title", "never closes");
  d.write("movies.csv", movies + "90,\"Stray\" (1999),Drama\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "movies.csv", 9, "title");
  d.write("movies.csv", movies + "90,Unquoted, Comma (1999),Drama\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "movies.csv", 9, "", "found 4");
  d.write("movies.csv", movies);
  d.write("ratings.csv", ratings + "4,12345,3.0,1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "ratings.csv", 9, "item_id", "12345");
  d.write("ratings.csv", ratings + "4,1,3.25,1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "ratings.csv", 9, "rating", "'3.25'");
  d.write("ratings.csv", ratings + "4,1,NaN,1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "ratings.csv", 9, "rating", "'NaN'");
  d.write("ratings.csv", ratings);
  d.write("tags.csv", tags + "1,45,\"multi\nline\ntag\",x\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "tags.csv", 8, "timestamp", "'x'");
  d.write("tags.csv", tags);
  d.write("links.csv", links + "77,0000001,1\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "links.csv", 9, "item_id", "77");
  d.write("links.csv", links + "1,tt0114709,862\n");
  expect_error_at(expect_parse_error([&] { load_movielens_csv(d.path()); }), "links.csv", 9, "imdb_id", "tt0114709");
}

// ------------------------------------------------------------------------------------------ LCFN

TEST(Lcfn, TrainOnly) {
  const lcfn_data d = load_lcfn(test::fixtures() / "lcfn" / "train.txt");
  EXPECT_EQ(d.data.name, "lcfn");
  EXPECT_EQ(d.data.num_users(), 4);  // user 2 has a line without items
  EXPECT_EQ(d.data.num_items(), 7);
  EXPECT_EQ(d.parts.train.size(), 9u);
  EXPECT_TRUE(d.parts.test.empty());
  EXPECT_EQ(d.data.ratings.size(), 9u);
  for (index_t u = 0; u < d.data.num_users(); ++u) EXPECT_EQ(d.data.users.raw(u), u);  // index == raw id
  EXPECT_EQ(d.data.items.raw(0), 10);  // item ids start at 10 in the fixture: ascending order
  EXPECT_EQ(d.parts.train.rating[0], 1.0f);
  EXPECT_EQ(d.parts.train.timestamp[0], 0);
}

TEST(Lcfn, TrainAndTest) {
  const lcfn_data d = load_lcfn(test::fixtures() / "lcfn" / "train.txt", test::fixtures() / "lcfn" / "test.txt");
  EXPECT_EQ(d.parts.test.size(), 4u);
  EXPECT_EQ(d.data.ratings.size(), 13u);
  EXPECT_EQ(d.data.num_items(), 7);
  EXPECT_EQ(d.dropped_test, 0u);
}

TEST(Lcfn, UnseenTestIds) {
  const fs::path train = test::fixtures() / "lcfn" / "train.txt", test = test::fixtures() / "lcfn" / "test_unseen.txt";
  // Line 3 "4 11 17": user 4 has no training line.
  expect_error_at(expect_parse_error([&] { load_lcfn(train, test); }), "test_unseen.txt", 3, "user_id", "user 4");
  const lcfn_data dropped = load_lcfn(train, test, unseen_ids::drop);
  EXPECT_EQ(dropped.parts.test.size(), 2u);
  EXPECT_EQ(dropped.dropped_test, 2u);
  EXPECT_EQ(dropped.data.num_users(), 4);
  const lcfn_data extended = load_lcfn(train, test, unseen_ids::extend);
  EXPECT_EQ(extended.parts.test.size(), 4u);
  EXPECT_EQ(extended.data.num_users(), 5);
  EXPECT_EQ(extended.data.num_items(), 8);
  EXPECT_EQ(extended.data.users.at(4), 4);
  EXPECT_EQ(extended.data.items.at(17), 7);  // new ids come after every training id
}

TEST(Lcfn, BadFiles) {
  scratch_dir d;
  d.write("train.txt", "0 1 2\n1 2 x3\n");
  expect_error_at(expect_parse_error([&] { load_lcfn(d.path() / "train.txt"); }), "train.txt", 2, "item_id", "'x3'");
  d.write("train.txt", "0 1 2\n0 3\n");
  expect_error_at(expect_parse_error([&] { load_lcfn(d.path() / "train.txt"); }), "train.txt", 2, "user_id", "line 1");
  d.write("train.txt", "0 1 2 1\n");
  expect_error_at(expect_parse_error([&] { load_lcfn(d.path() / "train.txt"); }), "train.txt", 1, "item_id", "twice");
  d.write("train.txt", "\n\n");
  expect_error_at(expect_parse_error([&] { load_lcfn(d.path() / "train.txt"); }), "train.txt", 0, "", "empty");
  d.write("train.txt", "0 -1\n");
  expect_error_at(expect_parse_error([&] { load_lcfn(d.path() / "train.txt"); }), "train.txt", 1, "item_id", "negative");
  EXPECT_THROW(load_lcfn(d.path() / "missing.txt"), io_error);
}

}  // namespace

}  // namespace test_data_movielens
