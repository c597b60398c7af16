// gatrec-profiles: writes one profile text per ML-100K item and user as JSON Lines,
//   {"kind":"item","id":"1","text":"# Toy Story\n\n## Overview\n..."}
// for tools/embed_profiles.py to embed (PAPER.md, pipeline steps 1-2).
//
//   gatrec-profiles [--source unified|integrated|template] [--data DIR] [--fold u1] [--out PATH]
//                   [--llm-url URL --llm-model NAME [--max-items N] [--max-users N]
//                    [--llm-cache DIR|off] [--llm-prompts DIR]]
//
// unified     the paper authors' LLM-written Markdown profiles (items and users)
// integrated  the authors' older "integrated text" for items and free-text summaries for users
// template    deterministic profiles from u.item metadata and the fold's training ratings
// Items or users a source lacks get a template profile; the counts are reported on stderr.
// With --llm-url (a build with gatrec::llm), an OpenAI-compatible chat server writes the profiles
// of the first N items and users instead (gatrec/llm/profile_builder.hpp); the rest keep the
// source's texts.

#include <gatrec/core/json_writer.hpp>
#include <gatrec/data/data_dir.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/profiles/dataset_profiles.hpp>
#ifdef GATREC_HAVE_LLM
#include <gatrec/llm/profile_builder.hpp>
#endif

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>

namespace {

struct options {
  std::string source = "unified";
  std::string data;
  std::string fold = "u1";
  std::string out = "-";
  // LLM profiles (gatrec::llm builds only).
  std::string llm_url;
  std::string llm_model;
  std::string max_items = "all";
  std::string max_users = "all";
  std::string llm_cache;  // empty: the default cache folder
  std::string llm_prompts;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: gatrec-profiles [--source unified|integrated|template] [--data DIR] [--fold u1..u5|ua|ub]\n"
               "                       [--out PATH]\n"
               "Writes one JSON line per ML-100K item and user: {\"kind\":...,\"id\":...,\"text\":...}.\n"
               "  --source  unified (default): the paper authors' LLM Markdown profiles;\n"
               "            integrated: their older item texts and user summaries;\n"
               "            template: profiles from u.item metadata and training ratings only\n"
               "  --data    data folder holding ml-100k/ and llm-profiles/ml-100k/\n"
               "            (default: $GATREC_DATA, else ../shared/data)\n"
               "  --fold    fold whose training ratings template user profiles summarise (default u1;\n"
               "            the authors' user profiles were written from u1.base)\n"
               "  --out     output file (default: standard output)\n"
               "LLM profiles (needs a build with gatrec::llm; key from GATREC_LLM_API_KEY or OPENAI_API_KEY):\n"
               "  --llm-url URL      OpenAI-compatible chat server (http://127.0.0.1:8080, .../v1, ...)\n"
               "  --llm-model NAME   model name sent with each request\n"
               "  --max-items N      LLM profiles for the first N items only (default all)\n"
               "  --max-users N      LLM profiles for the first N users only (default all)\n"
               "  --llm-cache DIR    answer cache (default $GATREC_CACHE/llm or ~/.cache/gatrec/llm); off: none\n"
               "  --llm-prompts DIR  prompt templates overriding the defaults (system.md, item.md, ...)\n");
}

