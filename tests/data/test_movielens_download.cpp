// scripts/download_movielens.sh --verify on the real files in ../shared/data.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "support/test_data.hpp"

namespace test_movielens_download {
namespace {

struct result {
  int status = -1;
  std::string output;
};

result verify(const std::string& name, const std::filesystem::path& dir) {
  const std::string cmd = "bash '" + std::string(GATREC_SOURCE_DIR) + "/scripts/download_movielens.sh' --verify " +
                          name + " '" + dir.string() + "' 2>&1";
  result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(RealDownloadChecksums, Ml100kMatchesTheScriptsChecksums) {
  GATREC_REQUIRE_DATA(root, "ml-100k/u.data");
  const result r = verify("ml-100k", root / "ml-100k");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count(r.output, ": OK (sha256)"), 23u) << r.output;
}

TEST(RealDownloadChecksums, Ml1mMoviesAndUsersMatch) {
  GATREC_REQUIRE_DATA(root, "ml-1m/movies.dat");
  const result r = verify("ml-1m", root / "ml-1m");
  EXPECT_NE(r.output.find("movies.dat: OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("users.dat: OK"), std::string::npos) << r.output;
  if (std::filesystem::exists(root / "ml-1m" / "ratings.dat")) {
    EXPECT_EQ(r.status, 0) << r.output;
  } else {
    EXPECT_EQ(r.status, 1) << r.output;  // the shared copy lacks the full ratings.dat
    EXPECT_NE(r.output.find("ratings.dat: missing"), std::string::npos) << r.output;
  }
}

}  // namespace

}  // namespace test_movielens_download
