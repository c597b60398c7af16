#pragma once

/// @file
/// @brief The one header a CPU user includes: everything in gatrec that needs only a C++17 compiler
/// and Eigen (OpenMP when available). CUDA users add <gatrec/cuda.cuh> in their .cu files; LLM
/// clients (<gatrec/llm/...>) need the optional gatrec::llm target.

#include "gatrec/version.hpp"

#include "gatrec/core/config.hpp"
#include "gatrec/core/eigen.hpp"
#include "gatrec/core/error.hpp"
#include "gatrec/core/json_writer.hpp"
#include "gatrec/core/parallel.hpp"
#include "gatrec/core/products.hpp"
#include "gatrec/core/random.hpp"
#include "gatrec/core/types.hpp"

#include "gatrec/data/csv_reader.hpp"
#include "gatrec/data/data_dir.hpp"
#include "gatrec/data/file_bytes.hpp"
#include "gatrec/data/id_lookup.hpp"
#include "gatrec/data/interactions.hpp"
#include "gatrec/data/lcfn.hpp"
#include "gatrec/data/movie_title.hpp"
#include "gatrec/data/movielens_100k.hpp"
#include "gatrec/data/movielens_csv.hpp"
#include "gatrec/data/movielens_dat.hpp"
#include "gatrec/data/rating_records.hpp"
#include "gatrec/data/split.hpp"
#include "gatrec/data/text_reader.hpp"

#include "gatrec/graph/bipartite_graph.hpp"
#include "gatrec/graph/csr_graph.hpp"

#include "gatrec/nn/activation.hpp"
#include "gatrec/nn/attention.hpp"
#include "gatrec/nn/edge_softmax.hpp"
#include "gatrec/nn/fused_attention.hpp"
#include "gatrec/nn/gat_block.hpp"
#include "gatrec/nn/gat_model.hpp"
#include "gatrec/nn/init.hpp"
#include "gatrec/nn/layer_norm.hpp"
#include "gatrec/nn/linear.hpp"
#include "gatrec/nn/online_softmax.hpp"
#include "gatrec/nn/parameter.hpp"

#include "gatrec/models/embedding_recommender.hpp"
#include "gatrec/models/gat_recommender.hpp"
#include "gatrec/models/score_prior.hpp"
#include "gatrec/models/scorer.hpp"

#include "gatrec/train/adamw.hpp"
#include "gatrec/train/checkpoint.hpp"
#include "gatrec/train/hybrid_loss.hpp"
#include "gatrec/train/negative_sampler.hpp"
#include "gatrec/train/reduce_on_plateau.hpp"
#include "gatrec/train/softmax_loss.hpp"
#include "gatrec/train/trainer.hpp"
#include "gatrec/train/training_pairs.hpp"

#include "gatrec/eval/full_ranking.hpp"
#include "gatrec/eval/metric_table.hpp"
#include "gatrec/eval/metrics.hpp"
#include "gatrec/eval/paper_protocol.hpp"
#include "gatrec/eval/ranked_lists.hpp"
#include "gatrec/eval/recommendation_io.hpp"
#include "gatrec/eval/top_k.hpp"
#include "gatrec/eval/user_item_sets.hpp"

#include "gatrec/baselines/ease.hpp"
#include "gatrec/baselines/interaction_matrix.hpp"
#include "gatrec/baselines/item_knn.hpp"
#include "gatrec/baselines/lightgcn.hpp"
#include "gatrec/baselines/matrix_factorization.hpp"
#include "gatrec/baselines/most_popular.hpp"

#include "gatrec/embeddings/in_memory_provider.hpp"
#include "gatrec/embeddings/node_features.hpp"
#include "gatrec/embeddings/npy.hpp"
#include "gatrec/embeddings/npy_provider.hpp"
#include "gatrec/embeddings/provider.hpp"
#include "gatrec/embeddings/text_provider.hpp"

#include "gatrec/profiles/authors_profiles.hpp"
#include "gatrec/profiles/dataset_profiles.hpp"
#include "gatrec/profiles/profile.hpp"
#include "gatrec/profiles/template_profiles.hpp"

#include "gatrec/explain/attention_rollout.hpp"
#include "gatrec/explain/evidence.hpp"
#include "gatrec/explain/faithfulness.hpp"
#include "gatrec/explain/item_catalogue.hpp"
#include "gatrec/explain/justification.hpp"
