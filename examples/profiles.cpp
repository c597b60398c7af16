// gatrec-profiles: writes one profile text per ML-100K item and user as JSON Lines,
//   {"kind":"item","id":"1","text":"# Toy Story\n\n## Overview\n..."}
// for tools/embed_profiles.py to embed (PAPER.md, pipeline steps 1-2).
//
//   gatrec-profiles [--source unified|integrated|template] [--data DIR] [--fold u1] [--out PATH]
//
// unified     the paper authors' LLM-written Markdown profiles (items and users)
// integrated  the authors' older "integrated text" for items and free-text summaries for users
// template    deterministic profiles from u.item metadata and the fold's training ratings
// Items or users a source lacks get a template profile; the counts are reported on stderr.

#include <gatrec/core/json_writer.hpp>
#include <gatrec/data/data_dir.hpp>
#include <gatrec/data/movielens_100k.hpp>
#include <gatrec/profiles/dataset_profiles.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>

namespace {

struct options {
  std::string source = "unified";
  std::string data;
  std::string fold = "u1";
  std::string out = "-";
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
               "  --out     output file (default: standard output)\n");
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
    if (target == nullptr || k + 1 >= argc) {
      std::fprintf(stderr, "gatrec-profiles: %s '%s'\n", target == nullptr ? "unknown argument" : "missing value for",
                   arg.c_str());
      return false;
    }
    *target = argv[++k];
  }
  return true;
}

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
    const auto texts = gatrec::load_profile_texts(ds, fold.train, source, root / "llm-profiles" / "ml-100k");

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
                 "gatrec-profiles: %s profiles: %d items (%zu from templates), %d users (%zu from templates) -> %s\n",
                 gatrec::to_string(source), ds.num_items(), texts.template_items.size(), ds.num_users(),
                 texts.template_users.size(), to_stdout ? "standard output" : o.out.c_str());
    if (!texts.unknown_items.empty() || !texts.unknown_users.empty())
      std::fprintf(stderr, "gatrec-profiles: warning: %zu item ids and %zu user ids of the source are not in ML-100K\n",
                   texts.unknown_items.size(), texts.unknown_users.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gatrec-profiles: %s\n", e.what());
    return 1;
  }
  return 0;
}
