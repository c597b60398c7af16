#pragma once

// Command-line options of gatrec-movielens and their parser.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "device_probe.hpp"

namespace movielens {

/// A bad command line: printed with the usage hint, exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  // Data.
  std::string dataset = "ml-100k";  // ml-100k | ml-1m | ml-latest | lcfn
  std::string data;                 // root folder (or the dataset folder itself); empty: $GATREC_DATA, ../shared/data
  std::string fold = "u1";          // ml-100k official fold
  std::string test_file;            // lcfn: the held-out test file in the train.txt format
  double test_fraction = 0.2;       // datasets without official folds: per-user random test share
  double validation_fraction = 0.1; // carved per user from the training part, for early stopping
  double validation_users = 1.0;    // share of users that give validation ratings
  // What to run.
  std::vector<std::string> models{"gatv2"};
  std::string protocol = "both";  // paper | full | both
  std::vector<int> ks{10, 20};
  int seeds = 1;                  // repeat each model with seeds seed, seed+1, ...
  std::uint64_t seed = 42;
  std::int64_t split_seed = -1;   // test and validation carving; -1: --seed (split_seed_of)
  int threads = 0;                // 0: OpenMP's default
  std::string device = "cpu";     // cpu | cuda (GAT encoder on the GPU; device_backend.hpp); auto resolves to one
  std::string device_note;        // what --device auto chose and why (empty otherwise)
  // Features.
  std::string user_features, item_features;  // .npy (+ .ids beside them); random init when absent
  bool freeze_features = false;
  double init_std = 0.1;
  bool cosine_scores = false;  // GAT: unit-length embeddings, scores are cosine similarities
  // Model and training.
  int epochs = 300;
  int patience = 15;
  int plateau_patience = 5;       // evaluations without a new best before the lr is cut
  int warmup = 30;
  int eval_every = 1;
  std::string validation_metric = "ndcg@20";
  double lr = -1;            // -1: the model's default
  double weight_decay = 1e-5;
  std::string loss = "bpr";  // bpr | softmax
  double temperature = 1.0;  // softmax loss temperature
  double rated_weight = 0.0; // softmax loss: weight of the rated-only term (liked above rated-not-liked)
  double bpr_weight = -1;    // -1: the model's default (gat: 5, baselines: 1)
  double cos_weight = -1;    // -1: the model's default (gat: 2, baselines: 0)
  int negatives = 1;
  double dislike_fraction = 0.0;
  double clip = 0.0;
  std::vector<int> heads{4, 4, 1};
  int head_dim = 64;
  bool edge_features = true;
  bool self_loops = true;
  double dropout = 0.0;
  int dim = 64;              // MF / LightGCN embedding width
  int lightgcn_layers = 3;
  double ease_lambda = 500.0;
  double rating_ease_weight = 0.0;  // > 0: add this times EASE on centered ratings (EASE and --prior)
  double rating_ease_lambda = 0.0;  // its λ; 0: --lambda
  std::optional<float> rating_center;  // --rating-center X; nullopt ("user"): each user's mean rating
  std::string prior;         // "ease": add EASE's scores (weighted) to the embedding model's
  double prior_weight = 1.0;
  bool prior_in_loss = true; // false: train without the prior, add it only when ranking (an ensemble)
  bool select_on_model = false;  // with prior_in_loss false: stop and schedule on the model's own metric
  int prior_folds = 1;       // > 1: the loss sees cross-fitted (out-of-sample) prior scores
  bool refit = false;        // after early stopping, retrain on all training ratings
  float like_threshold = 4.0f;
  int knn = 100;
  // Outputs.
  std::string json;
  std::string recommendations;
  int list_length = 50;
  std::string history;       // CSV of per-epoch training history
  std::string save_model, load_model;
  std::string command_line;  // the arguments as given, recorded in --json output
  std::string save_embeddings;  // prefix of <prefix>_users.npy/.ids and <prefix>_items.npy/.ids
  bool quiet = false;
  // Tuning.
  std::string tune;            // grid "name=v1,v2;name2=v3" over these same options
  std::string tune_metric;     // default: --validation-metric
  std::string tune_csv = "tune.csv";
  std::string tune_cache;      // folder keeping trained embeddings across --tune runs (training_cache.hpp)
};

