#!/usr/bin/env python3
"""PyTorch Geometric's equivalent of gatrec's CPU benchmarks: the paper's GATv2 stack (or one
layer) on the ML-100K u1 graph or the LCFN ML-1M graph, forward + backward, on the CPU.

Prints one JSON object per line: {"graph", "case", "seconds_median", "seconds_min", "repeats",
"peak_rss_mb", "edges", "threads", "torch", "torch_geometric"}. Peak RSS is the whole process's
(torch's own libraries included; `baseline_rss_mb` is the RSS before building anything).

usage: pyg_gat_cpu.py --data DIR --graph ml100k-u1|lcfn --case stack|layer [--threads 2] [--repeats 5]
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_edges(data, graph):
    """(num_users, num_items, users, items, ratings) with 0-based contiguous ids."""
    users, items, ratings = [], [], []
    if graph == "ml100k-u1":
        with open(os.path.join(data, "ml-100k", "u1.base")) as f:
            for line in f:
                u, i, r, _ = line.split("\t")
                users.append(int(u) - 1)
                items.append(int(i) - 1)
                ratings.append(float(r))
        return 943, 1682, users, items, ratings
    if graph == "lcfn":
        user_ids, item_ids = {}, {}
        with open(os.path.join(data, "ml-1m-lcfn", "train.txt")) as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                u = user_ids.setdefault(int(parts[0]), len(user_ids))
                for tok in parts[1:]:
                    users.append(u)
                    items.append(item_ids.setdefault(int(tok), len(item_ids)))
                    ratings.append(1.0)
        return len(user_ids), len(item_ids), users, items, ratings
    raise SystemExit(f"unknown graph {graph}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("GATREC_DATA", "../shared/data"))
    ap.add_argument("--graph", default="ml100k-u1", choices=["ml100k-u1", "lcfn"])
    ap.add_argument("--case", default="stack", choices=["stack", "layer"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    baseline = rss_mb()
    import torch
    import torch_geometric

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from pyg_stack import PAPER_SHAPES, PaperStack

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    nu, ni, users, items, ratings = load_edges(args.data, args.graph)
    n = nu + ni
    src = torch.tensor(users + [ni_ + nu for ni_ in items], dtype=torch.long)
    dst = torch.tensor([ni_ + nu for ni_ in items] + users, dtype=torch.long)
    edge_index = torch.stack([src, dst])
    edge_attr = torch.tensor(ratings + ratings, dtype=torch.float32).unsqueeze(1)

    model = PaperStack(PAPER_SHAPES if args.case == "stack" else PAPER_SHAPES[:1])
    if args.case == "layer":  # one bare attention layer, as gatrec's layer benchmark
        conv = model.convs[0]
        forward = lambda x: conv(x, edge_index, edge_attr)  # noqa: E731
    else:
        forward = lambda x: model(x, edge_index, edge_attr)  # noqa: E731
    x = (torch.randn(n, 384) * 0.1).requires_grad_(True)
    width = 256 if args.case == "layer" else 64
    upstream = torch.randn(n, width)

    times = []
    for rep in range(args.repeats + 1):  # the first run warms up allocators and is not counted
        model.zero_grad(set_to_none=True)
        x.grad = None
        t0 = time.perf_counter()
        out = forward(x)
        (out * upstream).sum().backward()
        dt = time.perf_counter() - t0
        if rep > 0:
            times.append(dt)
    print(json.dumps({
        "graph": args.graph, "case": args.case, "seconds_median": statistics.median(times),
        "seconds_min": min(times), "repeats": args.repeats, "peak_rss_mb": round(rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1), "edges": int(edge_index.size(1)), "nodes": n,
        "threads": args.threads, "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
