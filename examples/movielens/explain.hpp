#pragma once

// Subcommands of gatrec-movielens that explain a trained GAT model (include/gatrec/explain):
//
//   gatrec-movielens recommend --user RAW_ID[,RAW_ID...] [--top 10] [--json PATH] [training options]
//       trains (or --load-model) the GAT like the main job, prints each user's top list with one
//       grounded justification per item, and writes them with their evidence as JSON.
//   gatrec-movielens explain-faithfulness [--pairs N] [--k 2] [--csv PATH] [--json PATH] [training options]
//       the deletion test of explain/faithfulness.hpp on every eligible user's top-1 item.

#include <gatrec/core/json_writer.hpp>
#include <gatrec/core/parallel.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/eval/user_item_sets.hpp>
#include <gatrec/explain/attention_rollout.hpp>
#include <gatrec/explain/evidence.hpp>
#include <gatrec/explain/faithfulness.hpp>
#include <gatrec/explain/item_catalogue.hpp>
#include <gatrec/explain/justification.hpp>
#include <gatrec/models/gat_recommender.hpp>
#include <gatrec/profiles/authors_profiles.hpp>
#include <gatrec/train/checkpoint.hpp>
#include <gatrec/train/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "data_setup.hpp"
#include "device_backend.hpp"
#include "options.hpp"
#include "run_model.hpp"

namespace movielens {

/// Options of the explanation subcommands (the training options are the main job's).
struct explain_options {
  std::string command;                   // recommend | explain-faithfulness
  std::vector<gatrec::raw_id_t> users;   // recommend: raw user ids
  int top = 10;                          // recommend: list length
  std::string json;                      // recommendations or study summary as JSON
  std::string csv;                       // explain-faithfulness: one row per pair
  std::string item_profiles;             // the authors' items_unified_profiles.csv: item tags
  std::size_t evidence_items = 2;        // recommend: items cited per justification
  int pairs = 0;                         // explain-faithfulness: 0 = every eligible user
  std::size_t k = 2;                     // explain-faithfulness: items removed per pair
  double user_side_weight = 0.5;         // w: the share of h_u in the evidence weight
  std::string weighting = "rating-flow"; // rating-flow | mixture | shared | aligned (evidence_weighting)
  bool normalize_sides = false;          // evidence_options::normalize_sides
  double residual_weight = 0.5;          // rho of the rollout
  int bootstrap = 10000;
};

inline bool is_explain_command(const std::string& first) {
  return first == "recommend" || first == "explain-faithfulness";
}

inline const char* explain_usage() {
  return R"(usage: gatrec-movielens recommend --user RAW_ID[,RAW_ID...] [options]
       gatrec-movielens explain-faithfulness [options]

Trains the GAT model as the main job does (or loads it with --load-model), then
  recommend               prints each user's top list with one justification per item, grounded in
                          the model's attention (attention rollout over the trained layers)
  explain-faithfulness    removes the edges between each user and the k items its justification
                          cites, recomputes the embeddings with the trained model, and compares the
                          drop of s(u, i) with removing k random rated items instead

Options of both:
  --evidence-weight F     how a rated item c is weighed from the attention rollouts into h_u and h_i:
                          rating-flow (default): W F_u(c) + (1 - W) F_i(c), F_t(c) the rollout mass of
                          h_t that flows through the user's rating of c (both edge directions, all layers);
                          mixture: W R_u[c] + (1 - W) R_i[c] (node rollouts); shared: R_u[c] R_i[c];
                          aligned: R_u[c] (<h_c, h_i> - its R_u-weighted mean over the user's items)
  --user-side-weight W    W of rating-flow and mixture (default 0.5)
  --normalize-sides       rating-flow, mixture: each side's values as shares of its total over the
                          user's rated items before mixing (h_u's side is otherwise far larger)
  --residual-weight R     rollout mixing R I + (1 - R) A per residual layer (default 0.5)
  --item-profiles PATH    unified item profiles CSV (items_unified_profiles.csv): their Tags are cited
  --json PATH             recommend: lists, justifications and evidence; explain-faithfulness: summary
recommend:
  --user LIST             raw user ids (comma-separated)
  --top N                 list length (default 10)
  --evidence-items N      rated items cited per justification (default 2)
explain-faithfulness:
  --pairs N               users sampled (seeded by --seed) among the eligible ones; 0: all (default)
  --k N                   items removed per pair (default 2); users need >= 2k rated items, >= k liked
  --csv PATH              one row per pair
  --bootstrap N           resamples for the interval of the mean difference (default 10000)

Every other option is the main job's (run gatrec-movielens --help): data, features, training,
--seed, --threads, --save-model / --load-model. Only the gat and gatv2 models can be explained, and
not with --prior (the prior's term is not part of the graph computation).
)";
}

/// Splits argv into the explanation options and the main job's argv (program name first).
inline explain_options parse_explain_options(int argc, char** argv, std::vector<std::string>& rest) {
  using namespace detail;
  explain_options e;
  e.command = argv[1];
  rest = {argv[0]};
  for (int a = 2; a < argc; ++a) {
    const std::string flag = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) throw usage_error(flag + " needs a value");
      return argv[++a];
    };
    if (flag == "--help" || flag == "-h") throw usage_error("");
    else if (flag == "--user") {
      for (const auto& s : split_list(value())) e.users.push_back(static_cast<gatrec::raw_id_t>(to_int(flag, s)));
    } else if (flag == "--top") e.top = static_cast<int>(to_int(flag, value()));
    else if (flag == "--json") e.json = value();
    else if (flag == "--csv") e.csv = value();
    else if (flag == "--item-profiles") e.item_profiles = value();
    else if (flag == "--evidence-items") e.evidence_items = static_cast<std::size_t>(to_int(flag, value()));
    else if (flag == "--pairs") e.pairs = static_cast<int>(to_int(flag, value()));
    else if (flag == "--k") {
      const long long k = to_int(flag, value());
      if (k < 1) throw usage_error("--k must be at least 1");
      e.k = static_cast<std::size_t>(k);
    } else if (flag == "--user-side-weight") e.user_side_weight = to_double(flag, value());
    else if (flag == "--evidence-weight") e.weighting = value();
    else if (flag == "--normalize-sides") e.normalize_sides = true;
    else if (flag == "--residual-weight") e.residual_weight = to_double(flag, value());
    else if (flag == "--bootstrap") e.bootstrap = static_cast<int>(to_int(flag, value()));
    else rest.push_back(flag);
  }
  if (e.command == "recommend" && e.users.empty()) throw usage_error("recommend needs --user RAW_ID");
  if (e.top < 1) throw usage_error("--top must be at least 1");
  if (e.pairs < 0) throw usage_error("--pairs must be non-negative");
  if (e.bootstrap < 0) throw usage_error("--bootstrap must be non-negative");
  if (e.user_side_weight < 0 || e.user_side_weight > 1) throw usage_error("--user-side-weight must lie in [0, 1]");
  if (e.residual_weight < 0 || e.residual_weight > 1) throw usage_error("--residual-weight must lie in [0, 1]");
  if (e.weighting != "mixture" && e.weighting != "shared" && e.weighting != "aligned" && e.weighting != "rating-flow")
    throw usage_error("--evidence-weight must be rating-flow, mixture, shared or aligned; got '" + e.weighting + "'");
  return e;
}

