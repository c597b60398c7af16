#pragma once

// Loads the chosen dataset and cuts it into fit / validation / test parts.

#include <gatrec/data/data_dir.hpp>
#include <gatrec/data/lcfn.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/data/movielens_csv.hpp>
#include <gatrec/data/movielens_dat.hpp>
#include <gatrec/data/split.hpp>
#include <gatrec/embeddings/node_features.hpp>
#include <gatrec/embeddings/npy_provider.hpp>

#include <filesystem>
#include <ostream>
#include <string>

#include "options.hpp"

namespace movielens {

/// Everything a model run needs from the data.
struct prepared_data {
  gatrec::dataset data;
  gatrec::rating_table train;       // the whole training part (masked at evaluation)
  gatrec::rating_table fit;         // train minus validation: what models are fitted on
  gatrec::rating_table validation;  // held out from train for early stopping (may be empty)
  gatrec::rating_table test;
  bool explicit_ratings = true;     // false for implicit data (every rating is 1)
  std::string description;          // for the log and the JSON
};

inline std::filesystem::path dataset_folder(const options& o, const std::string& name) {
  return gatrec::dataset_dir(gatrec::resolve_data_dir(o.data), name);
}

inline prepared_data prepare_data(const options& o, std::ostream& log) {
  prepared_data p;
  if (o.dataset == "ml-100k") {
    const auto dir = dataset_folder(o, "ml-100k");
    p.data = gatrec::load_movielens_100k(dir);
    const auto sp = gatrec::load_movielens_100k_fold(dir, o.fold, p.data);
    p.train = sp.train;
    p.test = sp.test;
    p.description = "ml-100k fold " + o.fold;
  } else if (o.dataset == "lcfn") {
    const auto dir = dataset_folder(o, "ml-1m-lcfn");
    auto l = gatrec::load_lcfn(dir / "train.txt", o.test_file);
    p.data = std::move(l.data);
    p.explicit_ratings = false;
    if (!o.test_file.empty()) {
      p.train = std::move(l.parts.train);
      p.test = std::move(l.parts.test);
      p.description = "lcfn train.txt + " + o.test_file;
    } else {
      // The official test part is held out from us: carve a per-user test share from train.txt.
      auto sp = gatrec::per_user_random_split(l.parts.train, p.data.num_users(), 1.0 - o.test_fraction, 0.0,
                                              split_seed_of(o) ^ 0x7E57ull);
      p.train = std::move(sp.train);
      p.test = std::move(sp.test);
      p.description = "lcfn train.txt, per-user random " + std::to_string(o.test_fraction) +
                      " test share, split seed " + std::to_string(split_seed_of(o));
    }
  } else {
    p.data = o.dataset == "ml-1m" ? gatrec::load_movielens_dat(dataset_folder(o, "ml-1m"))
                                  : gatrec::load_movielens_csv(dataset_folder(o, "ml-latest-small"));
    auto sp = gatrec::per_user_random_split(p.data.ratings, p.data.num_users(), 1.0 - o.test_fraction, 0.0,
                                            split_seed_of(o) ^ 0x7E57ull);
    p.train = std::move(sp.train);
    p.test = std::move(sp.test);
    p.description = o.dataset + ", per-user random " + std::to_string(o.test_fraction) +
                    " test share, split seed " + std::to_string(split_seed_of(o));
  }
  if (o.validation_fraction > 0) {
    auto [fit, validation] =
        gatrec::carve_validation(p.train, p.data.num_users(), o.validation_fraction, split_seed_of(o) ^ 0x7A11ull,
                                 o.validation_users);
    p.fit = std::move(fit);
    p.validation = std::move(validation);
  } else {
    p.fit = p.train;
  }
  log << "data: " << p.description << ": " << p.data.num_users() << " users, " << p.data.num_items() << " items; "
      << p.fit.size() << " fit + " << p.validation.size() << " validation + " << p.test.size() << " test ratings\n";
  return p;
}

/// Node features (users first, then items) from .npy files, or an empty matrix for random init.
inline gatrec::matrix<float> load_features(const options& o, const prepared_data& p, std::ostream& log) {
  if (o.user_features.empty()) return {};
  auto ids_of = [](const std::string& npy) {
    std::filesystem::path ids = npy;
    ids.replace_extension(".ids");
    return ids;
  };
  const gatrec::npy_provider users(o.user_features, ids_of(o.user_features));
  const gatrec::npy_provider items(o.item_features, ids_of(o.item_features));
  const auto f = gatrec::build_node_features(users, items, p.data);
  gatrec::matrix<float> x(f.users.rows() + f.items.rows(), f.users.cols());
  x.topRows(f.users.rows()) = f.users;
  x.bottomRows(f.items.rows()) = f.items;
  log << "features: " << x.rows() << " x " << x.cols() << " from " << o.user_features << " and " << o.item_features
      << "\n";
  return x;
}

}  // namespace movielens
