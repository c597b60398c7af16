#pragma once

// Subcommand of gatrec-movielens that re-ranks the base model's top-N with an LLM (PAPER.md step 8;
// include/gatrec/rerank) and evaluates the re-ranked lists like the base lists:
//
//   gatrec-movielens rerank --llm-url URL --llm-model NAME [--strategies listwise,pairwise,batches,scored]
//                           [--rerank-top 20] [--max-users N] [--max-calls N] [--json PATH] [training options]
//
// It trains (or --load-model) the base model of the main job, picks the users (the cold-start users
// first, then a seeded sample of the other users with test ratings), runs every strategy on each
// user in turn, and prints the paper-protocol and full-ranking tables over the users it finished,
// for all of them and for the cold-start ones, with the calls and failures of each strategy.
// Needs gatrec::llm (libcurl, nlohmann/json); without it the subcommand exits with status 2.

#include <gatrec/core/json_writer.hpp>
#include <gatrec/core/random.hpp>
#include <gatrec/data/data_dir.hpp>
#include <gatrec/eval/full_ranking.hpp>
#include <gatrec/eval/paper_protocol.hpp>
#include <gatrec/eval/user_item_sets.hpp>
#include <gatrec/explain/item_catalogue.hpp>
#include <gatrec/profiles/dataset_profiles.hpp>
#include <gatrec/rerank/rerank_lists.hpp>
#include <gatrec/rerank/strategies.hpp>
#ifdef GATREC_HAVE_LLM
#include <gatrec/llm/chat_client.hpp>
#include <gatrec/llm/rerank_adapter.hpp>
#include <gatrec/llm/response_cache.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "data_setup.hpp"
#include "options.hpp"
#include "report.hpp"
#include "run_model.hpp"

