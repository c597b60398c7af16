#pragma once

/// @file
/// @brief A gatrec::csr_graph on the device: the destination CSR, its transpose (out-edge slots
/// holding 32-bit edge ids and their destinations), the edge features, and both chunk lists the
/// fused attention kernels walk.

#include <cuda_runtime_api.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gatrec/core/error.hpp"
#include "gatrec/core/types.hpp"
#include "gatrec/cuda/device_buffer.cuh"
#include "gatrec/graph/csr_graph.hpp"
#include "gatrec/nn/fused_attention.hpp"

#include "gat_attention.cuh"

namespace gatrec::cuda {

/// Default chunk bound: a node with more edges is split across warps. 256 edges keep a warp busy
/// for 128 to 8 iterations (by lane layout) and bound the imbalance a hub can cause.
inline constexpr offset_t default_chunk_edges = 256;

/// The device copy of a gatrec::segment_chunks.
class device_chunks {
 public:
  device_chunks() = default;
  explicit device_chunks(const segment_chunks& c, cudaStream_t stream = nullptr)
      : num_chunks_(c.num_chunks()), num_splits_(c.num_splits()), num_slots_(c.num_slots()) {
    upload(node_, c.node, stream);
    upload(begin_, c.begin, stream);
    upload(end_, c.end, stream);
    upload(slot_, c.slot, stream);
    upload(split_nodes_, c.split_nodes, stream);
    upload(split_slot_begin_, c.split_slot_begin, stream);
  }

  /// Device memory held.
  std::size_t bytes() const {
    return node_.bytes() + begin_.bytes() + end_.bytes() + slot_.bytes() + split_nodes_.bytes() +
           split_slot_begin_.bytes();
  }

  chunk_view view() const {
    chunk_view v;
    v.num_chunks = num_chunks_;
    v.num_splits = num_splits_;
    v.num_slots = num_slots_;
    v.node = node_.data();
    v.begin = begin_.data();
    v.end = end_.data();
    v.slot = slot_.data();
    v.split_nodes = split_nodes_.data();
    v.split_slot_begin = split_slot_begin_.data();
    return v;
  }

 private:
  template <class T>
  static void upload(device_buffer<T>& d, const std::vector<T>& h, cudaStream_t stream) {
    d.resize(h.size());
    d.copy_from_host(h, stream);
  }

  std::int64_t num_chunks_ = 0, num_splits_ = 0, num_slots_ = 0;
  device_buffer<index_t> node_;
  device_buffer<offset_t> begin_, end_;
  device_buffer<std::int64_t> slot_;
  device_buffer<index_t> split_nodes_;
  device_buffer<std::int64_t> split_slot_begin_;
};

/// A csr_graph uploaded once (all copies on `stream`; the host graph may be destroyed after the
/// stream has synchronised).
class device_graph {
 public:
  device_graph() = default;

  /// @param chunk_edges the chunk bound of both chunk lists (see gatrec::make_segment_chunks)
  /// @throw logic_error when chunk_edges < 1 or the graph has more edges than 32-bit edge ids
  ///        address; cuda_error when an allocation or copy fails
  explicit device_graph(const csr_graph& g, offset_t chunk_edges = default_chunk_edges, cudaStream_t stream = nullptr)
      : num_nodes_(g.num_nodes()), num_edges_(g.num_edges()), edge_dim_(g.edge_dim()) {
    GATREC_EXPECTS(g.num_edges() <= static_cast<offset_t>(max_edges),
                   "device_graph: " + std::to_string(g.num_edges()) + " edges exceed the " + std::to_string(max_edges) +
                       " that its 32-bit edge ids address");
    // The transpose keeps each out-edge slot's destination beside its edge id, so backward pass 2
    // reads both in slot order instead of chasing the id into the destination array (a dependent
    // random load per edge), and the device needs no copy of in_destinations. 32-bit ids: 4 bytes
    // an edge less (16 instead of 20 with one edge feature; 0.2 GB at the ML-25M shape).
    const std::vector<offset_t>& ids = g.out_edge_ids();
    std::vector<std::uint32_t> out_ids(ids.size());
    std::vector<index_t> out_destinations(ids.size());
    for (std::size_t k = 0; k < ids.size(); ++k) {
      out_ids[k] = static_cast<std::uint32_t>(ids[k]);
      out_destinations[k] = g.in_destinations()[static_cast<std::size_t>(ids[k])];
    }
    upload(in_offsets_, g.in_offsets(), stream);
    upload(in_sources_, g.in_sources(), stream);
    upload(edge_features_, g.edge_features(), stream);
    upload(out_offsets_, g.out_offsets(), stream);
    upload(out_edge_ids_, out_ids, stream);
    upload(out_destinations_, out_destinations, stream);
    const segment_chunks in_chunks = make_segment_chunks(g.in_offsets().data(), g.num_nodes(), chunk_edges);
    const segment_chunks out_chunks = make_segment_chunks(g.out_offsets().data(), g.num_nodes(), chunk_edges);
    in_chunks_ = device_chunks(in_chunks, stream);
    out_chunks_ = device_chunks(out_chunks, stream);
    // Copies from pageable memory may still read the host vectors above: wait before they go.
    GATREC_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  /// The most edges a device graph holds (its out-edge slots keep 32-bit edge ids).
  static constexpr std::uint64_t max_edges = std::numeric_limits<std::uint32_t>::max();

  index_t num_nodes() const noexcept { return num_nodes_; }
  offset_t num_edges() const noexcept { return num_edges_; }
  int edge_dim() const noexcept { return edge_dim_; }

  graph_view view() const {
    graph_view v;
    v.num_nodes = num_nodes_;
    v.num_edges = num_edges_;
    v.feature_stride = edge_dim_;
    v.in_offsets = in_offsets_.data();
    v.in_sources = in_sources_.data();
    v.edge_features = edge_features_.data();
    v.out_offsets = out_offsets_.data();
    v.out_edge_ids = out_edge_ids_.data();
    v.out_destinations = out_destinations_.data();
    return v;
  }
  /// Chunks of each destination's in-edges (forward, backward pass 1).
  chunk_view in_chunks() const { return in_chunks_.view(); }
  /// Chunks of each source's out-edge slots (backward pass 2).
  chunk_view out_chunks() const { return out_chunks_.view(); }

  /// Device memory held (both CSRs, features, chunk lists).
  std::size_t bytes() const {
    return in_offsets_.bytes() + in_sources_.bytes() + edge_features_.bytes() + out_offsets_.bytes() +
           out_edge_ids_.bytes() + out_destinations_.bytes() + in_chunks_.bytes() + out_chunks_.bytes();
  }

  const offset_t* in_offsets() const noexcept { return in_offsets_.data(); }
  const index_t* in_sources() const noexcept { return in_sources_.data(); }
  const float* edge_features() const noexcept { return edge_features_.data(); }

 private:
  template <class T>
  static void upload(device_buffer<T>& d, const std::vector<T>& h, cudaStream_t stream) {
    d.resize(h.size());
    d.copy_from_host(h, stream);
  }

  index_t num_nodes_ = 0;
  offset_t num_edges_ = 0;
  int edge_dim_ = 0;
  device_buffer<offset_t> in_offsets_;
  device_buffer<index_t> in_sources_;
  device_buffer<float> edge_features_;
  device_buffer<offset_t> out_offsets_;
  device_buffer<std::uint32_t> out_edge_ids_;
  device_buffer<index_t> out_destinations_;
  device_chunks in_chunks_, out_chunks_;
};

}  // namespace gatrec::cuda
