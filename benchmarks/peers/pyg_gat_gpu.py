#!/usr/bin/env python3
"""PyTorch Geometric's GATConv / GATv2Conv on the GPU, on the same synthetic power-law bipartite
graphs as benchmarks/cuda/bench_gat_cuda.cu (the same integer formula, see power_law_graph.hpp),
for the comparison in benchmarks/device/run.sh.

Cases: "layer_forward" (inference, no autograd graph) and "layer_forward_backward" (forward, then
backward of sum(out * upstream) to every parameter and to the input features), one attention layer
in_dim -> heads x width (concatenated), the rating as a 1-wide edge feature, self-loops added by PyG
with fill_value="mean" (the C++ side adds the same self-loops). With --stack, also
"stack_forward_backward": the paper's encoder (pyg_stack.py, 384 -> 256 -> 256 -> 64) on the same
graph, as bench_gat_cuda's paper_stack.

Prints one JSON object per line and case: {"impl": "pyg", "form", "case", "scale", "nodes", "edges",
"heads", "width", "in_dim", "seconds_median", "seconds_min", "repeats", "peak_bytes", "torch",
"torch_geometric"}; peak_bytes is torch.cuda.max_memory_allocated() over the timed runs (inputs
included). A case that runs out of memory prints "oom": true instead of times.

usage: pyg_gat_gpu.py --scale 0.01 --form gatv2 --heads 4 --width 64 [--in-dim 64] [--repeats 10]
       pyg_gat_gpu.py --scale 0.1 --configs gatv2:4:64,gat:1:16 [--stack]   (several cases, one graph)
       pyg_gat_gpu.py --checksum --scale 0.01      (prints the generator checksum and exits)
"""
import argparse
import json
import os
import statistics
import sys

import numpy as np

MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix64(x):
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic), as gatrec::mix64."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def ml25m_shape(fraction):
    return (int(round(162541 * fraction)), int(round(59047 * fraction)), int(round(25000095 * fraction)))


def generate_ratings(users, items, ratings, user_levels=10, item_levels=12, seed=2024, block=1 << 22):
    """(user, item, rating) arrays of the formula in benchmarks/cuda/power_law_graph.hpp."""
    u_out = np.empty(ratings, dtype=np.int64)
    i_out = np.empty(ratings, dtype=np.int64)
    r_out = np.empty(ratings, dtype=np.float32)
    s = np.uint64(seed)
    for start in range(0, ratings, block):
        k = np.arange(start, min(ratings, start + block), dtype=np.uint64)
        with np.errstate(over="ignore"):
            h1 = mix64(s ^ mix64(np.uint64(2) * k))
            h2 = mix64(s ^ mix64(np.uint64(2) * k + np.uint64(1)))
        bu = (h2 >> np.uint64(40)) % np.uint64(user_levels)
        bi = (h2 >> np.uint64(20)) % np.uint64(item_levels)
        nu = np.maximum(np.uint64(1), np.uint64(users) >> bu)
        ni = np.maximum(np.uint64(1), np.uint64(items) >> bi)
        u_out[start:start + len(k)] = ((h1 & np.uint64(0xFFFFFFFF)) % nu).astype(np.int64)
        i_out[start:start + len(k)] = ((h1 >> np.uint64(32)) % ni).astype(np.int64)
        r_out[start:start + len(k)] = 0.5 * (1 + ((h2 & np.uint64(0xFFFF)) % np.uint64(10))).astype(np.float32)
    return u_out, i_out, r_out