bool parse_args(int argc, char** argv, options& o) {
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      std::exit(0);
    }
    std::string* target = nullptr;
    if (arg == "--source") target = &o.source;
    if (arg == "--data") target = &o.data;
    if (arg == "--fold") target = &o.fold;
    if (arg == "--out") target = &o.out;
    if (arg == "--llm-url") target = &o.llm_url;
    if (arg == "--llm-model") target = &o.llm_model;
    if (arg == "--max-items") target = &o.max_items;
    if (arg == "--max-users") target = &o.max_users;
    if (arg == "--llm-cache") target = &o.llm_cache;
    if (arg == "--llm-prompts") target = &o.llm_prompts;
    if (target == nullptr || k + 1 >= argc) {
      std::fprintf(stderr, "gatrec-profiles: %s '%s'\n", target == nullptr ? "unknown argument" : "missing value for",
                   arg.c_str());
      return false;
    }
    *target = argv[++k];
  }
  if (o.llm_url.empty() != o.llm_model.empty()) {
    std::fprintf(stderr, "gatrec-profiles: --llm-url and --llm-model go together\n");
    return false;
  }
  const bool llm_only = o.max_items != "all" || o.max_users != "all" || !o.llm_cache.empty() || !o.llm_prompts.empty();
  if (o.llm_url.empty() && llm_only) {
    std::fprintf(stderr, "gatrec-profiles: --max-items, --max-users, --llm-cache and --llm-prompts need --llm-url\n");
    return false;
  }
#ifndef GATREC_HAVE_LLM
  if (!o.llm_url.empty()) {
    std::fprintf(stderr,
                 "gatrec-profiles: --llm-url needs a build with gatrec::llm (libcurl and nlohmann-json; see "
                 "scripts/install_deps.sh)\n");
    return false;
  }
#endif
  return true;
}

/// "all" or a non-negative count, capped at `total`; -1 for a malformed value.
long parse_limit(const std::string& text, long total) {
  if (text == "all") return total;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || n < 0) return -1;
  return n < total ? n : total;
}

#ifdef GATREC_HAVE_LLM
/// Replaces the texts of the first items and users by LLM profiles; reports on stderr.
void write_llm_profiles(const options& o, const gatrec::dataset& ds, const gatrec::rating_table& train,
                        const std::filesystem::path& authors_dir, long max_items, long max_users,
                        gatrec::dataset_profile_texts& texts) {
  gatrec::chat_options co;
  co.url = o.llm_url;
  co.model = o.llm_model;
  if (o.llm_cache != "off")
    co.cache = std::make_shared<gatrec::response_cache>(o.llm_cache.empty() ? gatrec::response_cache::default_dir()
                                                                            : std::filesystem::path(o.llm_cache));
  gatrec::chat_client chat(co);
  gatrec::profile_builder_options bo;
  if (!o.llm_prompts.empty()) bo.prompts = gatrec::read_profile_prompts(o.llm_prompts);
  gatrec::llm_profile_builder builder(chat, bo);

  // TMDB overviews, when the authors' metadata file is there (ML-100K has none of its own).
  gatrec::profile_texts overviews;
  const auto tmdb = authors_dir / "items_tmdb_metadata.csv";
  if (max_items > 0 && std::filesystem::exists(tmdb))
    overviews = std::move(gatrec::read_profile_csv(tmdb, "movie_id", {"overview"})[0]);

  const auto progress = [](const char* what, long done, long total) {
    if (done % 25 == 0 || done == total) std::fprintf(stderr, "gatrec-profiles: llm: %ld/%ld %s\n", done, total, what);
  };
  for (long i = 0; i < max_items; ++i) {
    const auto index = static_cast<gatrec::index_t>(i);
    const auto it = overviews.find(ds.items.raw(index));
    const std::string overview = it == overviews.end() ? std::string() : it->second;
    texts.items[static_cast<std::size_t>(i)] =
        builder.item_profile(ds.item_meta[static_cast<std::size_t>(i)], overview).render();
    progress("items", i + 1, max_items);
  }
  for (long u = 0; u < max_users; ++u) {
    texts.users[static_cast<std::size_t>(u)] =
        builder.user_profile(train, static_cast<gatrec::index_t>(u), ds.item_meta).render();
    progress("users", u + 1, max_users);
  }
  const gatrec::profile_builder_stats& s = builder.stats();
  const gatrec::chat_stats cs = chat.stats();
  std::fprintf(stderr,
               "gatrec-profiles: llm '%s': %ld items (%zu templates), %ld users (%zu templates: %zu without liked or "
               "disliked ratings, %zu with every reply rejected); %zu requests, %zu from the cache, %zu replies "
               "rejected%s%s\n",
               o.llm_model.c_str(), max_items, s.item_templates, max_users, s.users_without_steps + s.users_all_rejected,
               s.users_without_steps, s.users_all_rejected, s.requests, cs.cache_hits, s.rejected,
               s.rejected ? "; last: " : "", s.last_rejection.c_str());
}
#endif