inline gatrec::evidence_weighting evidence_weighting_of(const explain_options& e) {
  if (e.weighting == "shared") return gatrec::evidence_weighting::shared;
  if (e.weighting == "aligned") return gatrec::evidence_weighting::aligned;
  if (e.weighting == "rating-flow") return gatrec::evidence_weighting::rating_flow;
  return gatrec::evidence_weighting::mixture;
}

/// Trains (or loads) the GAT model of the main job, keeping it (run_embedding_model ranks and drops it).
/// With --device cuda a device model trains and its parameters are copied into the host model that
/// is returned (explanations read attention weights on the host).
inline std::unique_ptr<gatrec::gat_recommender<float>> train_for_explanation(const options& o, const prepared_data& p,
                                                                             const gatrec::matrix<float>& features,
                                                                             std::ostream& log) {
  const std::string& name = o.models.front();
  const gatrec::index_t nu = p.data.num_users(), ni = p.data.num_items();
  const int in_dim = features.size() > 0 ? static_cast<int>(features.cols()) : 384;
  const auto gopt = gat_options_for(o, name, in_dim, o.seed);
  auto make = [&](const gatrec::rating_table& ratings) {
    return std::make_unique<gatrec::gat_recommender<float>>(nu, ni, ratings, features, gopt);
  };
  auto train_on = [&](const gatrec::rating_table& ratings, const gatrec::rating_table& validation,
                      const gatrec::trainer_options& topt) {
    auto host = make(ratings);
    std::pair<std::unique_ptr<gatrec::gat_recommender<float>>, gatrec::training_result> out;
    if (o.device == "cuda") {
      auto device = make_device_gat_recommender(nu, ni, ratings, features, gopt);
      out.second = gatrec::train(*device, ratings, validation, topt, o.quiet ? nullptr : &log);
      const auto from = device->parameters(), to = host->parameters();
      for (std::size_t k = 0; k < to.size(); ++k) to[k]->value = from[k]->value;
    } else {
      out.second = gatrec::train(*host, ratings, validation, topt, o.quiet ? nullptr : &log);
    }
    out.first = std::move(host);
    return out;
  };
  if (!o.load_model.empty()) {
    auto m = make(model_graph(o, p));
    const auto meta = gatrec::load_checkpoint(o.load_model, m->parameters());
    log << "loaded " << o.load_model << " (model " << meta.at("model") << ")\n";
    return m;
  }
  gatrec::trainer_options topt = trainer_options_for(o, name, o.seed, p.explicit_ratings);
  auto trained = train_on(p.fit, p.validation, topt);
  std::unique_ptr<gatrec::gat_recommender<float>> m = std::move(trained.first);
  const gatrec::training_result& result = trained.second;
  if (o.refit && !p.validation.empty()) {
    log << "refit on all " << p.train.size() << " training ratings for " << result.best_epoch << " epochs\n";
    topt.lr_schedule.clear();
    for (int e = 0; e < result.best_epoch; ++e) topt.lr_schedule.push_back(result.history[static_cast<std::size_t>(e)].lr);
    m = train_on(p.train, {}, topt).first;
  }
  if (!o.save_model.empty()) save_trained_model(o, p, *m, o.seed, result.best_epoch, log);
  return m;
}

