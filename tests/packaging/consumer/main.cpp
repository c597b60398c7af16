#include <gatrec/gat.hpp>

#include <cstdio>

int main() {
  gatrec::rating_table ratings;
  ratings.push_back(0, 0, 5.0f);
  ratings.push_back(0, 1, 2.0f);
  ratings.push_back(1, 1, 4.0f);
  const gatrec::bipartite_graph graph(2, 2, ratings);
  std::printf("gatrec %d.%d.%d: %d nodes, %lld edges\n", GATREC_VERSION_MAJOR, GATREC_VERSION_MINOR,
              GATREC_VERSION_PATCH, graph.num_nodes(), static_cast<long long>(graph.num_edges()));
  return graph.num_edges() == 6 ? 0 : 1;
}
