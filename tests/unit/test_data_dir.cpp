// Finding the data folder and a dataset's folder inside it.

#include <gatrec/data/data_dir.hpp>

#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace test_data_dir {
namespace {

using namespace gatrec;
namespace fs = std::filesystem;

/// Sets (or unsets) an environment variable for the scope of a test, restoring it afterwards.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// Runs the test from an empty temporary folder, so that ../shared/data cannot exist.
class scoped_cwd {
 public:
  scoped_cwd() : old_(fs::current_path()) {
    dir_ = fs::temp_directory_path() / ("gatrec-data-dir-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "work");
    fs::current_path(dir_ / "work");
  }
  ~scoped_cwd() {
    fs::current_path(old_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  scoped_cwd(const scoped_cwd&) = delete;
  scoped_cwd& operator=(const scoped_cwd&) = delete;
  const fs::path& root() const { return dir_; }

 private:
  fs::path old_, dir_;
};

TEST(DataDir, FlagWinsAndMustExist) {
  scoped_cwd cwd;
  scoped_env env("GATREC_DATA", cwd.root().c_str());
  EXPECT_EQ(resolve_data_dir(cwd.root().string()), cwd.root());
  try {
    resolve_data_dir((cwd.root() / "nope").string());
    FAIL() << "expected io_error";
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
}

TEST(DataDir, EnvironmentThenDefault) {
  scoped_cwd cwd;
  {
    scoped_env env("GATREC_DATA", cwd.root().c_str());
    EXPECT_EQ(resolve_data_dir(), cwd.root());
  }
  {
    scoped_env env("GATREC_DATA", nullptr);
    try {
      resolve_data_dir();
      FAIL() << "expected io_error";
    } catch (const io_error& e) {
      EXPECT_NE(std::string(e.what()).find("shared/data"), std::string::npos) << e.what();
    }
    fs::create_directories(cwd.root() / "shared" / "data");
    EXPECT_EQ(resolve_data_dir(), fs::path("../shared/data"));
  }
}

TEST(DataDir, ErrorListsEveryPlaceTried) {
  scoped_cwd cwd;
  scoped_env env("GATREC_DATA", "/definitely/not/here");
  try {
    resolve_data_dir("");
    FAIL() << "expected io_error";
  } catch (const io_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/definitely/not/here"), std::string::npos) << msg;
    EXPECT_NE(msg.find("GATREC_DATA"), std::string::npos) << msg;
    EXPECT_NE(msg.find("shared/data"), std::string::npos) << msg;
  }
}

TEST(DatasetDir, NestedOrItself) {
  scoped_cwd cwd;
  const fs::path root = cwd.root() / "data";
  fs::create_directories(root / "ml-100k");
  EXPECT_EQ(dataset_dir(root, "ml-100k"), root / "ml-100k");
  EXPECT_EQ(dataset_dir(root / "ml-100k", "ml-100k"), root / "ml-100k");
  EXPECT_EQ(dataset_dir(root / "ml-100k/", "ml-100k"), root / "ml-100k/");

  // A renamed folder is recognised by its marker file.
  fs::create_directories(root / "my-copy");
  std::ofstream(root / "my-copy" / "ratings.csv") << "userId,movieId,rating,timestamp\n";
  EXPECT_EQ(dataset_dir(root / "my-copy", "ml-latest-small"), root / "my-copy");
  EXPECT_THROW(dataset_dir(root / "my-copy", "ml-100k"), io_error);
  try {
    dataset_dir(root, "ml-1m");
    FAIL() << "expected io_error";
  } catch (const io_error& e) {
    EXPECT_NE(std::string(e.what()).find((root / "ml-1m").string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(dataset_dir(root, ""), logic_error);
}

}  // namespace

}  // namespace test_data_dir
