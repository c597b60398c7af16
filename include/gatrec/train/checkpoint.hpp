#pragma once

/// @file
/// @brief A versioned binary model file with a checksum.
///
/// Layout (little-endian):
///   "GATRECMD"  u32 format_version  u32 scalar_bytes
///   u64 metadata_bytes  metadata ("key=value\n" lines, UTF-8)
///   u64 parameter_count, then per parameter: u32 name_bytes, name, u64 rows, u64 cols, values
///   u64 FNV-1a checksum of every byte before it
/// Loading checks magic, version, scalar type, checksum, and that names and shapes match the model
/// being loaded into, and reports the first difference.

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/nn/parameter.hpp"

namespace gatrec {

inline constexpr char checkpoint_magic[8] = {'G', 'A', 'T', 'R', 'E', 'C', 'M', 'D'};
inline constexpr std::uint32_t checkpoint_format_version = 1;

/// Free-form metadata stored with a checkpoint (model kind, options, dataset, epoch...).
using checkpoint_metadata = std::map<std::string, std::string>;

namespace detail {

inline std::uint64_t fnv1a(const char* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (std::size_t k = 0; k < n; ++k) {
    h ^= static_cast<unsigned char>(data[k]);
    h *= 0x100000001b3ull;
  }
  return h;
}

class byte_writer {
 public:
  void raw(const void* p, std::size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  template <class T>
  void value(T v) { raw(&v, sizeof v); }
  void string(const std::string& s) {
    value<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

class byte_reader {
 public:
  byte_reader(const std::string& bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}
  void raw(void* p, std::size_t n, const char* field) {
    if (pos_ + n > bytes_.size()) throw parse_error(file_, 0, field, "file is truncated");
    std::memcpy(p, bytes_.data() + pos_, n);
    pos_ += n;
  }
  template <class T>
  T value(const char* field) {
    T v;
    raw(&v, sizeof v, field);
    return v;
  }
  std::string string(const char* field, std::size_t max_size = 1u << 20) {
    const auto n = value<std::uint32_t>(field);
    if (n > max_size) throw parse_error(file_, 0, field, "implausible string length " + std::to_string(n));
    std::string s(n, '\0');
    raw(s.data(), n, field);
    return s;
  }
  std::size_t position() const { return pos_; }

 private:
  const std::string& bytes_;
  std::string file_;
  std::size_t pos_ = 0;
};

inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error("cannot open " + path.string() + " for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw io_error("error reading " + path.string());
  return bytes;
}

/// Checks the envelope (magic, version, checksum) and returns a reader positioned after the header.
inline checkpoint_metadata read_checkpoint_header(const std::string& bytes, const std::string& file,
                                                  std::uint32_t& scalar_bytes, byte_reader& r) {
  char magic[8];
  r.raw(magic, 8, "magic");
  if (std::memcmp(magic, checkpoint_magic, 8) != 0) throw parse_error(file, 0, "magic", "not a gatrec model file");
  if (bytes.size() < 8 + 8) throw parse_error(file, 0, "checksum", "file is truncated");
  std::uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (fnv1a(bytes.data(), bytes.size() - 8) != stored)
    throw parse_error(file, 0, "checksum", "checksum mismatch: the file is corrupt or truncated");
  const auto version = r.value<std::uint32_t>("format_version");
  if (version != checkpoint_format_version)
    throw parse_error(file, 0, "format_version",
                      "format version " + std::to_string(version) + " is not supported (this build reads " +
                          std::to_string(checkpoint_format_version) + ")");
  scalar_bytes = r.value<std::uint32_t>("scalar_bytes");
  const std::string meta = r.string("metadata", 1u << 26);
  checkpoint_metadata out;
  std::size_t start = 0;
  while (start < meta.size()) {
    std::size_t end = meta.find('\n', start);
    if (end == std::string::npos) end = meta.size();
    const std::string line = meta.substr(start, end - start);
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw parse_error(file, 0, "metadata", "entry without '=': " + line);
    out[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

}  // namespace detail

/// Writes the parameters and metadata to `path` (atomically: a temporary file renamed into place).
/// @throw io_error when the file cannot be written; logic_error on metadata with '=' in a key or a newline
template <class Scalar>
void save_checkpoint(const std::filesystem::path& path, const parameter_list<Scalar>& params,
                     const checkpoint_metadata& metadata = {}) {
  detail::byte_writer w;
  w.raw(checkpoint_magic, 8);
  w.value<std::uint32_t>(checkpoint_format_version);
  w.value<std::uint32_t>(sizeof(Scalar));
  std::string meta;
  for (const auto& [k, v] : metadata) {
    GATREC_EXPECTS(k.find('=') == std::string::npos && k.find('\n') == std::string::npos &&
                       v.find('\n') == std::string::npos,
                   "metadata keys may not contain '=' or newlines, values no newlines: " + k);
    meta += k + "=" + v + "\n";
  }
  if (!meta.empty()) meta.pop_back();
  w.value<std::uint32_t>(static_cast<std::uint32_t>(meta.size()));
  w.raw(meta.data(), meta.size());
  w.value<std::uint64_t>(params.size());
  for (const auto* p : params) {
    w.string(p->name);
    w.value<std::uint64_t>(static_cast<std::uint64_t>(p->value.rows()));
    w.value<std::uint64_t>(static_cast<std::uint64_t>(p->value.cols()));
    w.raw(p->value.data(), sizeof(Scalar) * static_cast<std::size_t>(p->value.size()));
  }
  const std::uint64_t sum = detail::fnv1a(w.bytes().data(), w.bytes().size());
  w.value<std::uint64_t>(sum);

  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw io_error("cannot open " + tmp.string() + " for writing");
    out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
    if (!out) throw io_error("error writing " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw io_error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
}

/// Reads only the metadata of a model file (after checking its envelope).
inline checkpoint_metadata read_checkpoint_metadata(const std::filesystem::path& path) {
  const std::string bytes = detail::read_file_bytes(path);
  detail::byte_reader r(bytes, path.string());
  std::uint32_t scalar_bytes = 0;
  return detail::read_checkpoint_header(bytes, path.string(), scalar_bytes, r);
}

/// Loads parameter values into `params` (same names, order and shapes as when saved).
/// @return the stored metadata
/// @throw parse_error naming the field on any mismatch or corruption; io_error when unreadable
template <class Scalar>
checkpoint_metadata load_checkpoint(const std::filesystem::path& path, const parameter_list<Scalar>& params) {
  const std::string file = path.string();
  const std::string bytes = detail::read_file_bytes(path);
  detail::byte_reader r(bytes, file);
  std::uint32_t scalar_bytes = 0;
  checkpoint_metadata meta = detail::read_checkpoint_header(bytes, file, scalar_bytes, r);
  if (scalar_bytes != sizeof(Scalar))
    throw parse_error(file, 0, "scalar_bytes",
                      "stored with " + std::to_string(scalar_bytes) + "-byte scalars, loading into " +
                          std::to_string(sizeof(Scalar)) + "-byte scalars");
  const auto count = r.value<std::uint64_t>("parameter_count");
  if (count != params.size())
    throw parse_error(file, 0, "parameter_count",
                      "file has " + std::to_string(count) + " parameters, the model " + std::to_string(params.size()));
  std::vector<matrix<Scalar>> values(params.size());
  for (std::size_t k = 0; k < params.size(); ++k) {
    const std::string name = r.string("parameter_name");
    const std::string field = "parameter '" + params[k]->name + "'";
    if (name != params[k]->name)
      throw parse_error(file, 0, field, "file has parameter '" + name + "' in this position");
    const auto rows = r.value<std::uint64_t>("rows"), cols = r.value<std::uint64_t>("cols");
    if (rows != static_cast<std::uint64_t>(params[k]->value.rows()) ||
        cols != static_cast<std::uint64_t>(params[k]->value.cols()))
      throw parse_error(file, 0, field,
                        "shape " + std::to_string(rows) + "x" + std::to_string(cols) + " in the file, " +
                            std::to_string(params[k]->value.rows()) + "x" + std::to_string(params[k]->value.cols()) +
                            " in the model");
    values[k].resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    r.raw(values[k].data(), sizeof(Scalar) * rows * cols, field.c_str());
  }
  if (r.position() + 8 != bytes.size()) throw parse_error(file, 0, "checksum", "unexpected bytes after the parameters");
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = std::move(values[k]);
  return meta;
}

}  // namespace gatrec
