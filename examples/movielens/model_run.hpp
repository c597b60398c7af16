#pragma once

// What one model run produces: its ranked lists and its training record.

#include <gatrec/eval/ranked_lists.hpp>
#include <gatrec/train/trainer.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace movielens {

struct model_run {
  std::string model;
  std::uint64_t seed = 0;
  gatrec::ranked_lists lists;   // (num_users, list_length), training items masked
  double train_seconds = 0;
  std::size_t device_peak_bytes = 0;  // --device cuda: the most bytes gatrec's device buffers held
  int epochs = 0;               // epochs run (0 for closed-form models)
  int best_epoch = 0;
  double best_validation = std::nan("");
  std::vector<gatrec::epoch_record> history;
};

}  // namespace movielens
