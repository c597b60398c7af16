#pragma once

// Trained embedding models kept by --tune, in memory and, with --tune-cache DIR, on disk. With
// --prior-in-loss 0 --select-on model the prior plays no part in training, so grid settings that
// differ only in the prior (its weights, EASE's λ) share one training per seed and are only
// re-ranked; the disk cache extends that across processes, so a weight grid widened after the fact
// costs no training.
//
// An entry is keyed by everything that shapes the training: the data (description and part sizes),
// the model, the seed and the command line without the ranking-only and output-only flags. It holds
// the final node embeddings (DIR/<hash>.npy) and the training record plus the full key
// (DIR/<hash>.key, checked on every read). The key is the command, not the code: clear the folder
// after changing how models train.

#include <gatrec/core/error.hpp>
#include <gatrec/embeddings/npy.hpp>
#include <gatrec/train/checkpoint.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "model_run.hpp"

namespace movielens {

/// Flags that change how a model's scores are combined with the prior, never its training (under
/// --prior-in-loss 0 --select-on model).
inline bool ranking_only(const std::string& flag) {
  return flag == "--prior-weight" || flag == "--lambda" || flag == "--rating-ease-weight" ||
         flag == "--rating-ease-lambda" || flag == "--rating-center";
}

/// Flags (with a value) that only name outputs or select what else runs; --quiet has no value.
inline bool output_only(const std::string& flag) {
  return flag == "--tune" || flag == "--tune-csv" || flag == "--tune-metric" || flag == "--tune-cache" ||
         flag == "--json" || flag == "--history" || flag == "--recommendations" || flag == "--save-model" ||
         flag == "--save-embeddings" || flag == "--threads" || flag == "--model" || flag == "--seed" ||
         flag == "--seeds";
}

/// The key of one training: data, model, seed and the training flags of `args` (program name
/// excluded), in their order.
inline std::string training_key(const std::string& data, const std::string& model, std::uint64_t seed,
                                const std::vector<std::string>& args) {
  std::string key = "data=" + data + "\nmodel=" + model + "\nseed=" + std::to_string(seed) + "\nargs=";
  for (std::size_t k = 0; k < args.size(); ++k) {
    if (args[k] == "--quiet") continue;
    if (ranking_only(args[k]) || output_only(args[k])) {
      ++k;  // and its value
      continue;
    }
    key += " " + args[k];
  }
  return key;
}

class trained_models {
 public:
  struct entry {
    model_run run;              // the training record (no lists; no history when read from disk)
    gatrec::matrix<float> h;    // final node embeddings, users first
    gatrec::index_t num_users = 0;
  };

  trained_models() = default;
  /// @param cache_dir where entries are also kept across processes (empty: memory only)
  explicit trained_models(std::filesystem::path cache_dir) : dir_(std::move(cache_dir)) {
    if (!dir_.empty()) std::filesystem::create_directories(dir_);
  }

  /// The entry for `key`, from memory or the cache folder; nullptr when there is none.
  /// @param from_disk set to whether it was read from the cache folder
  const entry* find(const std::string& key, bool* from_disk = nullptr) {
    if (from_disk != nullptr) *from_disk = false;
    const auto found = entries_.find(key);
    if (found != entries_.end()) return &found->second;
    if (dir_.empty()) return nullptr;
    const auto [npy, key_file] = paths(key);
    if (!std::filesystem::exists(key_file) || !std::filesystem::exists(npy)) return nullptr;
    std::ifstream in(key_file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string stored = text.str();
    const std::string header = key + "\n--\n";
    if (stored.compare(0, header.size(), header) != 0) return nullptr;  // a hash collision
    entry e;
    std::istringstream record(stored.substr(header.size()));
    std::string what, best;  // best_validation may be nan, which operator>> does not read
    record >> what >> e.run.model >> what >> e.run.seed >> what >> e.run.train_seconds >> what >> e.run.epochs >>
        what >> e.run.best_epoch >> what >> best >> what >> e.num_users;
    e.run.best_validation = std::strtod(best.c_str(), nullptr);
    if (!record) throw gatrec::parse_error(key_file.string(), 0, "record", "malformed tune cache entry");
    e.h = gatrec::read_npy<float>(npy);
    if (from_disk != nullptr) *from_disk = true;
    return &(entries_[key] = std::move(e));
  }

  /// Keeps an entry in memory and, with a cache folder, on disk (the key file last, so that an
  /// interrupted write leaves no entry).
  void keep(const std::string& key, entry e) {
    if (!dir_.empty()) {
      const auto [npy, key_file] = paths(key);
      gatrec::write_npy(npy, e.h);
      const std::filesystem::path tmp = key_file.string() + ".tmp";
      {
        std::ofstream out(tmp);
        char best[64];
        std::snprintf(best, sizeof best, "%.17g", e.run.best_validation);
        out << key << "\n--\nmodel " << e.run.model << "\nseed " << e.run.seed << "\ntrain_seconds "
            << e.run.train_seconds << "\nepochs " << e.run.epochs << "\nbest_epoch " << e.run.best_epoch
            << "\nbest_validation " << best << "\nnum_users " << e.num_users << "\n";
        if (!out) throw gatrec::io_error("cannot write " + tmp.string());
      }
      std::filesystem::rename(tmp, key_file);
    }
    entries_[key] = std::move(e);
  }

 private:
  std::pair<std::filesystem::path, std::filesystem::path> paths(const std::string& key) const {
    char name[17];
    std::snprintf(name, sizeof name, "%016llx",
                  static_cast<unsigned long long>(gatrec::detail::fnv1a(key.data(), key.size())));
    return {dir_ / (std::string(name) + ".npy"), dir_ / (std::string(name) + ".key")};
  }

  std::filesystem::path dir_;
  std::map<std::string, entry> entries_;
};

/// Where run_model may find or leave a trained model: a store and the key of this training.
/// Empty: train, keep nothing.
struct trained_slot {
  trained_models* store = nullptr;
  std::string key;
};

}  // namespace movielens