/// The seed of the data split: --split-seed, else --seed (so that one process per seed, as earlier
/// runs did, still draws one split per seed).
inline std::uint64_t split_seed_of(const options& o) {
  return o.split_seed >= 0 ? static_cast<std::uint64_t>(o.split_seed) : o.seed;
}

inline const char* usage() {
  return R"(usage: gatrec-movielens [options]

Trains and evaluates recommenders on MovieLens; prints a metrics table.

Data:
  --dataset NAME          ml-100k (default) | ml-1m | ml-latest | lcfn
  --data DIR              data root holding ml-100k/ etc., or the dataset folder itself
                          (default: $GATREC_DATA, else ../shared/data)
  --fold F                ML-100K official fold u1..u5, ua, ub (default u1)
  --test-file PATH        lcfn: held-out test file (same format as train.txt)
  --test-fraction X       per-user random test share for datasets without folds (default 0.2)
  --validation-fraction X per-user share of the training part held out for early stopping
                          (default 0.1; 0 trains on everything for --epochs epochs)
  --validation-users X    only this random share of users hold out (default 1); ML-100K u1.test
                          holds ~40% of the ratings of about half the users, so
                          --validation-users 0.5 --validation-fraction 0.4 mirrors the fold
What to run:
  --model LIST            comma list of gat, gatv2, lightgcn, mf, pop, ease, itemknn (default gatv2)
  --protocol P            paper (rated-only, PAPER.md) | full | both (default both)
  --k LIST                cut-offs (default 10,20)
  --seed N, --seeds N     first seed and number of seeds per model (mean and std reported)
  --split-seed N          seed of the carved test part (datasets without official folds) and of the
                          validation part (default: --seed); --seeds N shares one split
  --threads N             OpenMP threads
  --device D              cpu (default) | cuda: gat/gatv2 train and rank on the GPU (encoder, negative
                          sampling, loss, AdamW, top-k); with a prior inside the loss, loss and AdamW
                          on the CPU | auto: cuda when this build and machine have a usable GPU, else cpu
Features:
  --user-features PATH    .npy (rows in the order of PATH with .ids instead of .npy, one raw id per line)
  --item-features PATH    same for items; without them features are N(0, init-std^2)
  --freeze-features       do not fine-tune the input features
  --init-std X            random feature scale (default 0.1)
Training:
  --epochs N --eval-every N
  --patience N            evaluations without a new best validation value before stopping (default 15; 0: never)
  --plateau-patience N    evaluations without a new best before the lr is multiplied by 0.4 (default 5)
  --validation-metric M   full-ranking metric (ndcg@20, default) or paper:M for the rated-only protocol
  --warmup N              epochs before early stopping and the lr schedule react (default 30)
  --lr X --weight-decay X --bpr-weight X --cos-weight X --negatives N --dislike-fraction X --clip X
  --loss bpr|softmax      ranking term: sampled BPR (PAPER.md, default) or a full softmax over the
                          catalogue per liked item (weight --bpr-weight, --temperature T)
  --rated-weight X        softmax loss: add X times the same softmax over only the items each user
                          rated in training, so liked items rank above rated-but-not-liked ones
                          (what the paper's rated-only protocol rewards; default 0)
  --heads 4,4,1 --head-dim N --no-edge-features --no-self-loops --dropout X
  --cosine-scores         GAT: unit-length output embeddings, so scores are cosine similarities
                          (pair with --loss softmax and a temperature such as 0.1)
  --dim N --lightgcn-layers N --lambda X (EASE) --knn N (ItemKNN) --like-threshold X
  --rating-ease-weight X  EASE and --prior ease: add X times a second EASE fitted on centered ratings
                          (X[u,i] = rating - center), which ranks items each user is predicted to
                          rate highly above merely consumed ones (default 0: off)
  --rating-ease-lambda X  that EASE's lambda (default: --lambda)
  --rating-center C       user (default: each user's mean rating) or a number such as 3.5
  --prior ease            add EASE's item-item scores (weight --prior-weight, default 1) to an embedding
                          model's dot products, in training and ranking: the model learns a residual
  --prior-in-loss 0|1     1 (default): the prior enters the loss; 0: only the ranking (score ensemble)
  --select-on W           with --prior-in-loss 0, what validation follows for the lr schedule, early
                          stopping and the best epoch: ensemble (default) or model (its own scores)
  --prior-folds K         K > 1: the loss sees cross-fitted EASE scores (K fits, each without one
                          group of users), not the in-sample ones; ranking uses the full fit
  --refit                 after validation picked the epoch count, retrain on all training ratings
                          for that many epochs with the same learning rates
Outputs:
  --json PATH             metrics as JSON (one object per model; an array for several models)
  --recommendations PATH  top-N lists as CSV user_id,movie_id,recommendation_rank (raw ids)
  --list-length N         N of the lists (default 50)
  --history PATH          per-epoch training history as CSV
  --save-model PATH       trained GAT model file; --load-model PATH skips training
  --save-embeddings P     embedding models: the final user and item embeddings as P_users.npy,
                          P_items.npy with raw ids in P_users.ids, P_items.ids (+ _model, _seedN
                          before _users when several models or seeds run); the prior is not included
  --quiet                 no per-epoch progress lines
Tuning (validation part only; the test part is never read):
  --tune "a=1,2;b=x,y"    grid over these options (names without --), each model fitted on the fit part and
                          scored on the validation part; prints each model's best setting
  --tune-metric M         what "best" means (default: --validation-metric), e.g. paper:ndcg@10
  --tune-csv PATH         every run's validation metrics (default tune.csv)
  --tune-cache DIR        keep the trainings a later --tune can reuse (--prior-in-loss 0
                          --select-on model) in DIR, so that widening a prior-weight grid costs no
                          training; keyed by the data and the training flags (clear it after
                          changing the code)
)";
}

namespace detail {

inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

inline double to_double(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') throw usage_error(flag + " expects a number, got '" + v + "'");
  return x;
}

inline long long to_int(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') throw usage_error(flag + " expects an integer, got '" + v + "'");
  return x;
}

inline std::vector<int> to_int_list(const std::string& flag, const std::string& v) {
  std::vector<int> out;
  for (const auto& s : split_list(v)) out.push_back(static_cast<int>(to_int(flag, s)));
  if (out.empty()) throw usage_error(flag + " expects a comma-separated list of integers");
  return out;
}

}  // namespace detail

/// Parses argv. @throw usage_error on unknown flags, missing or malformed values.
inline options parse_options(int argc, char** argv) {
  options o;
  for (int a = 1; a < argc; ++a) o.command_line += (a > 1 ? " " : "") + std::string(argv[a]);
  for (int a = 1; a < argc; ++a) {
    const std::string flag = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) throw usage_error(flag + " needs a value");
      return argv[++a];
    };
    using namespace detail;
    if (flag == "--help" || flag == "-h") throw usage_error("");
    else if (flag == "--dataset") o.dataset = value();
    else if (flag == "--data") o.data = value();
    else if (flag == "--fold") o.fold = value();
    else if (flag == "--test-file") o.test_file = value();
    else if (flag == "--test-fraction") o.test_fraction = to_double(flag, value());
    else if (flag == "--validation-fraction") o.validation_fraction = to_double(flag, value());
    else if (flag == "--validation-users") o.validation_users = to_double(flag, value());
    else if (flag == "--model") o.models = split_list(value());
    else if (flag == "--protocol") o.protocol = value();
    else if (flag == "--k") o.ks = to_int_list(flag, value());
    else if (flag == "--seeds") o.seeds = static_cast<int>(to_int(flag, value()));
    else if (flag == "--seed") o.seed = static_cast<std::uint64_t>(to_int(flag, value()));
    else if (flag == "--split-seed") o.split_seed = to_int(flag, value());
    else if (flag == "--threads") o.threads = static_cast<int>(to_int(flag, value()));
    else if (flag == "--device") o.device = value();
    else if (flag == "--user-features") o.user_features = value();
    else if (flag == "--item-features") o.item_features = value();
    else if (flag == "--freeze-features") o.freeze_features = true;
    else if (flag == "--cosine-scores") o.cosine_scores = true;
    else if (flag == "--init-std") o.init_std = to_double(flag, value());
    else if (flag == "--epochs") o.epochs = static_cast<int>(to_int(flag, value()));
    else if (flag == "--patience") o.patience = static_cast<int>(to_int(flag, value()));
    else if (flag == "--plateau-patience") o.plateau_patience = static_cast<int>(to_int(flag, value()));
    else if (flag == "--warmup") o.warmup = static_cast<int>(to_int(flag, value()));
    else if (flag == "--eval-every") o.eval_every = static_cast<int>(to_int(flag, value()));
    else if (flag == "--validation-metric") o.validation_metric = value();
    else if (flag == "--lr") o.lr = to_double(flag, value());
    else if (flag == "--weight-decay") o.weight_decay = to_double(flag, value());
    else if (flag == "--loss") o.loss = value();
    else if (flag == "--temperature") o.temperature = to_double(flag, value());
    else if (flag == "--rated-weight") o.rated_weight = to_double(flag, value());
    else if (flag == "--bpr-weight") o.bpr_weight = to_double(flag, value());
    else if (flag == "--cos-weight") o.cos_weight = to_double(flag, value());
    else if (flag == "--negatives") o.negatives = static_cast<int>(to_int(flag, value()));
    else if (flag == "--dislike-fraction") o.dislike_fraction = to_double(flag, value());
    else if (flag == "--clip") o.clip = to_double(flag, value());
    else if (flag == "--heads") o.heads = to_int_list(flag, value());
    else if (flag == "--head-dim") o.head_dim = static_cast<int>(to_int(flag, value()));
    else if (flag == "--no-edge-features") o.edge_features = false;
    else if (flag == "--no-self-loops") o.self_loops = false;
    else if (flag == "--dropout") o.dropout = to_double(flag, value());
    else if (flag == "--dim") o.dim = static_cast<int>(to_int(flag, value()));
    else if (flag == "--lightgcn-layers") o.lightgcn_layers = static_cast<int>(to_int(flag, value()));
    else if (flag == "--prior") o.prior = value();
    else if (flag == "--prior-weight") o.prior_weight = to_double(flag, value());
    else if (flag == "--prior-in-loss") o.prior_in_loss = to_int(flag, value()) != 0;
    else if (flag == "--prior-folds") o.prior_folds = to_int(flag, value());
    else if (flag == "--select-on") {
      const std::string w = value();
      if (w != "model" && w != "ensemble") throw usage_error("--select-on must be model or ensemble, got '" + w + "'");
      o.select_on_model = w == "model";
    }
    else if (flag == "--refit") o.refit = true;
    else if (flag == "--lambda") o.ease_lambda = to_double(flag, value());
    else if (flag == "--rating-ease-weight") o.rating_ease_weight = to_double(flag, value());
    else if (flag == "--rating-ease-lambda") o.rating_ease_lambda = to_double(flag, value());
    else if (flag == "--rating-center") {
      const std::string c = value();
      o.rating_center = c == "user" ? std::nullopt : std::optional<float>(static_cast<float>(to_double(flag, c)));
    }
    else if (flag == "--knn") o.knn = static_cast<int>(to_int(flag, value()));
    else if (flag == "--like-threshold") o.like_threshold = static_cast<float>(to_double(flag, value()));
    else if (flag == "--json") o.json = value();
    else if (flag == "--recommendations") o.recommendations = value();
    else if (flag == "--list-length") o.list_length = static_cast<int>(to_int(flag, value()));
    else if (flag == "--history") o.history = value();
    else if (flag == "--save-model") o.save_model = value();
    else if (flag == "--load-model") o.load_model = value();
    else if (flag == "--save-embeddings") o.save_embeddings = value();
    else if (flag == "--quiet") o.quiet = true;
    else if (flag == "--tune") o.tune = value();
    else if (flag == "--tune-metric") o.tune_metric = value();
    else if (flag == "--tune-csv") o.tune_csv = value();
    else if (flag == "--tune-cache") o.tune_cache = value();
    else throw usage_error("unknown option '" + flag + "'");
  }
  // Cross-checks, so that a mistake fails before minutes of training.
  const std::vector<std::string> datasets{"ml-100k", "ml-1m", "ml-latest", "lcfn"};
  if (std::find(datasets.begin(), datasets.end(), o.dataset) == datasets.end())
    throw usage_error("--dataset must be one of ml-100k, ml-1m, ml-latest, lcfn; got '" + o.dataset + "'");
  if (o.protocol != "paper" && o.protocol != "full" && o.protocol != "both")
    throw usage_error("--protocol must be paper, full or both; got '" + o.protocol + "'");
  const std::vector<std::string> models{"gat", "gatv2", "lightgcn", "mf", "pop", "ease", "itemknn"};
  if (o.models.empty()) throw usage_error("--model needs at least one model");
  if (o.split_seed < -1) throw usage_error("--split-seed must not be negative");
  if (!o.tune_cache.empty() && o.tune.empty()) throw usage_error("--tune-cache needs --tune");
  if (o.device != "cpu" && o.device != "cuda" && o.device != "auto")
    throw usage_error("--device must be cpu, cuda or auto, got '" + o.device + "'");
  if (o.device == "auto") {
    std::string why;
    o.device = probe_cuda_device(why) ? "cuda" : "cpu";
    o.device_note = "device: auto -> " + o.device + " (" + why + ")";
  }
  for (const auto& m : o.models)
    if (std::find(models.begin(), models.end(), m) == models.end())
      throw usage_error("unknown model '" + m + "' (known: gat, gatv2, lightgcn, mf, pop, ease, itemknn)");
  for (int k : o.ks)
    if (k < 1) throw usage_error("--k values must be positive");
  if (o.list_length < *std::max_element(o.ks.begin(), o.ks.end()))
    throw usage_error("--list-length must be at least the largest --k");
  if (o.seeds < 1) throw usage_error("--seeds must be at least 1");
  if (o.patience < 0) throw usage_error("--patience must not be negative (0: never stop early)");
  if (o.plateau_patience < 1) throw usage_error("--plateau-patience must be at least 1");
  if (o.epochs < 1) throw usage_error("--epochs must be at least 1");
  if (!(o.validation_users > 0 && o.validation_users <= 1)) throw usage_error("--validation-users must lie in (0, 1]");
  if (o.validation_fraction < 0 || o.validation_fraction >= 1)
    throw usage_error("--validation-fraction must lie in [0, 1)");
  if (o.test_fraction <= 0 || o.test_fraction >= 1) throw usage_error("--test-fraction must lie in (0, 1)");
  if (o.user_features.empty() != o.item_features.empty())
    throw usage_error("--user-features and --item-features go together");
  if (o.heads.empty()) throw usage_error("--heads needs at least one layer");
  if (o.dataset == "lcfn" && o.protocol == "paper")
    throw usage_error("the paper protocol needs explicit ratings; lcfn is implicit (use --protocol full)");
  if (o.loss != "bpr" && o.loss != "softmax") throw usage_error("--loss must be bpr or softmax");
  if (o.temperature <= 0) throw usage_error("--temperature must be positive");
  if (o.rated_weight < 0) throw usage_error("--rated-weight must not be negative");
  if (o.rated_weight > 0 && o.loss != "softmax") throw usage_error("--rated-weight needs --loss softmax");
  if (!o.prior.empty() && o.prior != "ease") throw usage_error("--prior must be 'ease'");
  if (o.prior_folds < 1) throw usage_error("--prior-folds must be at least 1");
  if (o.prior_folds > 1 && o.prior.empty()) throw usage_error("--prior-folds needs --prior ease");
  if (o.select_on_model && (o.prior.empty() || o.prior_in_loss))
    throw usage_error("--select-on model needs --prior ease --prior-in-loss 0 (a score ensemble)");
  if (o.rating_ease_weight != 0) {
    if (o.dataset == "lcfn") throw usage_error("--rating-ease-weight needs explicit ratings; lcfn is implicit");
    if (o.prior_folds > 1) throw usage_error("--rating-ease-weight cannot be combined with --prior-folds");
  }
  if (o.rating_ease_lambda < 0) throw usage_error("--rating-ease-lambda must be positive (0: --lambda)");
  if (o.refit && o.validation_fraction <= 0) throw usage_error("--refit needs a validation part (--validation-fraction > 0)");
  if (o.validation_metric.find('@') == std::string::npos)
    throw usage_error("--validation-metric must look like ndcg@20");
  return o;
}

}  // namespace movielens
