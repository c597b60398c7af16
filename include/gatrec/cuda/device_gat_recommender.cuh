#pragma once

/// @file
/// @brief gatrec::gat_recommender<float> with its encoder on the device: the model the trainer
/// drives when `gatrec-movielens --device cuda` is given.
///
/// Two ways to train it.
/// - A device training run (start_device_training), which the trainer takes whenever no prior
///   enters the loss: forward, the cosine normalisation, the loss (cuda::device_hybrid_loss,
///   cuda::device_softmax_loss), backward and AdamW (cuda::device_adamw) all run on the GPU, and so
///   does sampling the triples (cuda::device_negative_sampler, the host sampler's draws); per step
///   only the loss sums come down.
/// - The trainer's host step (a prior inside the loss): the encoder (every attention layer,
///   LayerNorm, activation, residual, forward and manual backward) runs on the GPU; the parameters,
///   the loss and AdamW stay on the host, so forward uploads the parameters and backward downloads
///   their gradients, a few megabytes per step (the paper's stack: ~0.5M values plus the N x 384
///   input features).
/// The ranking (rank_current: validation, the embeddings staying on the device; rank_by_dot: final
/// lists) runs on the GPU either way. Both follow
/// the CPU path up to float rounding (same sampler, same formulas, same schedule, early stopping
/// and checkpoints); checkpoints are interchangeable with the CPU model's.

#include <cuda_runtime_api.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/cuda/device_adamw.cuh"
#include "gatrec/cuda/device_gat_model.cuh"
#include "gatrec/cuda/device_graph.cuh"
#include "gatrec/cuda/device_hybrid_loss.cuh"
#include "gatrec/cuda/device_matrix.cuh"
#include "gatrec/cuda/device_negative_sampler.cuh"
#include "gatrec/cuda/device_parameter.cuh"
#include "gatrec/cuda/device_softmax_loss.cuh"
#include "gatrec/cuda/device_top_k.cuh"
#include "gatrec/cuda/library_handles.cuh"
#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/models/gat_recommender.hpp"
#include "gatrec/nn/row_normalize.hpp"

#include "row_normalize.cuh"

