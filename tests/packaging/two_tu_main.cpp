// Two translation units include <gatrec/gat.hpp>; linking them proves every non-template function
// in the public headers is `inline` (a missing one is a multiple-definition error).
#include <gatrec/gat.hpp>

#include <cstdio>

int degree_sum_from_other_unit();

int main() {
  gatrec::rating_table r;
  r.push_back(0, 0, 5.0f);
  r.push_back(1, 0, 3.0f);
  const gatrec::bipartite_graph g(2, 1, r);
  const int here = static_cast<int>(g.num_edges());
  const int there = degree_sum_from_other_unit();
  if (here != 4 || there != 4) {
    std::fprintf(stderr, "edge counts differ: %d vs %d (expected 4)\n", here, there);
    return 1;
  }
  return 0;
}