namespace movielens {

/// Options of the rerank subcommand (the training options are the main job's).
struct rerank_cli_options {
  std::string llm_url, llm_model;
  std::string llm_cache;  // empty: the default folder; "off": no cache
  std::vector<gatrec::rerank_strategy> strategies{gatrec::rerank_strategy::listwise, gatrec::rerank_strategy::pairwise,
                                                  gatrec::rerank_strategy::batches, gatrec::rerank_strategy::scored};
  int top = 20;
  int max_users = 20;                 // 0: every user with test ratings
  std::size_t max_calls = 0;          // per strategy, over the run; 0: no limit
  std::size_t max_user_calls = 0;     // per user and strategy; 0: no limit
  double time_limit = 0;              // seconds; 0: none. Checked after each user
  std::string profiles = "unified";   // user texts: unified | integrated | template
  std::size_t profile_chars = 1200;   // user text length limit
  std::size_t item_profile_chars = 0; // item profile text per candidate line; 0: none
  std::string json;
};

inline bool is_rerank_command(const std::string& first) { return first == "rerank"; }

inline const char* rerank_usage() {
  return R"(usage: gatrec-movielens rerank --llm-url URL --llm-model NAME [options]

Trains the base model as the main job does (or loads it with --load-model), re-ranks the top N of
each chosen user with an OpenAI-compatible chat server (PAPER.md step 8), and evaluates base and
re-ranked lists with the paper protocol (rated-only) and full ranking at K = 10, over the chosen
users and over the cold-start ones among them (< 10 training ratings).

  --llm-url URL           chat server (http://127.0.0.1:8080, .../v1 or .../v1/chat/completions)
  --llm-model NAME        model name sent with each request
  --llm-cache DIR|off     answer cache (default $GATREC_CACHE/llm or ~/.cache/gatrec/llm): a rerun
                          asks the server nothing (requests are sent at temperature 0 with --seed)
  --strategies LIST       comma list of listwise, pairwise, batches, scored (default all four)
                            listwise  one prompt with all N candidates, a permutation of their ids
                            pairwise  binary-search-tree insertion with "A or B" comparisons
                            batches   windows of 5 from the bottom to the top, stride 3 (RankGPT)
                            scored    a 1-100 score per candidate, fused 0.8 * (1 - r / (N - 1))
                                      + 0.2 * score / 100 with the base position r
  --rerank-top N          candidates re-ranked per user (default 20); positions N+1.. keep the base order
  --max-users N           users re-ranked: the cold-start users with test ratings first, then a
                          sample (seeded by --seed) of the others (default 20; 0: all)
  --max-calls N           calls per strategy over the run (default 0: no limit)
  --max-user-calls N      calls per user and strategy (default 0: no limit); what a limit cuts
                          keeps the base order
  --time-limit S          stop after the user during which S seconds were passed; only finished
                          users are evaluated (default 0: none)
  --profiles SOURCE       user texts: unified (the authors' LLM profiles, default), integrated,
                          template; unified and integrated need llm-profiles/ml-100k and fold u1
  --profile-chars N       user text length limit in bytes (default 1200)
  --item-profile-chars N  add each candidate's profile, cut to N bytes (default 0: title, year, genres)
  --json PATH             settings, per-strategy counts and metrics as JSON

Every other option is the main job's (run gatrec-movielens --help): data, features, --model (one),
training, --seed, --threads, --save-model / --load-model, --list-length (at least --rerank-top).
)";
}

namespace rerank_cli {

inline std::size_t to_count(const std::string& flag, const std::string& v) {
  const long long x = detail::to_int(flag, v);
  if (x < 0) throw usage_error(flag + " must be non-negative");
  return static_cast<std::size_t>(x);
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw gatrec::io_error("cannot write " + path);
  out << text;
  if (!out) throw gatrec::io_error("error writing " + path);
}

}  // namespace rerank_cli

/// Splits argv into the rerank options and the main job's argv (program name first).
inline rerank_cli_options parse_rerank_options(int argc, char** argv, std::vector<std::string>& rest) {
  using namespace detail;
  rerank_cli_options r;
  rest = {argv[0]};
  for (int a = 2; a < argc; ++a) {
    const std::string flag = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) throw usage_error(flag + " needs a value");
      return argv[++a];
    };
    if (flag == "--help" || flag == "-h") throw usage_error("");
    else if (flag == "--llm-url") r.llm_url = value();
    else if (flag == "--llm-model") r.llm_model = value();
    else if (flag == "--llm-cache") r.llm_cache = value();
    else if (flag == "--strategies") {
      r.strategies.clear();
      for (const auto& s : split_list(value())) {
        try {
          r.strategies.push_back(gatrec::parse_rerank_strategy(s));
        } catch (const gatrec::logic_error&) {
          throw usage_error("unknown strategy '" + s + "' (known: listwise, pairwise, batches, scored)");
        }
      }
      if (r.strategies.empty()) throw usage_error("--strategies needs at least one strategy");
    } else if (flag == "--rerank-top") r.top = static_cast<int>(to_int(flag, value()));
    else if (flag == "--max-users") r.max_users = static_cast<int>(to_int(flag, value()));
    else if (flag == "--max-calls") r.max_calls = rerank_cli::to_count(flag, value());
    else if (flag == "--max-user-calls") r.max_user_calls = rerank_cli::to_count(flag, value());
    else if (flag == "--time-limit") r.time_limit = to_double(flag, value());
    else if (flag == "--profiles") r.profiles = value();
    else if (flag == "--profile-chars") r.profile_chars = rerank_cli::to_count(flag, value());
    else if (flag == "--item-profile-chars") r.item_profile_chars = rerank_cli::to_count(flag, value());
    else if (flag == "--json") r.json = value();
    else rest.push_back(flag);
  }
  if (r.llm_url.empty() || r.llm_model.empty()) throw usage_error("rerank needs --llm-url URL and --llm-model NAME");
  if (r.top < 2) throw usage_error("--rerank-top must be at least 2");
  if (r.max_users < 0) throw usage_error("--max-users must be non-negative");
  if (r.time_limit < 0) throw usage_error("--time-limit must be non-negative");
  if (r.profiles != "unified" && r.profiles != "integrated" && r.profiles != "template")
    throw usage_error("--profiles must be unified, integrated or template");
  return r;
}

