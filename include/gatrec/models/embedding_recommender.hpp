#pragma once

/// @file
/// @brief The interface the trainer drives: a model that maps the whole graph to user and item
/// embeddings in one forward pass, and back-propagates a gradient on those embeddings.

#include <memory>
#include <string>

#include "gatrec/core/eigen.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/top_k.hpp"
#include "gatrec/eval/user_item_sets.hpp"
#include "gatrec/nn/attention.hpp"
#include "gatrec/nn/parameter.hpp"
#include "gatrec/train/checkpoint.hpp"
#include "gatrec/train/device_training.hpp"

namespace gatrec {

/// A trainable model whose score is s(u, i) = <h_u, h_i>.
template <class Scalar>
class embedding_recommender {
 public:
  virtual ~embedding_recommender() = default;

  /// Short model name, as on the command line ("gatv2", "lightgcn", "mf").
  virtual std::string name() const = 0;
  virtual index_t num_users() const = 0;
  virtual index_t num_items() const = 0;

  /// Every trainable tensor, in a fixed order (optimiser state and checkpoints rely on it).
  virtual parameter_list<Scalar> parameters() = 0;

  /// Node embeddings (num_users + num_items, d): users first, then items. The reference stays
  /// valid until the next forward.
  virtual const matrix<Scalar>& forward(const run_mode& mode) = 0;

  /// Adds the gradient of every parameter given dL/d(embeddings) of the last forward.
  virtual void backward(const matrix<Scalar>& grad) = 0;

  /// Options needed to rebuild the model before loading a checkpoint.
  virtual checkpoint_metadata describe() const = 0;

  /// Each user's k items of highest <h_u, h_i> for node embeddings h (users first), `exclude`
  /// masked: gatrec::top_k on the CPU. A model that computes on a GPU ranks there.
  virtual ranked_lists rank_by_dot(const matrix<Scalar>& h, int k, const user_item_sets& exclude) {
    const index_t nu = num_users();
    const matrix<float> users = h.topRows(nu).template cast<float>();
    const matrix<float> items = h.bottomRows(h.rows() - nu).template cast<float>();
    return top_k(users, items, k, exclude);
  }

  /// Each user's k best items by the current parameters: an inference forward, then rank_by_dot
  /// (the trainer's validation ranking). A model on a GPU keeps the embeddings there throughout.
  /// After this, backward needs a new forward first.
  virtual ranked_lists rank_current(int k, const user_item_sets& exclude) {
    return rank_by_dot(forward(run_mode{}), k, exclude);
  }

  /// A training run kept on the model's device (train/device_training.hpp), or nullptr when the
  /// model has none or cannot run these options there; the trainer then steps on the host.
  virtual std::unique_ptr<device_training> start_device_training(const device_training_options&) { return nullptr; }
};

}  // namespace gatrec
