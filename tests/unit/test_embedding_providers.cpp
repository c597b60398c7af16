#include <gatrec/embeddings/in_memory_provider.hpp>
#include <gatrec/embeddings/node_features.hpp>
#include <gatrec/embeddings/npy_provider.hpp>
#include <gatrec/embeddings/text_provider.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

namespace test_embedding_providers {
namespace {

using gatrec::matrix;
using gatrec::parse_error;

// Expects a parse_error at (line, field) whose message contains `needle`.
template <class F>
void expect_parse_error(F&& f, std::size_t line, const std::string& field, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected a parse error at line " << line;
  } catch (const parse_error& e) {
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

class temp_dir {
 public:
  temp_dir() : path_(std::filesystem::temp_directory_path() / ("gatrec_emb_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return p;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

matrix<float> sample(int rows, int cols) {
  matrix<float> m(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m(r, c) = static_cast<float>(r) + 0.25f * static_cast<float>(c + 1);
  return m;
}

TEST(InMemoryProvider, LooksUpRowsInRequestOrderWithRepeats) {
  const gatrec::in_memory_provider p(sample(3, 2), {"a", "b", "c"});
  EXPECT_EQ(p.dim(), 2);
  EXPECT_EQ(p.size(), 3u);
  const auto m = p.lookup({"c", "a", "c"});
  ASSERT_EQ(m.rows(), 3);
  EXPECT_EQ(m.row(0), sample(3, 2).row(2));
  EXPECT_EQ(m.row(1), sample(3, 2).row(0));
  EXPECT_EQ(m.row(2), sample(3, 2).row(2));
  EXPECT_EQ(p.lookup({}).rows(), 0);
  EXPECT_EQ(p.lookup({}).cols(), 2);
}

TEST(InMemoryProvider, RejectsBadConstruction) {
  EXPECT_THROW(gatrec::in_memory_provider(sample(3, 2), {"a", "b"}), gatrec::logic_error);
  EXPECT_THROW(gatrec::in_memory_provider(sample(2, 2), {"a", "a"}), gatrec::logic_error);
  matrix<float> bad = sample(2, 2);
  bad(1, 1) = std::numeric_limits<float>::quiet_NaN();
  try {
    gatrec::in_memory_provider(bad, {"a", "b"});
    ADD_FAILURE() << "NaN accepted";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 (key 'b'), column 1"), std::string::npos) << e.what();
  }
}

TEST(InMemoryProvider, MissingKeysErrorListsTheFirstFew) {
  const gatrec::in_memory_provider p(sample(2, 2), {"a", "b"}, "test vectors");
  try {
    p.lookup({"a", "x1", "x2", "b", "x3", "x4", "x5", "x6", "x7"});
    ADD_FAILURE() << "no exception";
  } catch (const gatrec::missing_keys_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("test vectors: 7 of 9 keys have no vector: 'x1', 'x2', 'x3', 'x4', 'x5', ... (2 more)"),
              std::string::npos)
        << what;
    EXPECT_EQ(e.missing().size(), 7u);
    EXPECT_EQ(e.missing().back(), "x7");
  }
  // The non-throwing form reports them instead; their rows are zero.
  const auto r = p.try_lookup({"x", "b", "y"});
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.missing_rows, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(r.missing_keys, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(r.vectors.row(1), sample(2, 2).row(1));
  EXPECT_TRUE(r.vectors.row(0).isZero());
}

TEST(TextVectors, AcceptsTabsSpacesAndCommas) {
  const std::string text =
      "u1\t0.5\t-1\n"
      "u2 1e-2   2.5\r\n"
      "\n"
      "u3,3, 4\n"
      "  u4 , 5 ,6  \n";
  const auto v = gatrec::parse_text_vectors(text, "v.txt");
  EXPECT_EQ(v.keys, (std::vector<std::string>{"u1", "u2", "u3", "u4"}));
  ASSERT_EQ(v.vectors.rows(), 4);
  ASSERT_EQ(v.vectors.cols(), 2);
  EXPECT_EQ(v.vectors(0, 1), -1.0f);
  EXPECT_FLOAT_EQ(v.vectors(1, 0), 0.01f);
  EXPECT_EQ(v.vectors(2, 1), 4.0f);
  EXPECT_EQ(v.vectors(3, 0), 5.0f);
}

TEST(TextVectors, ErrorsNameLineAndField) {
  const auto parse = [](const std::string& text, gatrec::text_vector_options o = {}) {
    return [text, o] { gatrec::parse_text_vectors(text, "v.txt", o); };
  };
  expect_parse_error(parse("a 1 2\nb 1 x\n"), 2, "value 2", "not a number: 'x'");
  expect_parse_error(parse("a 1 2\nb 1 nan\n"), 2, "value 2", "not a finite number");
  expect_parse_error(parse("a 1 2\nb 1 inf\n"), 2, "value 2", "not a finite number");
  expect_parse_error(parse("a 1 2\nb 1 1e999\n"), 2, "value 2", "out of range");
  expect_parse_error(parse("a,1,,2\n"), 1, "value 2", "empty value");
  expect_parse_error(parse("a,1,2,\n"), 1, "value 3", "empty value");
  expect_parse_error(parse(",1,2\n"), 1, "id", "empty key");
  expect_parse_error(parse("a 1 2\nb\n"), 2, "", "has no values");
  expect_parse_error(parse("a 1 2\n\nb 1 2 3\n"), 3, "", "3 values, expected 2 (as on line 1)");
  expect_parse_error(parse("a 1 2\n", {3, false}), 1, "", "2 values, expected 3 (the requested dimension)");
  expect_parse_error(parse("a 1 2\nb 3 4\na 5 6\n"), 3, "id", "duplicate key 'a' (first on line 1)");
  expect_parse_error(parse(""), 0, "", "no vectors");
  expect_parse_error(parse("\n  \n"), 0, "", "no vectors");
}

TEST(TextVectors, CountDimHeader) {
  const gatrec::text_vector_options o{0, true};
  const auto v = gatrec::parse_text_vectors("2 3\na 1 2 3\nb 4 5 6\n", "v.vec", o);
  EXPECT_EQ(v.vectors.cols(), 3);
  EXPECT_EQ(v.keys.size(), 2u);
  expect_parse_error([&] { gatrec::parse_text_vectors("3 3\na 1 2 3\nb 4 5 6\n", "v.vec", o); }, 1, "header",
                     "header says 3 vectors, the file has 2");
  expect_parse_error([&] { gatrec::parse_text_vectors("2 2\na 1 2 3\n", "v.vec", o); }, 2, "",
                     "3 values, expected 2 (as on line 1)");
  expect_parse_error([&] { gatrec::parse_text_vectors("a 1 2 3\n", "v.vec", o); }, 1, "header", "'count dim'");
  expect_parse_error([&] { gatrec::parse_text_vectors("2 x\n", "v.vec", o); }, 1, "header", "not an integer");
  expect_parse_error([&] { gatrec::parse_text_vectors("", "v.vec", o); }, 0, "header", "empty file");
}

TEST(TextProvider, ReadsAFileAndNamesItInErrors) {
  const temp_dir dir;
  const auto path = dir.write("v.tsv", "10\t1 2\n20\t3 4\n");
  const gatrec::text_provider p(path);
  EXPECT_EQ(p.lookup({"20"})(0, 1), 4.0f);
  EXPECT_NE(p.description().find("v.tsv"), std::string::npos);
  const auto bad = dir.write("bad.tsv", "10\t1 2\n20\t3\n");
  try {
    gatrec::text_provider q(bad);
    ADD_FAILURE() << "no exception";
  } catch (const parse_error& e) {
    EXPECT_EQ(e.file(), bad.string());
    EXPECT_EQ(e.line(), 2u);
  }
  EXPECT_THROW(gatrec::text_provider(dir.path() / "absent.tsv"), gatrec::io_error);
}

TEST(RowIds, ParseAndErrors) {
  EXPECT_EQ(gatrec::parse_row_ids("1\n 2 \r\n3", "a.ids"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_TRUE(gatrec::parse_row_ids("", "a.ids").empty());
  expect_parse_error([] { gatrec::parse_row_ids("1\n2\n1\n", "a.ids"); }, 3, "id", "duplicate id '1' (first on line 1)");
  expect_parse_error([] { gatrec::parse_row_ids("1\n\n2\n", "a.ids"); }, 2, "id", "empty line");
}

TEST(NpyProvider, PairsRowsWithIds) {
  const temp_dir dir;
  gatrec::write_npy(dir.path() / "x.npy", sample(3, 4));
  gatrec::write_row_ids(dir.path() / "x.ids", {"7", "8", "9"});
  const gatrec::npy_provider p(dir.path() / "x.npy", dir.path() / "x.ids");
  EXPECT_EQ(p.dim(), 4);
  EXPECT_EQ(p.lookup({"9", "7"}).row(0), sample(3, 4).row(2));
  EXPECT_EQ(gatrec::read_row_ids(dir.path() / "x.ids"), (std::vector<std::string>{"7", "8", "9"}));
}

TEST(NpyProvider, IdFileErrors) {
  const temp_dir dir;
  gatrec::write_npy(dir.path() / "x.npy", sample(3, 4));
  const auto few = dir.write("few.ids", "1\n2\n");
  expect_parse_error([&] { gatrec::npy_provider(dir.path() / "x.npy", few); }, 0, "", "2 ids, but");
  const auto dup = dir.write("dup.ids", "1\n2\n2\n");
  expect_parse_error([&] { gatrec::npy_provider(dir.path() / "x.npy", dup); }, 3, "id", "duplicate id '2'");
  EXPECT_THROW(gatrec::npy_provider(dir.path() / "x.npy", dir.path() / "absent.ids"), gatrec::io_error);
  EXPECT_THROW(gatrec::npy_provider(dir.path() / "absent.npy", few), gatrec::io_error);
  EXPECT_THROW(gatrec::write_row_ids(dir.path() / "y.ids", {"1", "1"}), gatrec::logic_error);
  EXPECT_THROW(gatrec::write_row_ids(dir.path() / "y.ids", {"a\nb"}), gatrec::logic_error);
  EXPECT_THROW(gatrec::write_row_ids(dir.path() / "y.ids", {" a"}), gatrec::logic_error);
}

TEST(NodeFeatures, BuildsMatricesInDatasetIndexOrder) {
  gatrec::dataset ds;
  ds.users.insert(30);
  ds.users.insert(10);
  ds.items.insert(5);
  ds.items.insert(1);
  ds.items.insert(3);
  const gatrec::in_memory_provider users(sample(3, 2), {"10", "20", "30"});
  const gatrec::in_memory_provider items(sample(3, 2) * 2.0f, {"1", "3", "5"});
  const auto f = gatrec::build_node_features(users, items, ds);
  ASSERT_EQ(f.users.rows(), 2);
  ASSERT_EQ(f.items.rows(), 3);
  EXPECT_EQ(f.users.row(0), sample(3, 2).row(2));  // user index 0 is raw id 30
  EXPECT_EQ(f.users.row(1), sample(3, 2).row(0));
  EXPECT_EQ(f.items.row(0), (sample(3, 2) * 2.0f).row(2));
  EXPECT_EQ(f.items.row(2), (sample(3, 2) * 2.0f).row(1));

  // Prefixed keys, as when users and items share one id space in a file.
  const gatrec::in_memory_provider prefixed(sample(2, 2), {"u30", "u10"});
  gatrec::node_feature_keys keys;
  keys.user = [](gatrec::raw_id_t id) { return "u" + std::to_string(id); };
  EXPECT_EQ(gatrec::build_node_features(prefixed, items, ds, keys).users.row(1), sample(2, 2).row(1));
}

TEST(NodeFeatures, MissingIdsAndWidthMismatch) {
  gatrec::dataset ds;
  ds.users.insert(1);
  ds.users.insert(2);
  ds.items.insert(1);
  const gatrec::in_memory_provider users(sample(1, 2), {"1"}, "user vectors");
  const gatrec::in_memory_provider items(sample(1, 2), {"1"}, "item vectors");
  try {
    gatrec::build_node_features(users, items, ds);
    ADD_FAILURE() << "no exception";
  } catch (const gatrec::missing_keys_error& e) {
    EXPECT_NE(std::string(e.what()).find("users from user vectors: 1 of 2 keys have no vector: '2'"),
              std::string::npos)
        << e.what();
  }
  const gatrec::in_memory_provider wide(sample(1, 3), {"1"}, "wide");
  try {
    gatrec::build_node_features(users, wide, ds);
    ADD_FAILURE() << "no exception";
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("2 dimensions"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("have 3"), std::string::npos) << e.what();
  }
}

}  // namespace

}  // namespace test_embedding_providers
