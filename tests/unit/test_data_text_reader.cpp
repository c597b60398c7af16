// The text layer under the loaders: file reads, lines, fields, numbers, encodings, CSV records.

#include <gatrec/data/csv_reader.hpp>
#include <gatrec/data/file_bytes.hpp>
#include <gatrec/data/id_lookup.hpp>
#include <gatrec/data/movie_title.hpp>
#include <gatrec/data/text_reader.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_data.hpp"

namespace test_data_text_reader {
namespace {

using namespace gatrec;
namespace fs = std::filesystem;

std::vector<std::string> all_lines(std::string_view text, std::vector<std::size_t>* numbers = nullptr) {
  line_reader r(text);
  std::vector<std::string> out;
  std::string_view line;
  while (r.next(line)) {
    out.emplace_back(line);
    if (numbers != nullptr) numbers->push_back(r.line_number());
  }
  return out;
}

std::vector<std::vector<std::string>> all_records(std::string_view text, std::vector<std::size_t>* lines = nullptr) {
  csv_reader csv(text, "t.csv");
  std::vector<std::vector<std::string>> out;
  while (csv.next()) {
    out.emplace_back(csv.fields().begin(), csv.fields().end());
    if (lines != nullptr) lines->push_back(csv.line());
  }
  return out;
}

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

TEST(ReadFile, ReadsBytesUnchanged) {
  const std::string text = read_file(test::fixtures() / "ml-100k" / "u.item");
  EXPECT_NE(text.find("Mis\xE9rables"), std::string::npos);  // latin-1 kept as is
  EXPECT_EQ(text.back(), '\n');
}

TEST(ReadFile, MissingFileNamesThePath) {
  const fs::path p = test::fixtures() / "no-such-dir" / "nothing.dat";
  try {
    read_file(p);
    FAIL() << "expected io_error";
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_file(test::fixtures()), io_error);  // a directory
}

TEST(FileBytes, MappedOrReadSameBytes) {
  const fs::path item = test::fixtures() / "ml-100k" / "u.item";
  file_bytes bytes(item);
  EXPECT_EQ(bytes.view(), read_file(item));
  file_bytes moved = std::move(bytes);
  EXPECT_EQ(moved.view(), read_file(item));
  EXPECT_TRUE(bytes.view().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract

  const fs::path empty = fs::temp_directory_path() / "gatrec-empty-file-test";
  std::ofstream(empty).close();
  EXPECT_TRUE(file_bytes(empty).view().empty());
  EXPECT_FALSE(file_bytes(empty).mapped());
  fs::remove(empty);
  if (fs::exists("/proc/self/status")) {  // reports size 0: read, not mapped
    file_bytes status("/proc/self/status");
    EXPECT_FALSE(status.mapped());
    EXPECT_NE(status.view().find("Name:"), std::string_view::npos);
  }
  EXPECT_THROW(file_bytes(test::fixtures() / "missing.dat"), io_error);
  EXPECT_THROW(file_bytes{test::fixtures()}, io_error);
}

TEST(LineReader, CountsLinesAndHandlesEndings) {
  std::vector<std::size_t> numbers;
  EXPECT_EQ(all_lines("a\r\nb\n\nc", &numbers), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(numbers, (std::vector<std::size_t>{1, 2, 3, 4}));
  EXPECT_EQ(all_lines("a\n"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(all_lines("a\n\n\n"), (std::vector<std::string>{"a", "", ""}));
  EXPECT_TRUE(all_lines("").empty());
  EXPECT_EQ(all_lines("\xEF\xBB\xBFhead\nx"), (std::vector<std::string>{"head", "x"}));
  EXPECT_EQ(count_lines("a\nb"), 2u);
  EXPECT_EQ(count_lines("a\nb\n"), 2u);
  EXPECT_EQ(count_lines(""), 0u);
  // The word-at-a-time count against a plain one, at every alignment and tail length.
  std::string text;
  for (int k = 0; k < 300; ++k) text += (k * 7919) % 5 == 0 ? '\n' : static_cast<char>('a' + k % 26);
  for (std::size_t start = 0; start < 9; ++start)
    for (std::size_t len = 0; start + len <= text.size(); len += 13) {
      const std::string_view v = std::string_view(text).substr(start, len);
      std::size_t expected = static_cast<std::size_t>(std::count(v.begin(), v.end(), '\n'));
      if (!v.empty() && v.back() != '\n') ++expected;
      ASSERT_EQ(count_lines(v), expected) << start << " " << len;
    }
  EXPECT_EQ(count_lines(std::string(64, '\n')), 64u);
  EXPECT_EQ(count_lines(std::string("\x8a\x0a\xff\x0b", 4)), 2u);
}

TEST(LineReader, RestAndStartingLine) {
  line_reader r("h\nx\ny\n");
  std::string_view line;
  ASSERT_TRUE(r.next(line));
  EXPECT_EQ(r.rest(), "x\ny\n");
  line_reader body(r.rest(), r.next_line_number());
  ASSERT_TRUE(body.next(line));
  EXPECT_EQ(line, "x");
  EXPECT_EQ(body.line_number(), 2u);
}

TEST(SplitFields, OneCharAndMultiChar) {
  std::string_view f[4];
  EXPECT_EQ(split_fields("1\t2\t3\t4", '\t', f, 4), 4u);
  EXPECT_EQ(f[3], "4");
  EXPECT_EQ(split_fields("1\t2\t3\t4\t5", '\t', f, 4), 5u);  // reports the real count
  EXPECT_EQ(split_fields("", '\t', f, 4), 1u);
  EXPECT_EQ(split_fields("a::b::::c", "::", f, 4), 4u);
  EXPECT_EQ(f[2], "");
  EXPECT_EQ(f[3], "c");
  EXPECT_EQ(split_fields("a:b", "::", f, 4), 1u);
  EXPECT_EQ(split_fields("x,y", std::string_view(","), f, 4), 2u);
  EXPECT_THROW(split_fields("x", std::string_view(), f, 4), logic_error);
  EXPECT_EQ(split_fields("a::b", "::"), (std::vector<std::string_view>{"a", "b"}));
  std::vector<std::string_view> words;
  split_whitespace("  7 8\t\t9 ", words);
  EXPECT_EQ(words, (std::vector<std::string_view>{"7", "8", "9"}));
}

TEST(ParseNumbers, Valid) {
  EXPECT_EQ(parse_integer<int>("42", "f", 1, "x"), 42);
  EXPECT_EQ(parse_integer<int>(" -7 ", "f", 1, "x"), -7);
  EXPECT_EQ(parse_integer<std::int64_t>("9007199254740993", "f", 1, "x"), 9007199254740993LL);
  EXPECT_FLOAT_EQ(parse_real<float>("3.5", "f", 1, "x"), 3.5f);
  EXPECT_DOUBLE_EQ(parse_real<double>("1e-3", "f", 1, "x"), 1e-3);
}

TEST(ParseNumbers, ErrorsNameFileLineFieldAndQuoteText) {
  auto e = expect_parse_error([] { parse_integer<int>("12x", "ratings.dat", 17, "user_id"); });
  EXPECT_EQ(e.file(), "ratings.dat");
  EXPECT_EQ(e.line(), 17u);
  EXPECT_EQ(e.field(), "user_id");
  const std::string msg = e.what();
  EXPECT_NE(msg.find("ratings.dat:17"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'user_id'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'12x'"), std::string::npos) << msg;

  e = expect_parse_error([] { parse_integer<int>("99999999999", "f", 2, "item_id"); });
  EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos);
  e = expect_parse_error([] { parse_integer<int>("", "f", 3, "item_id"); });
  EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  e = expect_parse_error([] { parse_real<float>("nan", "f", 4, "rating"); });
  EXPECT_NE(std::string(e.what()).find("finite"), std::string::npos);
  EXPECT_THROW(parse_real<float>("inf", "f", 4, "rating"), parse_error);
  EXPECT_THROW(parse_real<float>("1e999", "f", 4, "rating"), parse_error);
  EXPECT_THROW(parse_real<float>("3,5", "f", 4, "rating"), parse_error);
  EXPECT_THROW(parse_integer<int>("+3", "f", 4, "x"), parse_error);

  // Long and binary text is truncated and escaped.
  const std::string junk = std::string(200, 'z') + "\x01";
  e = expect_parse_error([&] { parse_integer<int>(junk, "f", 5, "x"); });
  const std::string m = e.what();
  EXPECT_LT(m.size(), 160u) << m;
  EXPECT_NE(m.find("..."), std::string::npos);
  e = expect_parse_error([] { parse_integer<int>("\xff\x02", "f", 5, "x"); });
  EXPECT_NE(std::string(e.what()).find("\\xff\\x02"), std::string::npos) << e.what();
}

TEST(Encoding, Latin1ToUtf8) {
  EXPECT_EQ(latin1_to_utf8("Mis\xE9rables"), "Mis\xC3\xA9rables");
  EXPECT_EQ(latin1_to_utf8("plain"), "plain");
  EXPECT_EQ(latin1_to_utf8("\xFF\x80"), "\xC3\xBF\xC2\x80");
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_TRUE(is_valid_utf8(latin1_to_utf8(all)));
}

TEST(Encoding, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("Am\xC3\xA9lie \xE2\x80\x93 \xF0\x9F\x8E\xAC"));
  EXPECT_FALSE(is_valid_utf8("Mis\xE9rables"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x80"));          // truncated
  EXPECT_EQ(to_utf8("Caf\xE9"), "Caf\xC3\xA9");
  EXPECT_EQ(to_utf8("Caf\xC3\xA9"), "Caf\xC3\xA9");  // already UTF-8: unchanged
}

TEST(Csv, QuotedFieldsDoubledQuotesAndSeparators) {
  const auto r = all_records("a,\"b, c\",\"say \"\"hi\"\"\",\n\"\",x\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"a", "b, c", "say \"hi\"", ""}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"", "x"}));
}

TEST(Csv, RecordsSpanningLinesReportTheirFirstLine) {
  std::vector<std::size_t> lines;
  const auto r = all_records("h1,h2\r\n1,\"two\r\nlines\"\r\n\r\n2,\"x\ny\nz\"\n3,end", &lines);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1][1], "two\r\nlines");
  EXPECT_EQ(r[2][1], "x\ny\nz");
  EXPECT_EQ(r[3], (std::vector<std::string>{"3", "end"}));
  EXPECT_EQ(lines, (std::vector<std::size_t>{1, 2, 5, 8}));
}

TEST(Csv, ProfileFixture) {
  const std::string text = read_file(test::fixtures() / "csv" / "profiles.csv");
  std::vector<std::size_t> lines;
  const auto r = all_records(text, &lines);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"user_id", "user_profile"}));
  EXPECT_EQ(r[1][1], "## Overview\r\nLikes quiet dramas, and \"slow\" cinema.\r\n\r\n## Dislikes\r\n- loud action");
  EXPECT_EQ(r[2], (std::vector<std::string>{"2", ""}));
  EXPECT_EQ(r[3][1], "Short, plain profile.");
  EXPECT_EQ(r[4][1], "Ends without a newline");
  EXPECT_EQ(lines, (std::vector<std::size_t>{1, 2, 7, 9, 10}));
}

