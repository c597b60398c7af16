#pragma once

/// @file
/// @brief A disk cache of LLM and embedding answers, so that a pipeline run twice asks the server
/// once.
///
/// An entry is addressed by (endpoint kind, model, request content): its key is the SHA-256 of
/// the three, each prefixed by its length so that no two triples give the same bytes. The server
/// URL is deliberately not part of the key: the same model behind another port or host gives the
/// same answers. One file per entry, `<dir>/<kind>/<key[0..1]>/<key>`:
///
///     gatrec-llm-cache 1
///     key <64 hex digits>
///     size <payload bytes>
///     sha256 <64 hex digits of the payload>
///     <empty line>
///     <payload bytes>
///
/// Writes go to a temporary file in the same folder, then are renamed over the entry, so a
/// reader sees a whole entry or none. An entry that does not check out (truncated, edited, a
/// wrong key or checksum) counts as corrupt: it is removed and reported as a miss, so the caller
/// fetches the answer again; it never makes a run fail.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "gatrec/core/error.hpp"
#include "gatrec/llm/sha256.hpp"

namespace gatrec {

/// What a cache has seen since it was opened.
struct cache_stats {
  std::size_t hits = 0;            ///< get() found a valid entry
  std::size_t misses = 0;          ///< get() found none (corrupt ones included)
  std::size_t corrupt = 0;         ///< entries ignored and removed because they did not check out
  std::size_t writes = 0;          ///< entries written
  std::size_t write_failures = 0;  ///< put() calls that could not write (the answer is still returned)
};

/// A folder of cached answers; see the file comment for the layout.
class response_cache {
 public:
  /// The default folder: `$GATREC_CACHE/llm` when GATREC_CACHE is set (the folder the other
  /// gatrec caches use), else `$HOME/.cache/gatrec/llm`.
  static std::filesystem::path default_dir() {
    if (const char* env = std::getenv("GATREC_CACHE"); env != nullptr && *env != '\0')
      return std::filesystem::path(env) / "llm";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr && *home != '\0' ? home : ".") / ".cache" / "gatrec" / "llm";
  }

  /// Opens (creating it when needed) the cache folder.
  /// @throw io_error when the folder cannot be created
  explicit response_cache(std::filesystem::path dir = default_dir()) : dir_(std::move(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec || !std::filesystem::is_directory(dir_))
      throw io_error("cannot create the LLM cache folder '" + dir_.string() + "': " + ec.message());
  }

  response_cache(const response_cache&) = delete;
  response_cache& operator=(const response_cache&) = delete;

  /// The key of (kind, model, content): lowercase hex SHA-256 of the length-prefixed triple.
  static std::string key(std::string_view kind, std::string_view model, std::string_view content) {
    sha256 h;
    h.update("gatrec-llm-cache-key 1\n");
    for (const std::string_view part : {kind, model, content}) {
      h.update(std::to_string(part.size()));
      h.update(":");
      h.update(part);
    }
    return h.hex_digest();
  }

  /// Where the entry of (kind, model, content) lives.
  /// @throw logic_error when `kind` is not a non-empty name of [a-z0-9_-]
  std::filesystem::path entry_path(std::string_view kind, std::string_view model, std::string_view content) const {
    check_kind(kind);
    const std::string k = key(kind, model, content);
    return dir_ / std::string(kind) / k.substr(0, 2) / k;
  }

  /// The cached payload of (kind, model, content), or nullopt (a miss, or a corrupt entry, which
  /// is removed).
  std::optional<std::string> get(std::string_view kind, std::string_view model, std::string_view content) {
    const std::filesystem::path path = entry_path(kind, model, content);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      if (std::filesystem::exists(path, ec)) discard(path);  // a folder or device where an entry belongs
      ++misses_;
      return std::nullopt;
    }
    std::optional<std::string> payload = read_entry(path, path.filename().string());
    if (!payload) {
      discard(path);
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    return payload;
  }

  /// Stores `payload` for (kind, model, content), replacing any entry atomically.
  /// @return false when it could not be written (counted in stats().write_failures); a cache that
  ///         cannot be written must not lose the answer the caller already has
  bool put(std::string_view kind, std::string_view model, std::string_view content, std::string_view payload) {
    const std::filesystem::path path = entry_path(kind, model, content);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    const std::filesystem::path tmp = path.parent_path() / (path.filename().string() + ".tmp." + unique_suffix());
    bool ok = !ec;
    if (ok) {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << "gatrec-llm-cache 1\nkey " << path.filename().string() << "\nsize " << payload.size() << "\nsha256 "
          << sha256::hex(payload) << "\n\n";
      out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
      out.close();
      ok = static_cast<bool>(out);
    }
    if (ok) {
      std::filesystem::rename(tmp, path, ec);
      ok = !ec;
    }
    if (!ok) {
      std::filesystem::remove(tmp, ec);
      ++write_failures_;
      return false;
    }
    ++writes_;
    return true;
  }

  /// The cache folder.
  const std::filesystem::path& dir() const { return dir_; }

  /// Hits, misses, corrupt entries and writes so far.
  cache_stats stats() const {
    cache_stats s;
    s.hits = hits_.load();
    s.misses = misses_.load();
    s.corrupt = corrupt_.load();
    s.writes = writes_.load();
    s.write_failures = write_failures_.load();
    return s;
  }

 private:
  static void check_kind(std::string_view kind) {
    bool ok = !kind.empty();
    for (const char c : kind)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
    GATREC_EXPECTS(ok, "cache kind '" + std::string(kind) + "' must be a non-empty name of [a-z0-9_-]");
  }

  /// The payload of a well-formed entry whose key is `expected_key`, else nullopt.
  static std::optional<std::string> read_entry(const std::filesystem::path& path, const std::string& expected_key) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream whole;
    whole << in.rdbuf();
    if (in.bad()) return std::nullopt;
    const std::string text = whole.str();
    const std::size_t end = text.find("\n\n");
    if (end == std::string::npos) return std::nullopt;
    std::istringstream header(text.substr(0, end + 1));
    std::string magic, version, key_word, key, size_word, sha_word, sha;
    std::size_t size = 0;
    if (!(header >> magic >> version >> key_word >> key >> size_word >> size >> sha_word >> sha)) return std::nullopt;
    if (magic != "gatrec-llm-cache" || version != "1" || key_word != "key" || size_word != "size" ||
        sha_word != "sha256" || key != expected_key)
      return std::nullopt;
    std::string payload = text.substr(end + 2);
    if (payload.size() != size || sha256::hex(payload) != sha) return std::nullopt;
    return payload;
  }

  void discard(const std::filesystem::path& path) {
    ++corrupt_;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);  // best effort: the entry is ignored either way
  }

  /// A name part no other writer (thread or process) uses at the same time.
  static std::string unique_suffix() {
    static std::atomic<std::uint64_t> counter{0};
    static const std::uint64_t process_tag = [] {
      std::random_device rd;
      return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }();
    return std::to_string(process_tag) + "." + std::to_string(counter.fetch_add(1));
  }

  std::filesystem::path dir_;
  std::atomic<std::size_t> hits_{0}, misses_{0}, corrupt_{0}, writes_{0}, write_failures_{0};
};

}  // namespace gatrec
