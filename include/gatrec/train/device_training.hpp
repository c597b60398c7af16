#pragma once

/// @file
/// @brief gatrec::device_training: a training run that a model keeps on its own device. The
/// trainer hands it each epoch's number and learning rate; sampling the epoch's triples (with the
/// trainer's sampler, so the same triples as a host step), forward, loss, backward, clipping and
/// AdamW run there, and parameters cross to the host only at the end (a new best epoch is kept
/// on the device: snapshot_parameters, pull_snapshot). A model offers one through
/// embedding_recommender::start_device_training; the CPU models do not, and the trainer then runs
/// each step on the host.

#include <cstdint>

#include "gatrec/core/types.hpp"
#include "gatrec/eval/user_item_sets.hpp"
#include "gatrec/nn/attention.hpp"
#include "gatrec/train/adamw.hpp"
#include "gatrec/train/hybrid_loss.hpp"
#include "gatrec/train/negative_sampler.hpp"
#include "gatrec/train/softmax_loss.hpp"

namespace gatrec {

/// What a device training run is started with (the trainer's options for the step).
struct device_training_options {
  hybrid_loss_options loss;  ///< BPR and cosine weights (with the softmax ranking, BPR's is ignored)
  adamw_options optimizer;
  double clip_norm = 0.0;    ///< global gradient-norm clipping; 0 disables it
  /// The trainer's sampler: a step draws its epoch's triples with it (on the device, the same
  /// triples as negative_sampler::sample), and its liked items are the softmax term's positives.
  /// Not owned; it must outlive the run.
  const negative_sampler* sampler = nullptr;
  /// The full-softmax ranking term instead of BPR (gatrec::softmax_loss), over the sampler's liked
  /// items and, for its rated-only term, every user's training items (`rated`, not owned).
  bool softmax_ranking = false;
  softmax_loss_options softmax;
  const user_item_sets* rated = nullptr;
};

class device_training {
 public:
  virtual ~device_training() = default;

  /// One step: the triples of `epoch` (options' sampler), training-mode forward, the loss (the
  /// hybrid loss on those triples; with softmax_ranking the softmax term replaces BPR, as in
  /// gatrec::train), backward, clipping, one AdamW update at learning rate lr.
  virtual loss_value step(std::uint64_t epoch, const run_mode& mode, double lr) = 0;

  /// Copies the device parameters into the model's host parameters (model.parameters()).
  virtual void pull_parameters() = 0;

  /// Keeps a copy of the current parameters on the device: the best epoch so far, taken without a
  /// trip through the host (at the ML-25M shape with trainable 384-wide features that trip is
  /// 340 MB down and a 340 MB host copy per new best epoch).
  virtual void snapshot_parameters() = 0;

  /// Copies the last snapshot into the model's host parameters.
  /// @throw logic_error when no snapshot was taken
  virtual void pull_snapshot() = 0;

  /// Ends the run: from now on the model's host parameters are authoritative again (the trainer
  /// pulls, or restores a snapshot into them, first).
  virtual void finish() = 0;
};

}  // namespace gatrec