/// The users to re-rank: cold-start users with test ratings first (ascending), then a seeded sample
/// of the other users with test ratings; at most max_users in all (0: all).
inline std::vector<gatrec::index_t> choose_rerank_users(const prepared_data& p, int max_users, std::uint64_t seed,
                                                        std::vector<gatrec::index_t>& cold) {
  const gatrec::index_t nu = p.data.num_users();
  std::vector<char> tested(static_cast<std::size_t>(nu), 0);
  for (const gatrec::index_t u : p.test.user) tested[static_cast<std::size_t>(u)] = 1;
  cold.clear();
  std::vector<char> is_cold(static_cast<std::size_t>(nu), 0);
  for (const gatrec::index_t u : gatrec::cold_start_users(p.train, nu, 10))
    if (tested[static_cast<std::size_t>(u)]) {
      cold.push_back(u);
      is_cold[static_cast<std::size_t>(u)] = 1;
    }
  std::vector<gatrec::index_t> others;
  for (gatrec::index_t u = 0; u < nu; ++u)
    if (tested[static_cast<std::size_t>(u)] && !is_cold[static_cast<std::size_t>(u)]) others.push_back(u);
  gatrec::rng gen(gatrec::mix64(seed ^ 0x4E4A4Bull));
  for (std::size_t j = 0; j + 1 < others.size(); ++j)
    std::swap(others[j], others[j + static_cast<std::size_t>(gen.below(others.size() - j))]);
  std::vector<gatrec::index_t> users = cold;
  users.insert(users.end(), others.begin(), others.end());
  if (max_users > 0 && static_cast<std::size_t>(max_users) < users.size()) users.resize(static_cast<std::size_t>(max_users));
  return users;
}

/// User texts and candidate items for the prompts.
inline gatrec::rerank_corpus make_rerank_corpus(const rerank_cli_options& r, const options& o, const prepared_data& p,
                                                std::ostream& log) {
  gatrec::profile_source source = gatrec::parse_profile_source(r.profiles);
  if (source != gatrec::profile_source::templated && o.dataset != "ml-100k") {
    log << "rerank: the authors' profiles cover ml-100k only; using template profiles\n";
    source = gatrec::profile_source::templated;
  }
  if (source != gatrec::profile_source::templated && o.fold != "u1")
    log << "rerank: warning: the authors' user profiles were written from u1.base; with fold " << o.fold
        << " they describe test ratings\n";
  const auto authors = gatrec::resolve_data_dir(o.data) / "llm-profiles" / "ml-100k";
  const gatrec::dataset_profile_texts texts = gatrec::load_profile_texts(p.data, p.train, source, authors);
  gatrec::rerank_corpus c;
  for (const auto& t : texts.users) c.user_texts.push_back(gatrec::compact_profile_text(t, r.profile_chars));
  for (gatrec::index_t i = 0; i < p.data.num_items(); ++i) {
    const gatrec::item_info& m = p.data.item_meta[static_cast<std::size_t>(i)];
    gatrec::rerank_item item;
    item.title = gatrec::display_title(m.title, 0);
    if (item.title.empty()) item.title = "item " + std::to_string(p.data.items.raw(i));
    item.year = m.year;
    for (const auto& g : m.genres)
      if (!gatrec::detail::is_placeholder_genre(g)) item.genres.push_back(g);
    if (r.item_profile_chars > 0) item.profile = gatrec::compact_profile_text(texts.items[static_cast<std::size_t>(i)], 0);
    c.items.push_back(std::move(item));
  }
  log << "rerank: " << gatrec::to_string(source) << " user texts (" << texts.template_users.size()
      << " from templates), cut to " << r.profile_chars << " bytes\n";
  return c;
}