void write_line(std::FILE* f, const char* kind, gatrec::raw_id_t id, const std::string& text, const std::string& path) {
  std::string line = gatrec::json_object().add("kind", kind).add("id", std::to_string(id)).add("text", text).str();
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), f) != line.size()) throw gatrec::io_error("cannot write '" + path + "'");
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse_args(argc, argv, o)) {
    usage(stderr);
    return 2;
  }
  try {
    const gatrec::profile_source source = gatrec::parse_profile_source(o.source);
    const auto root = gatrec::resolve_data_dir(o.data);
    const auto ml = gatrec::dataset_dir(root, "ml-100k");
    const gatrec::dataset ds = gatrec::load_movielens_100k(ml);
    const gatrec::split fold = gatrec::load_movielens_100k_fold(ml, o.fold, ds);
    if (source != gatrec::profile_source::templated && o.fold != "u1")
      std::fprintf(stderr,
                   "gatrec-profiles: warning: the authors' user profiles were written from u1.base; with fold %s "
                   "they describe test ratings\n",
                   o.fold.c_str());
    auto texts = gatrec::load_profile_texts(ds, fold.train, source, root / "llm-profiles" / "ml-100k");
    if (!o.llm_url.empty()) {
      const long max_items = parse_limit(o.max_items, ds.num_items());
      const long max_users = parse_limit(o.max_users, ds.num_users());
      if (max_items < 0 || max_users < 0) {
        std::fprintf(stderr, "gatrec-profiles: --max-items and --max-users take a count or 'all'\n");
        return 2;
      }
#ifdef GATREC_HAVE_LLM
      write_llm_profiles(o, ds, fold.train, root / "llm-profiles" / "ml-100k", max_items, max_users, texts);
#endif
    }

    // Write to a temporary beside the output and rename, so that a failed run leaves no half file.
    const bool to_stdout = o.out == "-";
    const std::string tmp = o.out + ".tmp";
    std::FILE* f = to_stdout ? stdout : std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) throw gatrec::io_error("cannot create '" + tmp + "': " + std::strerror(errno));
    try {
      for (gatrec::index_t i = 0; i < ds.num_items(); ++i)
        write_line(f, "item", ds.items.raw(i), texts.items[static_cast<std::size_t>(i)], o.out);
      for (gatrec::index_t u = 0; u < ds.num_users(); ++u)
        write_line(f, "user", ds.users.raw(u), texts.users[static_cast<std::size_t>(u)], o.out);
    } catch (...) {
      if (!to_stdout) {
        std::fclose(f);
        std::remove(tmp.c_str());
      }
      throw;
    }
    if (to_stdout) {
      if (std::fflush(stdout) != 0) throw gatrec::io_error("cannot write to standard output");
    } else {
      if (std::fclose(f) != 0) throw gatrec::io_error("cannot write '" + tmp + "'");
      std::filesystem::rename(tmp, o.out);
    }
    std::fprintf(stderr,
                 "gatrec-profiles: %s profiles: %d items (%zu from templates), %d users (%zu from templates)%s -> %s\n",
                 gatrec::to_string(source), ds.num_items(), texts.template_items.size(), ds.num_users(),
                 texts.template_users.size(), o.llm_url.empty() ? "" : ", then the LLM's as counted above",
                 to_stdout ? "standard output" : o.out.c_str());
    if (!texts.unknown_items.empty() || !texts.unknown_users.empty())
      std::fprintf(stderr, "gatrec-profiles: warning: %zu item ids and %zu user ids of the source are not in ML-100K\n",
                   texts.unknown_items.size(), texts.unknown_users.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gatrec-profiles: %s\n", e.what());
    return 1;
  }
  return 0;
}
