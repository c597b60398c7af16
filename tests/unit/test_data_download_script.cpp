// scripts/download_movielens.sh without a network: argument checks, the checksum verification of
// extracted files, and the whole download flow against a file:// "server" built from a fixture.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/test_data.hpp"

namespace test_data_download_script {
namespace {

namespace fs = std::filesystem;

struct result {
  int status = -1;
  std::string output;  // stdout and stderr
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

result run(const std::string& args, const std::string& env = "") {
  const std::string script = std::string(GATREC_SOURCE_DIR) + "/scripts/download_movielens.sh";
  const std::string cmd = env + " bash " + quoted(script) + " " + args + " 2>&1";
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

bool have(const char* tool) { return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0; }

class temp_dir {
 public:
  temp_dir() {
    path_ = fs::temp_directory_path() / ("gatrec-download-test-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(DownloadScript, Arguments) {
  if (!have("bash")) GTEST_SKIP() << "bash not installed";
  result r = run("--help");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("usage:"), std::string::npos);
  EXPECT_NE(r.output.find("ml-32m"), std::string::npos);

  r = run("");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("missing NAME"), std::string::npos) << r.output;
  r = run("ml-2m");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("unknown dataset 'ml-2m'"), std::string::npos) << r.output;
  r = run("--frobnicate ml-100k");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run("ml-100k a b");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run("--verify ml-100k");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run("--verify ml-7 /tmp");
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST(DownloadScript, VerifyReportsMissingAndDamagedFiles) {
  if (!have("bash")) GTEST_SKIP() << "bash not installed";
  temp_dir d;
  std::ofstream(d.path() / "movies.dat") << "1::Not The Real File (1995)::Drama\n";
  const result r = run("--verify ml-1m " + quoted(d.path().string()));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("movies.dat: BAD sha256 checksum"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("users.dat: missing"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ratings.dat: missing"), std::string::npos) << r.output;

  const result none = run("--verify ml-1m " + quoted((d.path() / "nope").string()));
  EXPECT_EQ(none.status, 1) << none.output;
  EXPECT_NE(none.output.find("not a folder"), std::string::npos) << none.output;

  // The CSV releases have no per-file checksums: nothing to fail on, and the script says so.
  const result csv = run("--verify ml-25m " + quoted(d.path().string()));
  EXPECT_EQ(csv.status, 0) << csv.output;
  EXPECT_NE(csv.output.find("no per-file checksums"), std::string::npos) << csv.output;
}

TEST(DownloadScript, OfflineDownloadFromFileUrl) {
  if (!have("bash") || !have("curl") || !have("md5sum") || !(have("unzip") || have("python3")) ||
      !(have("zip") || have("python3")))
    GTEST_SKIP() << "needs bash, curl, md5sum, and zip/unzip or python3";
  temp_dir d;
  const fs::path server = d.path() / "server", stage = d.path() / "stage", dest = d.path() / "dest";
  fs::create_directories(server);
  fs::create_directories(stage);
  fs::copy(gatrec::test::fixtures() / "ml-latest-small", stage / "ml-latest-small");
  const std::string zip_cmd =
      have("zip") ? "cd " + quoted(stage.string()) + " && zip -qr " + quoted((server / "ml-latest-small.zip").string()) +
                        " ml-latest-small"
                  : "cd " + quoted(stage.string()) + " && python3 -m zipfile -c " +
                        quoted((server / "ml-latest-small.zip").string()) + " ml-latest-small";
  ASSERT_EQ(std::system(zip_cmd.c_str()), 0);
  ASSERT_EQ(std::system(("cd " + quoted(server.string()) + " && md5sum ml-latest-small.zip > ml-latest-small.zip.md5").c_str()), 0);
  const std::string env = "GATREC_MOVIELENS_URL=" + quoted("file://" + server.string());

  result r = run("ml-latest-small " + quoted(dest.string()), env);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("md5 OK"), std::string::npos) << r.output;
  for (const char* f : {"movies.csv", "ratings.csv", "links.csv", "tags.csv"})
    EXPECT_TRUE(fs::exists(dest / "ml-latest-small" / f)) << f;

  r = run("ml-latest-small " + quoted(dest.string()), env);  // already there: kept
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("already present"), std::string::npos) << r.output;

  std::ofstream(server / "ml-latest-small.zip.md5") << "0123456789abcdef0123456789abcdef  ml-latest-small.zip\n";
  r = run("--force ml-latest-small " + quoted(dest.string()), env);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("differs from the published"), std::string::npos) << r.output;

  fs::remove(server / "ml-latest-small.zip.md5");  // no md5 offered: a note, then success
  r = run("--force ml-latest-small " + quoted(dest.string()), env);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("offers no ml-latest-small.zip.md5"), std::string::npos) << r.output;

  r = run("ml-25m " + quoted(dest.string()), env);  // not on the "server"
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("could not download"), std::string::npos) << r.output;

  // An ml-100k archive whose files are not GroupLens' is refused after extraction.
  fs::rename(stage / "ml-latest-small", stage / "ml-100k");
  const std::string zip100k =
      have("zip") ? "cd " + quoted(stage.string()) + " && zip -qr " + quoted((server / "ml-100k.zip").string()) + " ml-100k"
                  : "cd " + quoted(stage.string()) + " && python3 -m zipfile -c " +
                        quoted((server / "ml-100k.zip").string()) + " ml-100k";
  ASSERT_EQ(std::system(zip100k.c_str()), 0);
  r = run("ml-100k " + quoted(dest.string()), env);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("u.data: missing"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dest / "ml-100k"));
}

}  // namespace

}  // namespace test_data_download_script