/// The test ratings of the listed users only: full ranking then averages over them.
inline gatrec::rating_table ratings_of_users(const gatrec::rating_table& test, const std::vector<gatrec::index_t>& users,
                                             gatrec::index_t num_users) {
  std::vector<char> keep(static_cast<std::size_t>(num_users), 0);
  for (const auto u : users) keep[static_cast<std::size_t>(u)] = 1;
  gatrec::rating_table out;
  for (std::size_t k = 0; k < test.size(); ++k)
    if (keep[static_cast<std::size_t>(test.user[k])])
      out.push_back(test.user[k], test.item[k], test.rating[k], test.timestamp.empty() ? 0 : test.timestamp[k]);
  return out;
}

/// Base or one strategy's lists, evaluated over the finished users and the cold-start ones among them.
inline model_summary evaluate_reranked(const std::string& name, const gatrec::ranked_lists& lists, const prepared_data& p,
                                       const options& o, const std::vector<gatrec::index_t>& users,
                                       const std::vector<gatrec::index_t>& cold) {
  model_summary s;
  s.model = name;
  model_run run;
  run.model = name;
  s.runs.push_back(run);  // print_table reads the run count only
  gatrec::rated_only_options ro;
  ro.ks = {10};
  ro.relevance_threshold = o.like_threshold;
  s.paper.push_back(gatrec::evaluate_rated_only(lists, p.test, users, ro));
  if (!cold.empty()) s.cold_start.push_back(gatrec::evaluate_rated_only(lists, p.test, cold, ro));
  gatrec::full_ranking_options fo;
  fo.ks = {10};
  fo.relevance_threshold = o.like_threshold;
  const gatrec::user_item_sets train_items(p.data.num_users(), p.data.num_items(), p.train);
  s.full.push_back(gatrec::evaluate_full_ranking(lists, ratings_of_users(p.test, users, p.data.num_users()), train_items, fo));
  return s;
}

inline std::string counts_json(const gatrec::rerank_counts& c, double seconds) {
  gatrec::json_object j;
  j.add("users", static_cast<std::int64_t>(c.users))
      .add("calls", static_cast<std::int64_t>(c.calls))
      .add("call_errors", static_cast<std::int64_t>(c.call_errors))
      .add("malformed", static_cast<std::int64_t>(c.malformed))
      .add("repaired", static_cast<std::int64_t>(c.repaired))
      .add("fallback_users", static_cast<std::int64_t>(c.fallback_users))
      .add("budget_limited", static_cast<std::int64_t>(c.budget_limited))
      .add("changed_users", static_cast<std::int64_t>(c.changed_users))
      .add("seconds", seconds);
  return j.str();
}

