#pragma once

/// @file
/// @brief Finding the data folder: a command-line flag, else $GATREC_DATA, else ../shared/data; and
/// a dataset's folder inside it.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "gatrec/core/error.hpp"

namespace gatrec {

namespace detail {

inline bool is_dir(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

inline bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

/// The last component of a folder path, also when it ends with a slash ("data/ml-100k/").
inline std::string folder_name(const std::filesystem::path& dir) {
  std::filesystem::path p = dir.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    const auto abs = std::filesystem::weakly_canonical(dir, ec);
    if (!ec && !abs.filename().empty()) name = abs.filename().string();
  }
  return name;
}

/// A file whose presence says that a folder holds the named MovieLens release.
inline const char* marker_file(const std::string& name) {
  if (name == "ml-100k") return "u.data";
  if (name == "ml-1m" || name == "ml-10m" || name == "ml-10M100K") return "movies.dat";
  if (name.rfind("ml-latest", 0) == 0 || name == "ml-20m" || name == "ml-25m" || name == "ml-32m")
    return "ratings.csv";
  if (name.find("lcfn") != std::string::npos) return "train.txt";
  return nullptr;
}

}  // namespace detail

/// The root data folder.
/// @param flag a folder given on the command line; when non-empty it is the only place tried
/// @return `flag` when non-empty, else `$GATREC_DATA` when set and a folder, else "../shared/data"
///         (relative to the working directory)
/// @throw io_error listing every place tried when none of them is a folder
inline std::filesystem::path resolve_data_dir(const std::string& flag = "") {
  std::vector<std::string> tried;
  if (!flag.empty()) {
    if (detail::is_dir(flag)) return flag;
    throw io_error("data folder '" + flag + "' (from the command line) does not exist or is not a folder");
  }
  if (const char* env = std::getenv("GATREC_DATA"); env != nullptr && *env != '\0') {
    if (detail::is_dir(env)) return env;
    tried.push_back(std::string("'") + env + "' (from $GATREC_DATA)");
  }
  const std::filesystem::path fallback = "../shared/data";
  if (detail::is_dir(fallback)) return fallback;
  std::error_code ec;
  const auto abs = std::filesystem::absolute(fallback, ec);
  tried.push_back("'" + (ec ? fallback : abs.lexically_normal()).string() + "' (the default)");
  std::string msg = "no data folder found; tried ";
  for (std::size_t k = 0; k < tried.size(); ++k) msg += (k ? ", " : "") + tried[k];
  throw io_error(msg + ". Pass a folder (--data DIR) or set GATREC_DATA; scripts/download_movielens.sh fetches MovieLens");
}

/// A dataset's folder: `root/name` when that exists, else `root` itself when it already is the
/// dataset folder (its name is `name`, or it holds the release's marker file, such as u.data for
/// ml-100k or ratings.csv for the CSV releases).
/// @param root the data folder, or the dataset folder itself
/// @param name the dataset's folder name, such as "ml-100k"
/// @throw io_error naming both places tried when neither fits
inline std::filesystem::path dataset_dir(const std::filesystem::path& root, const std::string& name) {
  GATREC_EXPECTS(!name.empty(), "empty dataset name");
  const auto nested = root / name;
  if (detail::is_dir(nested)) return nested;
  if (detail::is_dir(root)) {
    if (detail::folder_name(root) == name) return root;
    const char* marker = detail::marker_file(name);
    if (marker != nullptr && detail::is_file(root / marker)) return root;
  }
  throw io_error("dataset '" + name + "' not found: '" + nested.string() + "' is not a folder and '" + root.string() +
                 "' is not the " + name + " folder");
}

}  // namespace gatrec
