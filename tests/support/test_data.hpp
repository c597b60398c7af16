#pragma once

// Where data-dependent tests find ../shared/data (through GATREC_DATA, set by CTest).

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace gatrec::test {

/// The shared data folder if it holds `relative` (for example "ml-100k/u.data"), else nullopt.
inline std::optional<std::filesystem::path> shared_data(const std::string& relative = "") {
  const char* env = std::getenv("GATREC_DATA");
  std::filesystem::path root = env != nullptr ? env : "../shared/data";
  if (!std::filesystem::exists(root / relative)) return std::nullopt;
  return root;
}

/// The folder of hand-written fixtures in tests/fixtures.
inline std::filesystem::path fixtures() { return GATREC_FIXTURES_DIR; }

}  // namespace gatrec::test

/// Skips the current test with a clear message when the shared data file is absent.
#define GATREC_REQUIRE_DATA(var, relative)                                                        \
  auto var##_opt = ::gatrec::test::shared_data(relative);                                         \
  if (!var##_opt) GTEST_SKIP() << "shared data not found: set GATREC_DATA to a folder holding " \
                               << (relative) << " (see README, 'Data')";                         \
  const std::filesystem::path var = *var##_opt