#ifdef GATREC_HAVE_LLM
/// The subcommand's work once the options are read.
inline void run_rerank_job(const rerank_cli_options& r, const options& o, std::ostream& log, std::ostream& out) {
  const prepared_data p = prepare_data(o, log);
  if (!p.explicit_ratings) throw usage_error("rerank evaluates with the paper protocol, which needs explicit ratings");
  const gatrec::matrix<float> features = load_features(o, p, log);
  const std::string& model = o.models.front();
  log << "== " << model << " (seed " << o.seed << ")\n";
  const model_run base = run_model(model, o, p, features, o.seed, log);
  const gatrec::rerank_corpus corpus = make_rerank_corpus(r, o, p, log);
  std::vector<gatrec::index_t> cold;
  const std::vector<gatrec::index_t> users = choose_rerank_users(p, r.max_users, o.seed, cold);
  log << "rerank: " << users.size() << " users (" << std::min(cold.size(), users.size())
      << " cold-start first, then a seeded sample), top " << r.top << ", " << r.strategies.size() << " strategies\n";

  gatrec::chat_options co;
  co.url = r.llm_url;
  co.model = r.llm_model;
  if (r.llm_cache != "off")
    co.cache = std::make_shared<gatrec::response_cache>(r.llm_cache.empty() ? gatrec::response_cache::default_dir()
                                                                            : std::filesystem::path(r.llm_cache));
  gatrec::chat_client client(co);
  gatrec::rerank_options ropt;
  ropt.top_n = r.top;
  ropt.max_calls_per_user = r.max_user_calls;
  ropt.seed = static_cast<std::int64_t>(o.seed);
  ropt.prompt.max_item_profile_bytes = r.item_profile_chars;

  struct strategy_run {
    gatrec::rerank_strategy strategy;
    std::unique_ptr<gatrec::limited_chat> chat;
    gatrec::ranked_lists lists;
    gatrec::rerank_counts counts;
    double seconds = 0;
  };
  std::vector<strategy_run> runs;
  for (const auto s : r.strategies)
    runs.push_back({s, std::make_unique<gatrec::limited_chat>(gatrec::rerank_chat(client), r.max_calls), base.lists, {}, 0});

  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::vector<gatrec::index_t> done;
  for (const gatrec::index_t u : users) {
    const gatrec::rerank_query q = gatrec::make_rerank_query(corpus, base.lists, u, r.top);
    std::string line = "rerank: user " + std::to_string(p.data.users.raw(u)) + ":";
    for (auto& s : runs) {
      const auto t0 = std::chrono::steady_clock::now();
      const gatrec::rerank_outcome res = gatrec::rerank_user(s.strategy, q, *s.chat, ropt);
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      gatrec::apply_rerank_order(s.lists, u, res.order);
      s.counts += res.counts;
      s.seconds += sec;
      char buf[160];
      std::snprintf(buf, sizeof buf, " %s %zu calls%s%s%s %.1fs;", gatrec::to_string(s.strategy), res.counts.calls,
                    res.counts.malformed ? (" " + std::to_string(res.counts.malformed) + " malformed").c_str() : "",
                    res.counts.fallback_users ? " fallback" : "", res.counts.changed_users ? " changed" : " same", sec);
      line += buf;
    }
    done.push_back(u);
    if (!o.quiet) log << line << " (" << done.size() << "/" << users.size() << ", " << static_cast<int>(elapsed()) << "s)\n";
    if (r.time_limit > 0 && elapsed() > r.time_limit) {
      log << "rerank: time limit of " << r.time_limit << "s reached after " << done.size() << " users\n";
      break;
    }
  }
  std::vector<gatrec::index_t> done_cold;
  for (const auto u : done)
    if (std::find(cold.begin(), cold.end(), u) != cold.end()) done_cold.push_back(u);
  std::sort(done_cold.begin(), done_cold.end());

  std::vector<model_summary> rows{evaluate_reranked("base", base.lists, p, o, done, done_cold)};
  for (const auto& s : runs) rows.push_back(evaluate_reranked(gatrec::to_string(s.strategy), s.lists, p, o, done, done_cold));
  const std::string what = p.description + ", " + model + " top " + std::to_string(r.top) + " re-ranked by " + r.llm_model;
  const std::vector<std::string> metrics{"precision", "recall", "ndcg", "map"};
  print_table(out, what + " — paper protocol (rated-only), " + std::to_string(done.size()) + " users", rows, metrics, {10},
              table_kind::paper);
  if (!done_cold.empty())
    print_table(out, what + " — paper protocol, the " + std::to_string(done_cold.size()) + " cold-start users among them",
                rows, metrics, {10}, table_kind::cold_start);
  print_table(out, what + " — full ranking, the same " + std::to_string(done.size()) + " users", rows, metrics, {10},
              table_kind::full);

  out << "\ncalls and failures (" << done.size() << " users)\n";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-10s %7s %7s %9s %9s %9s %9s %9s %8s %9s\n", "strategy", "calls", "errors", "malformed",
                "repaired", "fallback", "limited", "changed", "seconds", "calls/user");
  out << buf;
  for (const auto& s : runs) {
    const auto& c = s.counts;
    std::snprintf(buf, sizeof buf, "%-10s %7zu %7zu %9zu %9zu %9zu %9zu %9zu %8.1f %9.1f\n", gatrec::to_string(s.strategy),
                  c.calls, c.call_errors, c.malformed, c.repaired, c.fallback_users, c.budget_limited, c.changed_users,
                  s.seconds, done.empty() ? 0.0 : static_cast<double>(c.calls) / static_cast<double>(done.size()));
    out << buf;
  }
  const gatrec::chat_stats cs = client.stats();
  out << "chat client: " << cs.calls << " requests, " << cs.cache_hits << " from the cache, " << cs.fetched
      << " from the server; " << static_cast<int>(elapsed()) << "s\n";

  if (!r.json.empty()) {
    std::string strategies = "[";
    for (std::size_t k = 0; k < rows.size(); ++k) {
      gatrec::json_object j;
      j.add("name", rows[k].model)
          .add_raw("paper", metrics_json(rows[k].paper, false))
          .add_raw("cold_start", metrics_json(rows[k].cold_start, false))
          .add_raw("full", metrics_json(rows[k].full, false));
      if (k > 0) j.add_raw("counts", counts_json(runs[k - 1].counts, runs[k - 1].seconds));
      strategies += (k ? ",\n  " : "\n  ") + j.str();
    }
    std::string user_ids = "[";
    for (const auto u : done) user_ids += (user_ids.size() > 1 ? "," : "") + std::to_string(p.data.users.raw(u));
    std::string cold_ids = "[";
    for (const auto u : done_cold) cold_ids += (cold_ids.size() > 1 ? "," : "") + std::to_string(p.data.users.raw(u));
    gatrec::json_object j;
    j.add("data", p.description)
        .add("model", model)
        .add("seed", static_cast<std::int64_t>(o.seed))
        .add("llm_model", r.llm_model)
        .add("rerank_top", r.top)
        .add("max_calls", static_cast<std::int64_t>(r.max_calls))
        .add("max_user_calls", static_cast<std::int64_t>(r.max_user_calls))
        .add("profiles", r.profiles)
        .add_raw("users", user_ids + "]")
        .add_raw("cold_start_users", cold_ids + "]")
        .add("requests", static_cast<std::int64_t>(cs.calls))
        .add("cache_hits", static_cast<std::int64_t>(cs.cache_hits))
        .add("seconds", elapsed())
        .add_raw("results", strategies + "\n]");
    rerank_cli::write_text(r.json, j.str() + "\n");
    log << "wrote " << r.json << "\n";
  }
}
#endif