namespace gatrec::cuda {

class device_gat_recommender final : public embedding_recommender<float> {
 public:
  /// Same arguments as gat_recommender; builds the host model, then uploads its graph and encoder
  /// to the current device.
  device_gat_recommender(index_t num_users, index_t num_items, const rating_table& train, matrix<float> features,
                         const gat_recommender_options& opt)
      : host_(num_users, num_items, train, std::move(features), opt),
        graph_(host_.graph().graph()),
        encoder_(host_.encoder()),
        features_(host_.features()) {
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
  /// During a device training run the device values are current and nothing is uploaded.
  const matrix<float>& forward(const run_mode& mode) override {
    upload_current_parameters();
    encoder_out_ = encoder_.forward(blas_, graph_, features_.value, ctx_, mode).download();
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
    GATREC_EXPECTS(!device_owns_parameters_, "backward() during a device training run (use its step())");
    device_backward(grad_out_);
    for (std::size_t k = 0; k < device_params_.size(); ++k) add_into(*host_encoder_params_[k], device_params_[k]->grad);
    if (host_.options().trainable_features) add_into(host_.features(), features_.grad);
  }

  /// A device training run (every loss the trainer offers without a prior inside it).
  std::unique_ptr<device_training> start_device_training(const device_training_options& options) override {
    return std::make_unique<training_run>(*this, options);
  }

  /// Ranks on the device (gatrec::cuda::device_top_k; the embeddings go back up, 0.7 MB on ML-100K),
  /// or on the host for lists longer than the device keeps.
  ranked_lists rank_by_dot(const matrix<float>& h, int k, const user_item_sets& exclude) override {
    if (k > max_device_top_k) return embedding_recommender<float>::rank_by_dot(h, k, exclude);
    const index_t nu = num_users();
    const matrix<float> users = h.topRows(nu), items = h.bottomRows(h.rows() - nu);
    return ranker_(blas_, users, items, k, exclude);
  }

  /// Forward, the cosine normalisation and the ranking all on the device: the embeddings never
  /// cross to the host (57 MB each way per validation at the ML-25M shape with 64-wide outputs).
  ranked_lists rank_current(int k, const user_item_sets& exclude) override {
    if (k > max_device_top_k) return embedding_recommender<float>::rank_current(k, exclude);
    upload_current_parameters();
    forwarded_ = false;  // ctx_ now holds this inference forward, not the one backward would need
    const device_matrix& out = encoder_.forward(blas_, graph_, features_.value, ctx_, run_mode{});
    const device_matrix* h = &out;
    if (host_.options().normalize_output) {
      ranking_normalized_.resize(out.rows(), out.cols());
      ranking_norms_.resize(static_cast<std::size_t>(out.rows()));
      row_normalize_forward(out.data(), ranking_normalized_.data(), ranking_norms_.data(), out.rows(),
                            static_cast<int>(out.cols()));
      h = &ranking_normalized_;
    }
    const std::int64_t nu = num_users(), width = h->cols();
    return ranker_.rank_dot(blas_, h->data(), nu, h->data() + nu * width, h->rows() - nu, width, k, exclude);
  }

  /// The host model: its parameters are the trained ones (explanations, attention rollout).
  gat_recommender<float>& host_model() { return host_; }

 private:
  /// The device run: parameters stay on the device; AdamW's moments live here.
  class training_run final : public device_training {
   public:
    training_run(device_gat_recommender& model, const device_training_options& options)
        : model_(model), options_(options), optimizer_(model.device_parameters(), options.optimizer) {
      if (options.sampler != nullptr) {
        const negative_sampling_tables t = options.sampler->tables();
        GATREC_EXPECTS(t.num_users == model.num_users() && t.num_items == model.num_items(),
                       "the sampler's users and items differ from the model's");
        sampler_ = std::make_unique<device_negative_sampler>(*options.sampler);
      }
      if (options.softmax_ranking) {
        GATREC_EXPECTS(options.sampler != nullptr, "the softmax ranking needs the sampler's liked items");
        softmax_ = std::make_unique<device_softmax_loss>(model.num_users(), model.num_items(),
                                                         options.sampler->positive_offsets(),
                                                         options.sampler->positives(), options.softmax, options.rated);
      }
      model_.upload_parameters();
      model_.device_owns_parameters_ = true;
    }
    ~training_run() override { model_.device_owns_parameters_ = false; }

    /// gatrec::train's step: the embeddings (row-normalised for cosine scores), the loss and its
    /// gradient as the host computes them, backward through the normalisation and the encoder.
    loss_value step(std::uint64_t epoch, const run_mode& mode, double lr) override {
      device_gat_recommender& m = model_;
      const bool with_triples = !options_.softmax_ranking || options_.loss.cosine_weight != 0.0;
      if (with_triples) {
        GATREC_EXPECTS(sampler_ != nullptr, "the device training run was started without a sampler");
        sampler_->sample(epoch);
      }
      const device_matrix& out = m.encoder_.forward(m.blas_, m.graph_, m.features_.value, m.ctx_, mode);
      const bool cosine = m.host_.options().normalize_output;
      if (cosine) {
        normalized_.resize(out.rows(), out.cols());
        norms_.resize(static_cast<std::size_t>(out.rows()));
        row_normalize_forward(out.data(), normalized_.data(), norms_.data(), out.rows(), static_cast<int>(out.cols()));
      }
      const device_matrix& h = cosine ? normalized_ : out;
      loss_value l;
      if (!options_.softmax_ranking) {
        l = loss_(h, m.num_users(), sampler_->triples(), sampler_->negatives_per_positive(), options_.loss, grad_h_);
      } else {
        const double cos_weight = options_.loss.cosine_weight;
        if (cos_weight != 0.0) {
          l = loss_(h, m.num_users(), sampler_->triples(), sampler_->negatives_per_positive(), {0.0, cos_weight},
                    grad_h_);
        } else {
          grad_h_.resize(h.rows(), h.cols());
          grad_h_.set_zero();
        }
        l.bpr = (*softmax_)(m.blas_, h, grad_h_);
        l.total = l.bpr + cos_weight * l.cosine;
      }
      if (!std::isfinite(l.total)) return l;  // the trainer reports it; nothing is updated
      const device_matrix* grad_out = &grad_h_;
      if (cosine) {
        grad_out_.resize(out.rows(), out.cols());
        row_normalize_backward(normalized_.data(), norms_.data(), grad_h_.data(), grad_out_.data(), out.rows(),
                               static_cast<int>(out.cols()));
        grad_out = &grad_out_;
      }
      m.device_backward(*grad_out);
      optimizer_.set_lr(lr);
      optimizer_.step(options_.clip_norm);
      return l;
    }

    void pull_parameters() override {
      parameter_list<float> host = model_.parameters();
      const device_parameter_list device = model_.device_parameters();
      for (std::size_t k = 0; k < host.size(); ++k) host[k]->value = device[k]->value.download();
    }

    void snapshot_parameters() override {
      const device_parameter_list device = model_.device_parameters();
      snapshot_.resize(device.size());
      for (std::size_t k = 0; k < device.size(); ++k) snapshot_[k].copy_from(device[k]->value);
    }

    void pull_snapshot() override {
      GATREC_EXPECTS(!snapshot_.empty(), "pull_snapshot before any snapshot_parameters");
      parameter_list<float> host = model_.parameters();
      for (std::size_t k = 0; k < host.size(); ++k) host[k]->value = snapshot_[k].download();
    }

    void finish() override { model_.device_owns_parameters_ = false; }

   private:
    device_gat_recommender& model_;
    device_training_options options_;
    device_adamw optimizer_;
    std::unique_ptr<device_negative_sampler> sampler_;
    device_hybrid_loss loss_;
    std::unique_ptr<device_softmax_loss> softmax_;
    device_matrix normalized_, grad_h_, grad_out_;
    device_buffer<float> norms_;
    std::vector<device_matrix> snapshot_;  ///< the best epoch's parameters (snapshot_parameters)
  };

  /// The device parameters in the order of parameters() (the features first when trainable).
  device_parameter_list device_parameters() {
    device_parameter_list out;
    if (host_.options().trainable_features) out.push_back(&features_);
    for (auto* p : device_params_) out.push_back(p);
    const parameter_list<float> host = parameters();
    GATREC_EXPECTS(out.size() == host.size(), "device and host parameter lists differ in length");
    for (std::size_t k = 0; k < out.size(); ++k)
      GATREC_EXPECTS(out[k]->name == host[k]->name, "parameter order differs: " + out[k]->name + " vs " + host[k]->name);
    return out;
  }

  /// Before a forward outside a device training run: the host values are the current ones (the
  /// optimiser or a checkpoint changed them there). During a run the device values are.
  void upload_current_parameters() {
    if (device_owns_parameters_) return;
    features_.value.upload(host_.features().value);
    for (std::size_t k = 0; k < device_params_.size(); ++k)
      device_params_[k]->value.upload(host_encoder_params_[k]->value);
  }

  void upload_parameters() {
    const parameter_list<float> host = parameters();
    const device_parameter_list device = device_parameters();
    for (std::size_t k = 0; k < host.size(); ++k) device[k]->value.upload(host[k]->value);
    if (!host_.options().trainable_features) features_.value.upload(host_.features().value);
  }

  /// Zeroes the device gradients and back-propagates dL/d(encoder output) into them.
  void device_backward(const device_matrix& grad_out) {
    zero_grad(device_params_);
    const bool trainable_features = host_.options().trainable_features;
    if (trainable_features) {
      features_.grad.resize(features_.value.rows(), features_.value.cols());
      features_.grad.set_zero();
    }
    encoder_.backward(blas_, ctx_, grad_out, trainable_features ? &features_.grad : nullptr);
  }

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
  device_parameter features_;  ///< the input features (value) and their gradient
  device_gat_model::context ctx_;
  device_matrix grad_out_;
  matrix<float> encoder_out_, grad_encoder_out_;
  row_normalize_context<float> normalize_ctx_;
  device_matrix ranking_normalized_;  ///< rank_current's cosine-normalised embeddings
  device_buffer<float> ranking_norms_;
  bool forwarded_ = false;
  bool device_owns_parameters_ = false;  ///< during a device training run the host values are stale
};

}  // namespace gatrec::cuda