/// The dataset's titles and genres, plus the profiles' tags when given.
inline gatrec::item_catalogue make_catalogue(const explain_options& e, const prepared_data& p, std::ostream& log) {
  gatrec::item_catalogue c(p.data);
  if (!e.item_profiles.empty()) {
    const auto profiles = gatrec::read_authors_item_profiles(e.item_profiles);
    log << "item profiles: tags of " << c.add_profiles(profiles.unified, p.data.items) << " items from "
        << e.item_profiles << "\n";
  }
  return c;
}

namespace detail {

inline std::string evidence_json(const gatrec::evidence& ev, const gatrec::item_catalogue& c, const prepared_data& p) {
  std::string items = "[", users = "[", genres = "[", tags = "[";
  for (const auto& x : ev.items) {
    gatrec::json_object o;
    o.add("item_id", static_cast<std::int64_t>(p.data.items.raw(x.item)))
        .add("title", c.at(x.item).title)
        .add("rating", static_cast<double>(x.rating))
        .add("to_user", x.to_user)
        .add("to_item", x.to_item)
        .add("weight", x.weight);
    items += (items.size() > 1 ? "," : "") + o.str();
  }
  for (const auto& x : ev.users) {
    gatrec::json_object o;
    o.add("user_id", static_cast<std::int64_t>(p.data.users.raw(x.user)))
        .add("rating", static_cast<double>(x.rating))
        .add("weight", x.weight);
    users += (users.size() > 1 ? "," : "") + o.str();
  }
  for (const auto& g : ev.genres) genres += (genres.size() > 1 ? "," : "") + gatrec::json_string(g.name);
  for (const auto& t : ev.tags) tags += (tags.size() > 1 ? "," : "") + gatrec::json_string(t.name);
  gatrec::json_object o;
  o.add_raw("items", items + "]")
      .add_raw("users", users + "]")
      .add_raw("shared_genres", genres + "]")
      .add_raw("shared_tags", tags + "]")
      .add("rated_items", static_cast<std::int64_t>(ev.rated_items))
      .add("liked_items", static_cast<std::int64_t>(ev.liked_items))
      .add("item_raters", static_cast<std::int64_t>(ev.item_raters));
  return o.str();
}

inline std::string prompt_json(const std::vector<gatrec::prompt_message>& prompt) {
  std::string out = "[";
  for (const auto& m : prompt) {
    gatrec::json_object o;
    o.add("role", m.role).add("content", m.content);
    out += (out.size() > 1 ? "," : "") + o.str();
  }
  return out + "]";
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw gatrec::io_error("cannot write " + path);
  out << text;
  if (!out) throw gatrec::io_error("error writing " + path);
}

}  // namespace detail