/// Entry point of the subcommand; returns the exit status (2: bad command line, 1: failure).
inline int run_rerank(int argc, char** argv) {
  rerank_cli_options r;
  options o;
  try {
    std::vector<std::string> rest;
    r = parse_rerank_options(argc, argv, rest);
    std::vector<char*> args;
    for (auto& s : rest) args.push_back(s.data());
    o = parse_options(static_cast<int>(args.size()), args.data());
    if (o.models.size() != 1) throw usage_error("rerank re-ranks one base model's lists: give one --model");
    if (!o.tune.empty()) throw usage_error("rerank does not tune (--tune)");
    if (o.list_length < r.top) throw usage_error("--list-length must be at least --rerank-top");
#ifndef GATREC_HAVE_LLM
    throw usage_error(
        "rerank needs a build with gatrec::llm (libcurl and nlohmann-json; see scripts/install_deps.sh): this "
        "gatrec-movielens was built without it");
#endif
  } catch (const usage_error& err) {
    if (std::string(err.what()).empty()) {
      std::cout << rerank_usage();
      return 0;
    }
    std::cerr << "gatrec-movielens rerank: " << err.what() << "\n(run with --help for the options)\n";
    return 2;
  }
#ifdef GATREC_HAVE_LLM
  try {
    if (o.threads > 0) gatrec::set_num_threads(o.threads);
    if (!o.device_note.empty()) std::cerr << o.device_note << '\n';
    run_rerank_job(r, o, std::cerr, std::cout);
  } catch (const usage_error& err) {
    std::cerr << "gatrec-movielens rerank: " << err.what() << "\n";
    return 2;
  } catch (const std::exception& err) {
    std::cerr << "gatrec-movielens rerank: error: " << err.what() << "\n";
    return 1;
  }
#endif
  return 0;
}

}  // namespace movielens