TEST(Csv, LenientAndStrictCases) {
  EXPECT_EQ(all_records("a\"b,c\n")[0], (std::vector<std::string>{"a\"b", "c"}));  // bare quote kept
  EXPECT_EQ(all_records("a,b\r")[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(all_records("\"q\"\r\nz")[1], (std::vector<std::string>{"z"}));

  csv_reader open("id,text\n7,\"never\nclosed\n", "p.csv");
  open.set_field_names({"id", "text"});
  ASSERT_TRUE(open.next());
  auto e = expect_parse_error([&] { open.next(); });
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.field(), "text");
  EXPECT_NE(std::string(e.what()).find("never closes"), std::string::npos);

  csv_reader stray("1,\"ok\"x,3\n", "p.csv");
  e = expect_parse_error([&] { stray.next(); });
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(e.field(), "column 2");
}

TEST(Csv, OtherSeparator) {
  csv_reader csv("a;\"b;c\"\n", "t.csv", ';');
  ASSERT_TRUE(csv.next());
  EXPECT_EQ(csv[1], "b;c");
  EXPECT_THROW(csv_reader("", "t", '"'), logic_error);
}

TEST(Titles, SplitYear) {
  auto t = split_title_year("American President, The (1995)");
  EXPECT_EQ(t.title, "American President, The");
  EXPECT_EQ(t.year, 1995);
  t = split_title_year("Seven (Se7en) (1995) ");
  EXPECT_EQ(t.title, "Seven (Se7en)");
  EXPECT_EQ(t.year, 1995);
  t = split_title_year("Babylon 5");
  EXPECT_EQ(t.title, "Babylon 5");
  EXPECT_EQ(t.year, 0);
  t = split_title_year("Great Giving, The (1994) (V)");
  EXPECT_EQ(t.title, "Great Giving, The (1994) (V)");
  EXPECT_EQ(t.year, 0);
  t = split_title_year("Fawlty Manor (1975\xE2\x80\x93" "1979)");
  EXPECT_EQ(t.title, "Fawlty Manor");
  EXPECT_EQ(t.year, 1975);
  t = split_title_year("Open Series (2016-)");
  EXPECT_EQ(t.year, 2016);
  t = split_title_year("(1995)");
  EXPECT_EQ(t.title, "(1995)");
  EXPECT_EQ(t.year, 0);
  t = split_title_year("Number (12345)");
  EXPECT_EQ(t.year, 0);
  t = split_title_year("");
  EXPECT_EQ(t.title, "");
  EXPECT_EQ(split_genres("Action|Sci-Fi"), (std::vector<std::string>{"Action", "Sci-Fi"}));
  EXPECT_TRUE(split_genres("(no genres listed)").empty());
  EXPECT_TRUE(split_genres("").empty());
}

TEST(IdLookup, DenseAndSparseIdsAgreeWithTheMap) {
  id_map map;
  map.insert(5);
  map.insert(raw_id_t{1} << 40);
  id_lookup lookup(map);
  EXPECT_EQ(lookup.find(5), 0);
  EXPECT_EQ(lookup.find(raw_id_t{1} << 40), 1);
  EXPECT_EQ(lookup.find(6), -1);
  EXPECT_EQ(lookup.find(-3), -1);
  EXPECT_EQ(lookup.find(1 << 22), -1);
  EXPECT_EQ(lookup.insert(1 << 22), 2);
  EXPECT_EQ(lookup.insert(-3), 3);
  EXPECT_EQ(lookup.insert(5), 0);
  EXPECT_EQ(lookup.insert(id_lookup::dense_limit + 1), 4);
  EXPECT_EQ(lookup.find(1 << 22), 2);
  EXPECT_EQ(map.size(), 5);
  EXPECT_EQ(map.at(-3), 3);
  const id_map& frozen = map;
  id_lookup read_only(frozen);
  EXPECT_EQ(read_only.find(id_lookup::dense_limit + 1), 4);
  EXPECT_THROW(read_only.insert(77), logic_error);
}

}  // namespace

}  // namespace test_data_text_reader