/// `recommend`: top lists with justifications.
inline void run_recommend(const explain_options& e, const options& o, const prepared_data& p,
                          gatrec::gat_recommender<float>& model, const gatrec::item_catalogue& catalogue, std::ostream& log,
                          std::ostream& out) {
  std::vector<gatrec::index_t> users;
  for (const auto raw : e.users) {
    const auto u = p.data.users.find(raw);
    if (!u) throw usage_error("--user " + std::to_string(raw) + " is not a user of " + p.description);
    users.push_back(*u);
  }
  const auto& h = model.forward(gatrec::run_mode{});
  const gatrec::user_item_sets seen(p.data.num_users(), p.data.num_items(), p.train);
  const gatrec::ranked_lists lists = gatrec::rank_embeddings(h, model.num_users(), seen, e.top);
  gatrec::evidence_options eopt;
  eopt.max_items = e.evidence_items;
  eopt.like_threshold = p.explicit_ratings ? o.like_threshold : 0.0f;
  eopt.user_side_weight = e.user_side_weight;
  eopt.weighting = evidence_weighting_of(e);
  eopt.normalize_sides = e.normalize_sides;
  eopt.rollout.residual_weight = e.residual_weight;
  gatrec::justification_options jopt;
  jopt.max_rating = p.data.max_rating;
  jopt.show_ratings = p.explicit_ratings;
  std::string json = "[";
  for (const gatrec::index_t u : users) {
    const auto raw_user = p.data.users.raw(u);
    const gatrec::list_view list = lists.list(u);
    out << "user " << raw_user << ": " << seen.count(u) << " training ratings, top " << list.size() << " of "
        << model.name() << "\n";
    std::string recs = "[";
    for (int r = 0; r < list.size(); ++r) {
      const gatrec::index_t i = list[r];
      const gatrec::evidence ev = gatrec::explain_recommendation(model, u, i, catalogue, eopt);
      const std::string why = gatrec::template_justification(ev, catalogue, jopt);
      char score[32];
      std::snprintf(score, sizeof score, "%.3f", ev.score);
      out << (r + 1 < 10 ? " " : "") << r + 1 << ". " << catalogue.at(i).title << "  (s = " << score << ")\n"
          << "    " << why << "\n";
      gatrec::json_object rec;
      rec.add("rank", r + 1)
          .add("item_id", static_cast<std::int64_t>(p.data.items.raw(i)))
          .add("title", catalogue.at(i).title)
          .add("score", ev.score)
          .add("justification", why)
          .add_raw("evidence", detail::evidence_json(ev, catalogue, p))
          .add_raw("rephrase_prompt", detail::prompt_json(gatrec::rephrase_prompt(ev, catalogue, jopt)));
      recs += (recs.size() > 1 ? ",\n    " : "\n    ") + rec.str();
    }
    gatrec::json_object user;
    user.add("user_id", static_cast<std::int64_t>(raw_user))
        .add("training_ratings", static_cast<std::int64_t>(seen.count(u)))
        .add("model", model.name())
        .add_raw("recommendations", recs + "]");
    json += (json.size() > 1 ? ",\n  " : "\n  ") + user.str();
  }
  if (!e.json.empty()) {
    detail::write_text(e.json, json + "\n]\n");
    log << "wrote " << e.json << "\n";
  }
}

