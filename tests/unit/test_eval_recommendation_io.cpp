#include <gatrec/eval/recommendation_io.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace test_eval_recommendation_io {
namespace {

using gatrec::id_map;
using gatrec::index_t;
using gatrec::ranked_lists;

constexpr index_t none = ranked_lists::none;

// Users with raw ids 10, 20, 30 (indices 0-2); items 100..104 inserted out of order.
struct ids {
  id_map users, items;
  ids() {
    for (gatrec::raw_id_t u : {10, 20, 30}) users.insert(u);
    for (gatrec::raw_id_t i : {103, 100, 101, 104, 102}) items.insert(i);  // index = position here
  }
};

ranked_lists read_text(const std::string& text, const ids& m) {
  return gatrec::parse_recommendations_csv(text, "recs.csv", m.users, m.items);
}

std::vector<index_t> row_of(const ranked_lists& lists, index_t u) {
  return std::vector<index_t>(lists.row(u), lists.row(u) + lists.k);
}

TEST(RecommendationIo, WritesRawIdsAndRanks) {
  ids m;
  ranked_lists lists(3, 3);
  lists.row(0)[0] = 2;  // raw 101
  lists.row(0)[1] = 0;  // raw 103
  lists.row(2)[0] = 4;  // raw 102
  std::ostringstream out;
  gatrec::write_recommendations_csv(out, lists, m.users, m.items);
  EXPECT_EQ(out.str(), "user_id,movie_id,recommendation_rank\n10,101,1\n10,103,2\n30,102,1\n");
  std::ostringstream top1;
  gatrec::write_recommendations_csv(top1, lists, m.users, m.items, 1);
  EXPECT_EQ(top1.str(), "user_id,movie_id,recommendation_rank\n10,101,1\n30,102,1\n");
  id_map two_users;
  two_users.insert(1);
  two_users.insert(2);
  std::ostringstream sink;
  EXPECT_THROW(gatrec::write_recommendations_csv(sink, lists, two_users, m.items), gatrec::logic_error);
}

TEST(RecommendationIo, RoundTripThroughAFile) {
  ids m;
  ranked_lists lists(3, 4);
  const index_t rows[3][4] = {{4, 3, 2, 1}, {0, none, none, none}, {1, 2, none, none}};
  for (index_t u = 0; u < 3; ++u)
    for (int p = 0; p < 4; ++p) lists.row(u)[p] = rows[u][p];
  const auto file = std::filesystem::temp_directory_path() /
                    ("gatrec_test_eval_io_" + std::to_string(::getpid()) + ".csv");
  gatrec::write_recommendations_csv(file, lists, m.users, m.items);
  const ranked_lists back = gatrec::read_recommendations_csv(file, m.users, m.items);
  std::filesystem::remove(file);
  EXPECT_EQ(back.k, 4);
  EXPECT_EQ(back.items, lists.items);
  EXPECT_THROW(gatrec::read_recommendations_csv(file, m.users, m.items), gatrec::io_error);
}

TEST(RecommendationIo, ReadsThePaperFormatInAnyRowOrder) {
  ids m;
  // Leading row-index column with an empty name, an extra quoted column holding a comma, CRLF line
  // ends, rows out of order, user 20 absent.
  const ranked_lists r = read_text(
      ",user_id,movie_id,recommendation_rank,module_source\r\n"
      "0,10,100,2,VGCF\r\n"
      "1,30,104,1,\"Light,GCN\"\r\n"
      "2,10,103,1,VGCF\r\n"
      "3,10,102,3,VGCF\r\n",
      m);
  EXPECT_EQ(r.num_users, 3);
  EXPECT_EQ(r.k, 3);
  EXPECT_EQ(row_of(r, 0), (std::vector<index_t>{0, 1, 4}));  // raw 103, 100, 102
  EXPECT_EQ(r.length(1), 0);
  EXPECT_EQ(row_of(r, 2), (std::vector<index_t>{3, none, none}));
  // The short names item_id and rank are accepted too.
  const ranked_lists s = read_text("rank,item_id,user_id\n1,101,20\n", m);
  EXPECT_EQ(row_of(s, 1), (std::vector<index_t>{2}));
}

// Runs the reader on `text` and returns the parse_error it must throw.
gatrec::parse_error error_of(const std::string& text) {
  ids m;
  try {
    read_text(text, m);
  } catch (const gatrec::parse_error& e) {
    return e;
  }
  ADD_FAILURE() << "no parse_error for:\n" << text;
  return gatrec::parse_error("", 0, "", "");
}

TEST(RecommendationIo, ParseErrorsNameFileLineAndField) {
  const std::string header = "user_id,movie_id,recommendation_rank\n";
  auto e = error_of(header + "10,100,1\n99,100,1\n");
  EXPECT_EQ(e.file(), "recs.csv");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.field(), "user_id");
  EXPECT_NE(std::string(e.what()).find("unknown user id 99"), std::string::npos);

  e = error_of(header + "10,999,1\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.field(), "movie_id");

  e = error_of(header + "10,10x,1\n");
  EXPECT_EQ(e.field(), "movie_id");
  EXPECT_NE(std::string(e.what()).find("'10x'"), std::string::npos);

  e = error_of(header + "10,100,0\n");
  EXPECT_EQ(e.field(), "recommendation_rank");

  e = error_of(header + "10,100,1\n10,101,3\n");  // rank 2 missing
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.field(), "recommendation_rank");

  e = error_of(header + "10,100,1\n10,101,2\n10,102,1\n");  // rank 1 twice: the later line
  EXPECT_EQ(e.line(), 4u);
  EXPECT_EQ(e.field(), "recommendation_rank");

  e = error_of(header + "10,100,2\n10,101,1\n10,100,3\n");  // item 100 twice
  EXPECT_EQ(e.line(), 4u);
  EXPECT_EQ(e.field(), "movie_id");

  e = error_of(header + "10,100\n");
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.field(), "");

  e = error_of("user_id,title,recommendation_rank\n10,100,1\n");
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(e.field(), "header");

  e = error_of("");
  EXPECT_EQ(e.line(), 0u);  // a whole-file error

  e = error_of(header + "-3,100,1\n");
  EXPECT_EQ(e.field(), "user_id");

  e = error_of(header + "10,100,\"1\n");
  EXPECT_EQ(e.line(), 2u);
}

}  // namespace

}  // namespace test_eval_recommendation_io
