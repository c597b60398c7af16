// Fuzz-style robustness: every loader fed thousands of seeded mutations of valid fixtures must
// either return a sane dataset or throw parse_error / io_error: never crash, hang, throw anything
// else, or return out-of-range indices, off-scale ratings or invalid UTF-8.

#include <gatrec/core/random.hpp>
#include <gatrec/data/csv_reader.hpp>
#include <gatrec/data/lcfn.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/data/movielens_csv.hpp>
#include <gatrec/data/movielens_dat.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "support/test_data.hpp"

namespace test_data_fuzz {
namespace {

using namespace gatrec;
namespace fs = std::filesystem;

class scratch_dir {
 public:
  explicit scratch_dir(const std::string& fixture) {
    path_ = fs::temp_directory_path() / ("gatrec-fuzz-" + std::to_string(::getpid()) + "-" + fixture);
    fs::remove_all(path_);
    fs::create_directories(path_);
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
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

/// Tokens that have broken parsers before: huge and negative numbers, non-finite values, stray
/// separators and quotes, encodings.
const std::vector<std::string>& nasty_tokens() {
  static const std::vector<std::string> tokens = {
      "99999999999999999999999", "-1", "-0", "nan", "NaN", "inf", "-inf", "1e309", "0x10", "+4", "4.", ".5",
      "3.5", "0", "", " ", "\t", "::", ":", "|", ",", "\"", "\"\"", "\r", "\n", "\r\n", "\xEF\xBB\xBF",
      "\xFF\xFE", "\xC3", std::string(1, '\0'), "2147483648", "9223372036854775807", "9223372036854775808", "16777216",
      "1e-400", "5.0000001", "4.9999999", "0.5", "1,5", std::string(300, '9')};
  return tokens;
}

/// One seeded mutation of `text`.
std::string mutate(const std::string& text, rng& gen) {
  std::string s = text;
  const auto pos = [&](std::size_t extra = 0) { return s.empty() ? 0 : gen.below(s.size() + extra); };
  const int rounds = 1 + static_cast<int>(gen.below(3));
  for (int r = 0; r < rounds; ++r) {
    switch (gen.below(9)) {
      case 0:  // flip one byte to anything
        if (!s.empty()) s[pos()] = static_cast<char>(gen.below(256));
        break;
      case 1:  // insert a random byte
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos(1)), static_cast<char>(gen.below(256)));
        break;
      case 2:  // delete a span
        if (!s.empty()) {
          const std::size_t at = pos();
          s.erase(at, 1 + gen.below(8));
        }
        break;
      case 3:  // truncate
        s.resize(pos(1));
        break;
      case 4: {  // insert a nasty token
        const auto& t = nasty_tokens()[gen.below(nasty_tokens().size())];
        s.insert(pos(1), t);
        break;
      }
      case 5: {  // replace a digit run with a nasty token
        std::size_t at = pos();
        while (at < s.size() && !(s[at] >= '0' && s[at] <= '9')) ++at;
        std::size_t end = at;
        while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
        s.replace(at, end - at, nasty_tokens()[gen.below(nasty_tokens().size())]);
        break;
      }
      case 6: {  // duplicate a line
        const std::size_t at = s.rfind('\n', pos());
        const std::size_t begin = at == std::string::npos ? 0 : at + 1;
        const std::size_t end = s.find('\n', begin);
        const std::string line = s.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1);
        s.insert(begin, line);
        break;
      }
      case 7: {  // swap separators for wrong ones
        static const char seps[] = {'\t', '|', ':', ',', ' ', ';', '"'};
        const char from = seps[gen.below(sizeof seps)], to = seps[gen.below(sizeof seps)];
        for (std::size_t k = pos(); k < s.size() && k < 200 + s.size() / 2; ++k)
          if (s[k] == from) s[k] = to;
        break;
      }
      default:  // empty file
        if (gen.below(8) == 0) s.clear();
        break;
    }
  }
  return s;
}

/// What a successful load must guarantee whatever the input was.
void expect_sane(const dataset& ds, const std::string& context) {
  const auto users = ds.num_users(), items = ds.num_items();
  ASSERT_EQ(ds.ratings.user.size(), ds.ratings.item.size()) << context;
  ASSERT_EQ(ds.ratings.user.size(), ds.ratings.rating.size()) << context;
  ASSERT_EQ(ds.ratings.user.size(), ds.ratings.timestamp.size()) << context;
  for (std::size_t k = 0; k < ds.ratings.size(); ++k) {
    ASSERT_TRUE(ds.ratings.user[k] >= 0 && ds.ratings.user[k] < users) << context;
    ASSERT_TRUE(ds.ratings.item[k] >= 0 && ds.ratings.item[k] < items) << context;
    const float r = ds.ratings.rating[k];
    ASSERT_TRUE(std::isfinite(r) && r >= ds.min_rating && r <= ds.max_rating) << context << " rating " << r;
  }
  ASSERT_TRUE(ds.item_meta.empty() || ds.item_meta.size() == static_cast<std::size_t>(items)) << context;
  ASSERT_TRUE(ds.user_meta.empty() || ds.user_meta.size() == static_cast<std::size_t>(users)) << context;
  for (const auto& m : ds.item_meta) {
    ASSERT_TRUE(is_valid_utf8(m.title)) << context;
    for (const auto& g : m.genres) ASSERT_TRUE(is_valid_utf8(g)) << context;
    for (const auto& t : m.tags) ASSERT_TRUE(is_valid_utf8(t)) << context;
  }
  for (raw_id_t raw : ds.users.raw_ids()) ASSERT_GE(raw, 0) << context;
  for (raw_id_t raw : ds.items.raw_ids()) ASSERT_GE(raw, 0) << context;
}

struct outcome_counts {
  int loaded = 0;
  int parse_errors = 0;
  int io_errors = 0;
};

/// Mutates each file of a fixture folder in turn, `variants` times in all, and loads the folder.
outcome_counts fuzz_folder(const std::string& fixture, const std::vector<std::string>& files, int variants,
                           std::uint64_t seed, const std::function<dataset(const fs::path&)>& load) {
  scratch_dir dir(fixture);
  std::vector<std::string> originals;
  for (const auto& f : files) originals.push_back(read_file(dir.path() / f));
  rng gen(seed);
  outcome_counts counts;
  for (int v = 0; v < variants; ++v) {
    const std::size_t which = gen.below(files.size());
    const std::string mutated = mutate(originals[which], gen);
    dir.write(files[which], mutated);
    const std::string context = fixture + "/" + files[which] + " variant " + std::to_string(v);
    try {
      const dataset ds = load(dir.path());
      expect_sane(ds, context);
      ++counts.loaded;
    } catch (const parse_error& e) {
      ++counts.parse_errors;
      EXPECT_FALSE(e.file().empty()) << context;
      // A broken users or items file may surface as an unknown id in the ratings file.
      const bool names_mutated = std::string(e.what()).find(files[which]) != std::string::npos;
      const bool unknown_id = std::string(e.what()).find("unknown") != std::string::npos;
      EXPECT_TRUE(names_mutated || unknown_id) << context << ": the error should name the mutated file: " << e.what();
    } catch (const io_error&) {
      ++counts.io_errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << context << ": unexpected exception " << typeid(e).name() << ": " << e.what();
    }
    dir.write(files[which], originals[which]);
    if (::testing::Test::HasFatalFailure()) break;
  }
  return counts;
}

void report(const std::string& name, const outcome_counts& c) {
  std::cout << name << ": " << c.loaded << " loaded, " << c.parse_errors << " parse errors, " << c.io_errors
            << " io errors\n";
  EXPECT_GT(c.parse_errors, 0) << name << ": the mutations never broke anything?";
  EXPECT_GT(c.loaded, 0) << name << ": no mutation was harmless?";
}

TEST(Fuzz, MovieLens100K) {
  const auto c = fuzz_folder("ml-100k", {"u.data", "u.item", "u.user", "u.genre"}, 1500, 101,
                             [](const fs::path& p) { return load_movielens_100k(p); });
  report("ml-100k", c);
}

TEST(Fuzz, MovieLens100KFolds) {
  const dataset ds = load_movielens_100k(test::fixtures() / "ml-100k");
  const auto c = fuzz_folder("ml-100k", {"u1.base", "u1.test"}, 500, 102, [&](const fs::path& p) {
    const split s = load_movielens_100k_fold(p, "u1", ds);
    dataset view = ds;
    view.ratings = s.train;
    for (std::size_t k = 0; k < s.test.size(); ++k)
      view.ratings.push_back(s.test.user[k], s.test.item[k], s.test.rating[k], s.test.timestamp[k]);
    return view;
  });
  report("ml-100k folds", c);
}

TEST(Fuzz, MovieLensDat) {
  const auto c1m = fuzz_folder("ml-1m", {"movies.dat", "users.dat", "ratings.dat"}, 1200, 201,
                               [](const fs::path& p) { return load_movielens_dat(p); });
  report("ml-1m", c1m);
  const auto c10m = fuzz_folder("ml-10m", {"movies.dat", "ratings.dat", "tags.dat"}, 800, 202,
                                [](const fs::path& p) { return load_movielens_dat(p); });
  report("ml-10m", c10m);
}

TEST(Fuzz, MovieLensCsv) {
  const auto c = fuzz_folder("ml-latest-small", {"movies.csv", "ratings.csv", "links.csv", "tags.csv"}, 2000, 301,
                             [](const fs::path& p) { return load_movielens_csv(p); });
  report("ml-latest-small", c);
}

TEST(Fuzz, Lcfn) {
  const auto c = fuzz_folder("lcfn", {"train.txt", "test.txt"}, 1200, 401, [](const fs::path& p) {
    const lcfn_data d = load_lcfn(p / "train.txt", p / "test.txt", unseen_ids::extend);
    EXPECT_EQ(d.parts.train.size() + d.parts.test.size(), d.data.ratings.size());
    return d.data;
  });
  report("lcfn", c);
}

TEST(Fuzz, CsvReaderOnRandomBytes) {
  const std::string base = read_file(test::fixtures() / "csv" / "profiles.csv");
  rng gen(501);
  int ok = 0, errors = 0;
  for (int v = 0; v < 3000; ++v) {
    std::string text;
    if (v % 3 == 0) {
      text.resize(gen.below(200));
      static const char alphabet[] = {'a', ',', '"', '\n', '\r', ' ', '1', '\xFF'};
      for (auto& c : text) c = alphabet[gen.below(sizeof alphabet)];
    } else {
      text = mutate(base, gen);
    }
    const std::size_t lines = count_lines(text) + 1;
    csv_reader csv(text, "fuzz.csv");
    std::size_t last_line = 0;
    try {
      while (csv.next()) {
        ASSERT_GT(csv.line(), last_line) << "records must start on increasing lines";
        ASSERT_LE(csv.line(), lines);
        ASSERT_GE(csv.size(), 1u);
        for (const auto f : csv.fields()) ASSERT_LE(f.size(), text.size());
        last_line = csv.line();
      }
      ++ok;
    } catch (const parse_error& e) {
      ++errors;
      EXPECT_EQ(e.file(), "fuzz.csv");
      EXPECT_GE(e.line(), last_line);
      EXPECT_LE(e.line(), lines);
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(errors, 0);
}

// Hand-made bad lines: each must fail on exactly its own line and field.
TEST(Fuzz, HandMadeBadRatingLines) {
  struct bad_line {
    std::string text;
    std::string field;
  };
  const std::vector<bad_line> cases = {
      {"1\t10\t4", ""},                           // missing field
      {"1\t10\t4\t881250949\t7", ""},             // extra field
      {"12\t10\t4\t1", "user_id"},                 // unknown user
      {"1,10,4,881250949", ""},                   // wrong separator
      {"1\t10\t4\t8812509x9", "timestamp"},       // garbled
      {"1\t10\t\t881250949", "rating"},           // empty rating
      {"1\t10\tnan\t881250949", "rating"},        // NaN
      {"1\t10\t-4\t881250949", "rating"},         // negative rating
      {"1\t10\t4.0000\t881250949", ""},           // accepted: 4.0 is a whole star
      {"99999999999999999999\t10\t4\t1", "user_id"},  // huge id
      {"-7\t10\t4\t1", "user_id"},                // negative id
      {"1\t-10\t4\t1", "item_id"},
      {"1\t10\t4\t99999999999999999999", "timestamp"},
      {"1\t1e3\t4\t1", "item_id"},
      {"\xFF\t10\t4\t1", "user_id"},
      {"1\t10\t4 \t 1", ""},                      // accepted: padding around numbers
  };
  scratch_dir d("ml-100k");
  const std::string good = "1\t10\t4\t881250949\n2\t12\t2\t881251000\n";
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const std::string& line = cases[k].text;
    const std::string& field = cases[k].field;
    d.write("u.data", good + line + "\n" + good);
    try {
      const dataset ds = load_movielens_100k(d.path());
      EXPECT_TRUE(field.empty() && (k == 8 || k == 15)) << "accepted: " << line;
      EXPECT_EQ(ds.ratings.size(), 5u);
    } catch (const parse_error& e) {
      EXPECT_EQ(e.line(), 3u) << line << ": " << e.what();
      EXPECT_EQ(e.field(), field) << line << ": " << e.what();
      EXPECT_NE(k, 8u);
      EXPECT_NE(k, 15u);
    }
  }
}

}  // namespace

}  // namespace test_data_fuzz