/// `explain-faithfulness`: the deletion test over the top-1 item of every eligible user.
inline void run_faithfulness(const explain_options& e, const options& o, const prepared_data& p,
                             gatrec::gat_recommender<float>& model, std::ostream& log, std::ostream& out) {
  const float liked = p.explicit_ratings ? o.like_threshold : 0.0f;
  const gatrec::index_t nu = p.data.num_users();
  // Counts in the model's graph: the fit ratings, or all training ratings after --refit.
  const gatrec::rating_table& in_graph = model_graph(o, p);
  const gatrec::user_item_sets fit_rated(nu, p.data.num_items(), in_graph);
  const gatrec::user_item_sets fit_liked(nu, p.data.num_items(), in_graph, liked);
  std::vector<gatrec::index_t> eligible;
  for (gatrec::index_t u = 0; u < nu; ++u)
    if (static_cast<std::size_t>(fit_rated.count(u)) >= 2 * e.k && static_cast<std::size_t>(fit_liked.count(u)) >= e.k)
      eligible.push_back(u);
  std::vector<gatrec::index_t> chosen = eligible;
  if (e.pairs > 0 && static_cast<std::size_t>(e.pairs) < chosen.size()) {
    gatrec::rng gen(gatrec::mix64(o.seed ^ 0xFA17ull));
    for (std::size_t j = 0; j < static_cast<std::size_t>(e.pairs); ++j)
      std::swap(chosen[j], chosen[j + static_cast<std::size_t>(gen.below(chosen.size() - j))]);
    chosen.resize(static_cast<std::size_t>(e.pairs));
    std::sort(chosen.begin(), chosen.end());
  }
  log << "faithfulness: " << eligible.size() << " of " << nu << " users have >= " << 2 * e.k << " rated and >= " << e.k
      << " liked items; measuring " << chosen.size() << " pairs (top-1 item each)\n";

  const auto& h = model.forward(gatrec::run_mode{});
  const gatrec::user_item_sets seen(nu, p.data.num_items(), p.train);
  const gatrec::ranked_lists top1 = gatrec::rank_embeddings(h, nu, seen, 1);
  gatrec::faithfulness_options fopt;
  fopt.k = e.k;
  fopt.seed = o.seed;
  fopt.evidence.like_threshold = liked;
  fopt.evidence.user_side_weight = e.user_side_weight;
  fopt.evidence.weighting = evidence_weighting_of(e);
  fopt.evidence.normalize_sides = e.normalize_sides;
  fopt.evidence.rollout.residual_weight = e.residual_weight;
  gatrec::edited_graph_scorer<float> scorer(model);
  std::vector<gatrec::pair_faithfulness> results;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t n = 0; n < chosen.size(); ++n) {
    const gatrec::index_t u = chosen[n];
    if (top1.length(u) == 0) continue;
    const auto r = gatrec::measure_faithfulness(model, scorer, u, top1.list(u)[0], fopt);
    if (r) results.push_back(*r);
    if (!o.quiet && ((n + 1) % 50 == 0 || n + 1 == chosen.size())) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char line[160];
      std::snprintf(line, sizeof line, "  %zu/%zu pairs, %.1fs (%.2fs per pair)\n", n + 1, chosen.size(), s,
                    s / static_cast<double>(n + 1));
      log << line;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto s = gatrec::summarize_faithfulness(results, static_cast<std::size_t>(e.bootstrap), o.seed);
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "faithfulness of the justifications (%s, %s): k = %zu items removed per pair, %zu pairs, "
                "evidence weight %s%s, w = %.2f, rho = %.2f\n"
                "  mean s(u, i)                 %.4f\n"
                "  mean drop, cited items       %.4f\n"
                "  mean drop, random items      %.4f\n"
                "  mean difference              %.4f   (%.0f%% bootstrap interval %.4f .. %.4f)\n"
                "  cited drop > random drop     %.1f%% of pairs (%zu vs %zu, %zu ties); sign test p = %.3g\n"
                "  item falls in rank           %.1f%% of pairs without the cited items, %.1f%% without random ones\n"
                "  mean rank (1 = top)          %.2f on the full graph, %.2f without cited, %.2f without random\n"
                "  %.1fs (%.2fs per pair, two forward passes each)\n",
                model.name().c_str(), p.description.c_str(), e.k, s.pairs, e.weighting.c_str(),
                e.normalize_sides ? " (sides normalised)" : "", e.user_side_weight,
                e.residual_weight,
                s.mean_score, s.mean_cited_drop, s.mean_random_drop, s.mean_difference, 100 * s.confidence, s.ci_low,
                s.ci_high, 100 * s.fraction_cited_greater, s.cited_greater, s.random_greater, s.ties, s.sign_test_p,
                100 * s.cited_rank_lost, 100 * s.random_rank_lost, s.mean_rank, s.mean_cited_rank, s.mean_random_rank,
                seconds, results.empty() ? 0.0 : seconds / static_cast<double>(results.size()));
  out << buf;

  const auto ids = [&](const std::vector<gatrec::index_t>& items) {
    std::string t;
    for (const auto i : items) t += (t.empty() ? "" : ";") + std::to_string(p.data.items.raw(i));
    return t;
  };
  if (!e.csv.empty()) {
    std::string csv =
        "user_id,item_id,score,cited_items,random_items,cited_score,random_score,cited_drop,random_drop,rank,cited_rank,"
        "random_rank\n";
    for (const auto& r : results) {
      char row[320];
      std::snprintf(row, sizeof row, ",%.9g,%s,%s,%.9g,%.9g,%.9g,%.9g,%ld,%ld,%ld\n", r.score, ids(r.cited).c_str(),
                    ids(r.random).c_str(), r.cited_score, r.random_score, r.cited_drop(), r.random_drop(),
                    static_cast<long>(r.rank), static_cast<long>(r.cited_rank), static_cast<long>(r.random_rank));
      csv += std::to_string(p.data.users.raw(r.user)) + "," + std::to_string(p.data.items.raw(r.item)) + row;
    }
    detail::write_text(e.csv, csv);
    log << "wrote " << e.csv << "\n";
  }
  if (!e.json.empty()) {
    gatrec::json_object j;
    j.add("model", model.name())
        .add("data", p.description)
        .add("seed", static_cast<std::int64_t>(o.seed))
        .add("k", static_cast<std::int64_t>(e.k))
        .add("evidence_weight", e.weighting)
        .add("normalize_sides", e.normalize_sides)
        .add("user_side_weight", e.user_side_weight)
        .add("residual_weight", e.residual_weight)
        .add("eligible_users", static_cast<std::int64_t>(eligible.size()))
        .add("pairs", static_cast<std::int64_t>(s.pairs))
        .add("mean_score", s.mean_score)
        .add("mean_cited_drop", s.mean_cited_drop)
        .add("mean_random_drop", s.mean_random_drop)
        .add("mean_difference", s.mean_difference)
        .add("confidence", s.confidence)
        .add("ci_low", s.ci_low)
        .add("ci_high", s.ci_high)
        .add("cited_greater", static_cast<std::int64_t>(s.cited_greater))
        .add("random_greater", static_cast<std::int64_t>(s.random_greater))
        .add("ties", static_cast<std::int64_t>(s.ties))
        .add("fraction_cited_greater", s.fraction_cited_greater)
        .add("sign_test_p", s.sign_test_p)
        .add("cited_rank_lost", s.cited_rank_lost)
        .add("random_rank_lost", s.random_rank_lost)
        .add("mean_rank", s.mean_rank)
        .add("mean_cited_rank", s.mean_cited_rank)
        .add("mean_random_rank", s.mean_random_rank)
        .add("seconds", seconds);
    detail::write_text(e.json, j.str() + "\n");
    log << "wrote " << e.json << "\n";
  }
}

