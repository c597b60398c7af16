#pragma once

/// @file
/// @brief gatrec::gat_recommender<float> with its encoder on the device: the model the trainer
/// drives when `gatrec-movielens --device cuda` is given.
///
/// The split: the encoder (every attention layer, LayerNorm, activation, residual, forward and
/// manual backward) and the ranking (rank_by_dot: validation and final lists) run on the GPU; the
/// parameters, the loss and AdamW stay on the host. Why: the encoder is where the time goes (edges x heads x width), while the parameters
/// are small (the paper's stack: ~0.5M values plus the N x 384 input features), so uploading
/// them before each forward and downloading their gradients after each backward costs a few
/// megabytes per step, and in exchange the device model trains under the very trainer, loss,
/// optimiser, early stopping and checkpoints the CPU path uses, with the same results up to
/// float rounding. Checkpoints are interchangeable with the CPU model's.

#include <cuda_runtime_api.h>

#include <string>
#include <utility>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_gat_model.cuh"
#include "gatrec/cuda/device_graph.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/device_parameter.cuh"
#include "gatrec/cuda/device_top_k.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/models/gat_recommender.hpp"
#include "gatrec/nn/row_normalize.hpp"

namespace gatrec::cuda {

class device_gat_recommender final : public embedding_recommender<float> {
 public:
  /// Same arguments as gat_recommender; builds the host model, then uploads its graph and encoder
  /// to the current device.
  device_gat_recommender(index_t num_users, index_t num_items, const rating_table& train, matrix<float> features,
                         const gat_recommender_options& opt)
      : host_(num_users, num_items, train, std::move(features), opt),
        graph_(host_.graph().graph()),
        encoder_(host_.encoder()) {
    host_encoder_params_ = host_.encoder().parameters();
    device_params_ = encoder_.parameters();
    GATREC_EXPECTS(host_encoder_params_.size() == device_params_.size(),
                   "device encoder has " + std::to_string(device_params_.size()) + " parameters, the host one " +
                       std::to_string(host_encoder_params_.size()));
    for (std::size_t k = 0; k < device_params_.size(); ++k)
      GATREC_EXPECTS(device_params_[k]->name == host_encoder_params_[k]->name,
                     "parameter order differs: " + device_params_[k]->name + " vs " + host_encoder_params_[k]->name);
  }

  std::string name() const override { return host_.name(); }
  index_t num_users() const override { return host_.num_users(); }
  index_t num_items() const override { return host_.num_items(); }
  parameter_list<float> parameters() override { return host_.parameters(); }
  checkpoint_metadata describe() const override { return host_.describe(); }

  /// Uploads the current parameter values (the optimiser or a checkpoint changed them on the
  /// host), runs the encoder on the device and returns the embeddings on the host.
  const matrix<float>& forward(const run_mode& mode) override {
    features_.upload(host_.features().value);
    for (std::size_t k = 0; k < device_params_.size(); ++k) device_params_[k]->value.upload(host_encoder_params_[k]->value);
    encoder_out_ = encoder_.forward(blas_, graph_, features_, ctx_, mode).download();
    forwarded_ = true;
    return host_.options().normalize_output ? row_normalize_forward(encoder_out_, normalize_ctx_) : encoder_out_;
  }

  /// Back-propagates on the device and adds every gradient into the host parameters.
  void backward(const matrix<float>& grad) override {
    GATREC_EXPECTS(forwarded_, "backward called before forward");
    const matrix<float>* g = &grad;
    if (host_.options().normalize_output) {
      row_normalize_backward(normalize_ctx_, grad, grad_encoder_out_);
      g = &grad_encoder_out_;
    }
    GATREC_EXPECTS(g->rows() == encoder_out_.rows() && g->cols() == encoder_out_.cols(),
                   "gradient shape differs from the embeddings'");
    grad_out_.upload(*g);
    zero_grad(device_params_);
    const bool trainable_features = host_.options().trainable_features;
    if (trainable_features) {
      grad_features_.resize(features_.rows(), features_.cols());
      grad_features_.set_zero();
    }
    encoder_.backward(blas_, ctx_, grad_out_, trainable_features ? &grad_features_ : nullptr);
    for (std::size_t k = 0; k < device_params_.size(); ++k) add_into(*host_encoder_params_[k], device_params_[k]->grad);
    if (trainable_features) add_into(host_.features(), grad_features_);
  }

  /// Ranks on the device (gatrec::cuda::device_top_k; the embeddings go back up, 0.7 MB on ML-100K),
  /// or on the host for lists longer than the device keeps.
  ranked_lists rank_by_dot(const matrix<float>& h, int k, const user_item_sets& exclude) override {
    if (k > max_device_top_k) return embedding_recommender<float>::rank_by_dot(h, k, exclude);
    const index_t nu = num_users();
    const matrix<float> users = h.topRows(nu), items = h.bottomRows(h.rows() - nu);
    return ranker_(blas_, users, items, k, exclude);
  }

  /// The host model: its parameters are the trained ones (explanations, attention rollout).
  gat_recommender<float>& host_model() { return host_; }

 private:
  static void add_into(parameter<float>& p, const device_matrix& grad) {
    if (p.grad.rows() != p.value.rows() || p.grad.cols() != p.value.cols()) p.zero_grad();
    p.grad += grad.download();
  }

  gat_recommender<float> host_;
  cublas_handle blas_;
  device_graph graph_;
  device_gat_model encoder_;
  device_top_k ranker_;
  parameter_list<float> host_encoder_params_;
  device_parameter_list device_params_;
  device_gat_model::context ctx_;
  device_matrix features_, grad_out_, grad_features_;
  matrix<float> encoder_out_, grad_encoder_out_;
  row_normalize_context<float> normalize_ctx_;
  bool forwarded_ = false;
};

}  // namespace gatrec::cuda
