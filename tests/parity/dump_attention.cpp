// Writes random graphs, gatrec layers/models, their outputs and every gradient (float64) to text
// files, so that pyg_parity.py can rebuild the same layers in PyTorch Geometric and compare.
//
// File format, one tensor per record:  "tensor <name> <rows> <cols>" then the row-major values on
// the next line; "meta <key> <value>" lines describe the case.
#include <gatrec/gat.hpp>
#include <gatrec/nn/gat_model.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <string>
#include <vector>

#include "support/random_graphs.hpp"

namespace {

using gatrec::matrix;

struct writer {
  std::ofstream out;
  explicit writer(const std::filesystem::path& p) : out(p) { out << std::setprecision(17); }
  void meta(const std::string& k, const std::string& v) { out << "meta " << k << " " << v << "\n"; }
  template <class Matrix>
  void tensor(const std::string& name, const Matrix& m) {
    out << "tensor " << name << " " << m.rows() << " " << m.cols() << "\n";
    for (Eigen::Index k = 0; k < m.size(); ++k) out << (k ? " " : "") << m.data()[k];
    out << "\n";
  }
};

// Random edges without self-loops (PyG removes existing self-loops before adding its own), with a
// hub, a node without in-edges and duplicate edges; the rating-like feature is in 1..5.
struct edge_list {
  std::vector<gatrec::index_t> src, dst;
  std::vector<float> feat;
};

edge_list random_edges(gatrec::index_t n, std::uint64_t seed) {
  gatrec::rng gen(seed);
  edge_list l;
  auto add = [&](gatrec::index_t s, gatrec::index_t d) {
    if (s == d) return;
    l.src.push_back(s);
    l.dst.push_back(d);
    l.feat.push_back(static_cast<float>(1 + gen.below(5)));
  };
  for (gatrec::index_t v = 2; v < n; ++v)
    for (int k = 0; k < 3; ++k) add(static_cast<gatrec::index_t>(gen.below(n)), v);
  for (gatrec::index_t v = 0; v < n; ++v) add(v, 1);  // hub
  add(3, 4);
  add(3, 4);  // duplicate
  return l;    // node 0 has no in-edges
}

void write_graph(writer& w, const edge_list& l, gatrec::index_t n) {
  matrix<double> ei(2, static_cast<Eigen::Index>(l.src.size())), ea(static_cast<Eigen::Index>(l.src.size()), 1);
  for (std::size_t e = 0; e < l.src.size(); ++e) {
    ei(0, static_cast<Eigen::Index>(e)) = l.src[e];
    ei(1, static_cast<Eigen::Index>(e)) = l.dst[e];
    ea(static_cast<Eigen::Index>(e), 0) = l.feat[e];
  }
  w.meta("num_nodes", std::to_string(n));
  w.tensor("edge_index", ei);
  w.tensor("edge_attr", ea);
}

template <class Policy>
void dump_layer(const std::filesystem::path& dir, bool concat, bool self_loops, int edge_dim) {
  const std::string form = Policy::form == gatrec::attention_form::gat ? "gat" : "gatv2";
  const std::string name = "layer_" + form + (concat ? "_concat" : "_mean") + (self_loops ? "_loops" : "_noloops") +
                           "_edge" + std::to_string(edge_dim);
  const gatrec::index_t n = 40;
  const edge_list l = random_edges(n, 17);
  gatrec::graph_options gopt;
  gopt.add_self_loops = self_loops;
  const gatrec::csr_graph g(n, l.src, l.dst, l.feat, 1, gopt);

  gatrec::attention_options opt;
  opt.in_dim = 7;
  opt.heads = 3;
  opt.head_dim = 5;
  opt.concat = concat;
  opt.edge_dim = edge_dim;
  gatrec::rng gen(23);
  gatrec::attention_layer<double, Policy> layer("conv", opt, gen);
  gatrec::parameter_list<double> params;
  layer.collect(params);
  for (auto* p : params)
    if (p->name.find("bias") != std::string::npos)
      p->value = gatrec::test::random_matrix<double>(p->value.rows(), p->value.cols(), 5, 0.2);
  const matrix<double> x = gatrec::test::random_matrix<double>(n, 7, 1);
  const matrix<double> r = gatrec::test::random_matrix<double>(n, layer.out_dim(), 2);
  typename gatrec::attention_layer<double, Policy>::context ctx;
  matrix<double> y;
  layer.forward(g, x, y, ctx);
  matrix<double> dx = matrix<double>::Zero(n, 7);
  gatrec::zero_grad(params);
  layer.backward(ctx, r, &dx);

  writer w(dir / (name + ".txt"));
  w.meta("kind", "layer");
  w.meta("form", form);
  w.meta("concat", concat ? "1" : "0");
  w.meta("self_loops", self_loops ? "1" : "0");
  w.meta("edge_dim", std::to_string(edge_dim));
  w.meta("heads", "3");
  w.meta("head_dim", "5");
  w.meta("in_dim", "7");
  write_graph(w, l, n);
  w.tensor("x", x);
  w.tensor("upstream", r);
  w.tensor("out", y);
  w.tensor("grad.x", dx);
  for (auto* p : params) {
    w.tensor("param." + p->name, p->value);
    w.tensor("grad." + p->name, p->grad);
  }
}

void dump_model(const std::filesystem::path& dir, gatrec::attention_form form) {
  const std::string f = form == gatrec::attention_form::gat ? "gat" : "gatv2";
  const gatrec::index_t n = 30;
  const edge_list l = random_edges(n, 29);
  gatrec::graph_options gopt;
  gopt.add_self_loops = true;
  const gatrec::csr_graph g(n, l.src, l.dst, l.feat, 1, gopt);
  gatrec::gat_model_options opt;
  opt.form = form;
  opt.in_dim = 10;
  opt.layers = {{3, 4, true}, {3, 4, true}, {1, 5, true}};  // 10 -> 12 -> 12 -> 5
  opt.seed = 3;
  gatrec::gat_model<double> model(opt);
  auto params = model.parameters();
  for (auto* p : params)
    if (p->name.find("bias") != std::string::npos || p->name.find("norm") != std::string::npos)
      p->value += gatrec::test::random_matrix<double>(p->value.rows(), p->value.cols(), 8, 0.2);
  const matrix<double> x = gatrec::test::random_matrix<double>(n, 10, 4);
  const matrix<double> r = gatrec::test::random_matrix<double>(n, 5, 6);
  gatrec::gat_model<double>::context ctx;
  const matrix<double> h = model.forward(g, x, ctx);
  matrix<double> dx = matrix<double>::Zero(n, 10);
  gatrec::zero_grad(params);
  model.backward(ctx, r, &dx);

  writer w(dir / ("model_" + f + ".txt"));
  w.meta("kind", "model");
  w.meta("form", f);
  w.meta("layers", "3:4,3:4,1:5");
  w.meta("in_dim", "10");
  w.meta("edge_dim", "1");
  w.meta("self_loops", "1");
  write_graph(w, l, n);
  w.tensor("x", x);
  w.tensor("upstream", r);
  w.tensor("out", h);
  w.tensor("grad.x", dx);
  for (auto* p : params) {
    w.tensor("param." + p->name, p->value);
    w.tensor("grad." + p->name, p->grad);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (bool concat : {true, false})
    for (bool loops : {true, false})
      for (int edge_dim : {0, 1}) {
        dump_layer<gatrec::gat_policy>(dir, concat, loops, edge_dim);
        dump_layer<gatrec::gatv2_policy>(dir, concat, loops, edge_dim);
      }
  dump_model(dir, gatrec::attention_form::gat);
  dump_model(dir, gatrec::attention_form::gatv2);
  std::printf("wrote parity cases to %s\n", dir.string().c_str());
  return 0;
}