/// Entry point of both subcommands; returns the exit status (2: bad command line, 1: failure).
inline int run_explain(int argc, char** argv) {
  explain_options e;
  options o;
  try {
    std::vector<std::string> rest;
    e = parse_explain_options(argc, argv, rest);
    std::vector<char*> args;
    for (auto& s : rest) args.push_back(s.data());
    o = parse_options(static_cast<int>(args.size()), args.data());
    if (o.models.size() != 1 || (o.models.front() != "gat" && o.models.front() != "gatv2"))
      throw usage_error(e.command + " explains one GAT model: --model gat or --model gatv2");
    if (!o.prior.empty()) throw usage_error(e.command + " cannot explain a model with --prior");
    if (!o.tune.empty()) throw usage_error(e.command + " does not tune (--tune)");
  } catch (const usage_error& err) {
    if (std::string(err.what()).empty()) {
      std::cout << explain_usage();
      return 0;
    }
    std::cerr << "gatrec-movielens " << argv[1] << ": " << err.what() << "\n(run with --help for the options)\n";
    return 2;
  }
  try {
    if (o.threads > 0) gatrec::set_num_threads(o.threads);
    std::ostream& log = std::cerr;
    if (!o.device_note.empty()) log << o.device_note << '\n';
    const prepared_data p = prepare_data(o, log);
    const gatrec::matrix<float> features = load_features(o, p, log);
    const gatrec::item_catalogue catalogue = make_catalogue(e, p, log);
    const auto model = train_for_explanation(o, p, features, log);
    if (e.command == "recommend")
      run_recommend(e, o, p, *model, catalogue, log, std::cout);
    else
      run_faithfulness(e, o, p, *model, log, std::cout);
  } catch (const usage_error& err) {
    std::cerr << "gatrec-movielens " << argv[1] << ": " << err.what() << "\n";
    return 2;
  } catch (const std::exception& err) {
    std::cerr << "gatrec-movielens " << argv[1] << ": error: " << err.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace movielens