def checksum(u, i, r):
    with np.errstate(over="ignore"):
        ids = np.sum(u.astype(np.uint64) * np.uint64(1000003) + i.astype(np.uint64), dtype=np.uint64)
    twice = int(np.sum(np.rint(2.0 * r.astype(np.float64)).astype(np.uint64), dtype=np.uint64))
    return f"{int(ids)} {twice}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.01, help="fraction of the ML-25M shape")
    ap.add_argument("--form", choices=["gat", "gatv2"], default="gatv2")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--in-dim", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--configs", default="", help="comma-separated form:heads:width, overrides the three above")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--checksum", action="store_true")
    ap.add_argument("--stack", action="store_true",
                    help="also the paper's stack (pyg_stack.py), forward + backward, after the layers")
    args = ap.parse_args()

    nu, ni, nr = ml25m_shape(args.scale)
    u, i, r = generate_ratings(nu, ni, nr)
    if args.checksum:
        print(json.dumps({"scale": args.scale, "checksum": checksum(u, i, r)}))
        return 0

    import torch
    import torch_geometric
    from torch_geometric.nn import GATConv, GATv2Conv

    dev = torch.device(args.device)
    torch.manual_seed(0)
    n = nu + ni
    src = np.concatenate([u, i + nu])
    dst = np.concatenate([i + nu, u])
    edge_index = torch.from_numpy(np.stack([src, dst])).to(dev)
    edge_attr = torch.from_numpy(np.concatenate([r, r])).unsqueeze(1).to(dev)
    del u, i, r, src, dst
    edges = int(edge_index.size(1)) + n  # PyG adds one self-loop per node
    configs = [(args.form, args.heads, args.width)]
    if args.configs:
        configs = []
        for item in args.configs.split(","):
            form, heads, width = item.split(":")
            if form not in ("gat", "gatv2"):
                raise SystemExit(f"unknown form {form!r} in --configs")
            configs.append((form, int(heads), int(width)))
    common = {"impl": "pyg", "scale": args.scale, "nodes": n, "edges": edges, "in_dim": args.in_dim,
              "torch": torch.__version__, "torch_geometric": torch_geometric.__version__, "device": str(dev)}

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def timed(fn):
        times = []
        for rep in range(args.warmup + args.repeats):
            if dev.type == "cuda":
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                dt = start.elapsed_time(stop) / 1000.0
            else:
                import time
                t0 = time.perf_counter()
                fn()
                dt = time.perf_counter() - t0
            if rep >= args.warmup:
                times.append(dt)
        return times

    def measure(row, setup):
        """Times setup()'s function; prints row with the times and the peak memory (what setup
        allocated included), or "oom"."""
        try:
            fn = setup()
            sync()
            if dev.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            times = timed(fn)
            row.update(seconds_median=statistics.median(times), seconds_min=min(times), repeats=len(times),
                       peak_bytes=int(torch.cuda.max_memory_allocated()) if dev.type == "cuda" else None)
        except torch.cuda.OutOfMemoryError:
            row.update(oom=True, peak_bytes=int(torch.cuda.max_memory_allocated()))
        print(json.dumps(row), flush=True)
        fn = None
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    def forward_backward(module, x, upstream):
        """One timed step: forward through module, backward of sum(out * upstream) to its
        parameters and x."""
        def fn():
            module.zero_grad(set_to_none=True)
            x.grad = None
            out = module(x, edge_index, edge_attr)
            (out * upstream).sum().backward()
        return fn

    for form, heads, width in configs:
        conv_type = GATv2Conv if form == "gatv2" else GATConv
        for case in ["layer_forward", "layer_forward_backward"]:
            def setup(heads=heads, width=width, case=case):
                conv = conv_type(args.in_dim, width, heads=heads, concat=True, edge_dim=1, fill_value="mean").to(dev)
                x = (torch.randn(n, args.in_dim, device=dev) * 0.5).requires_grad_(case != "layer_forward")
                upstream = torch.randn(n, heads * width, device=dev)
                if case == "layer_forward":
                    def fn():
                        with torch.no_grad():
                            conv(x, edge_index, edge_attr)
                    return fn
                return forward_backward(conv, x, upstream)
            measure(dict(common, form=form, heads=heads, width=width, case=case), setup)

    if args.stack:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from pyg_stack import PAPER_IN_DIM, PaperStack

        def setup_stack():
            model = PaperStack().to(dev)
            x = (torch.randn(n, PAPER_IN_DIM, device=dev) * 0.1).requires_grad_(True)
            return forward_backward(model, x, torch.randn(n, model.out_dim, device=dev))
        measure(dict(common, form="gatv2", heads=4, width=64, in_dim=PAPER_IN_DIM, layers="384-256-256-64",
                     case="stack_forward_backward"), setup_stack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
