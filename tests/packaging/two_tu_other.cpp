#include <gatrec/gat.hpp>

int degree_sum_from_other_unit() {
  gatrec::rating_table r;
  r.push_back(0, 0, 4.0f);
  r.push_back(1, 0, 1.0f);
  const gatrec::bipartite_graph g(2, 1, r);
  int sum = 0;
  for (gatrec::index_t v = 0; v < g.num_nodes(); ++v) sum += static_cast<int>(g.graph().in_degree(v));
  return sum;
}
