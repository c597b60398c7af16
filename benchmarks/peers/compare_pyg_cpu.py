#!/usr/bin/env python3
"""One command, both sides: times gatrec's CPU benchmarks (bench_gat) and PyTorch Geometric's
equivalent (pyg_gat_cpu.py) on the same graphs with the same widths and thread count, each case in
its own process so peak RSS is per case, and prints a table with the ratios.

PyG runs twice: as installed ("plain"), and with jemalloc preloaded when libjemalloc.so.2 is found
("tuned"; FINDINGS.md: plain PyTorch spends much of an epoch in page faults, and a tuned allocator
halves its time). Ratios are taken against the faster of the two.

usage: compare_pyg_cpu.py --bench build/benchmarks/bench_gat [--data DIR] [--threads 2]
                          [--graphs ml100k-u1,lcfn] [--cases stack,layer] [--repeats 3] [--json out.json]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
GRAPH_ARG = {"ml100k-u1": 0, "lcfn": 1}
CASE_BENCH = {"stack": "stack_forward_backward", "layer": "layer_forward_backward"}
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


def run_gatrec(bench, data, graph, case, threads, repeats):
    env = dict(os.environ, GATREC_DATA=data, OMP_NUM_THREADS=str(threads))
    name = f"{CASE_BENCH[case]}/{GRAPH_ARG[graph]}/"
    out = subprocess.run([bench, f"--benchmark_filter=^{name}", "--benchmark_format=json",
                          f"--benchmark_repetitions={repeats}", "--benchmark_report_aggregates_only=true"],
                         env=env, check=True, capture_output=True, text=True).stdout
    rows = json.loads(out)["benchmarks"]
    errors = [r for r in rows if r.get("error_occurred")]
    if errors:
        raise SystemExit(f"bench_gat: {errors[0].get('error_message')}")
    median = next(r for r in rows if r.get("aggregate_name") == "median")
    unit = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[median["time_unit"]]
    return {"seconds": median["real_time"] * unit, "peak_rss_mb": max(r.get("peak_rss_mb", 0) for r in rows)}


def run_pyg(data, graph, case, threads, repeats, tuned):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if tuned:
        env["LD_PRELOAD"] = JEMALLOC
    out = subprocess.run([sys.executable, str(HERE / "pyg_gat_cpu.py"), "--data", data, "--graph", graph,
                          "--case", case, "--threads", str(threads), "--repeats", str(repeats)],
                         env=env, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return {"seconds": r["seconds_median"], "peak_rss_mb": r["peak_rss_mb"], "versions": f"torch {r['torch']}, "
            f"PyG {r['torch_geometric']}"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path to gatrec's bench_gat")
    ap.add_argument("--data", default=os.environ.get("GATREC_DATA", "../shared/data"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--graphs", default="ml100k-u1,lcfn")
    ap.add_argument("--cases", default="stack,layer")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()

    try:
        import torch_geometric  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        print(f"SKIP: torch_geometric not importable ({exc}); pip install torch torch_geometric")
        return 77
    tuned_available = os.path.exists(JEMALLOC)
    results = []
    for graph in args.graphs.split(","):
        for case in args.cases.split(","):
            ours = run_gatrec(args.bench, args.data, graph, case, args.threads, args.repeats)
            plain = run_pyg(args.data, graph, case, args.threads, args.repeats, tuned=False)
            tuned = run_pyg(args.data, graph, case, args.threads, args.repeats, tuned=True) if tuned_available else None
            best = min([plain] + ([tuned] if tuned else []), key=lambda r: r["seconds"])
            results.append({"graph": graph, "case": case, "threads": args.threads, "gatrec": ours, "pyg_plain": plain,
                            "pyg_tuned": tuned, "speedup_vs_best_pyg": best["seconds"] / ours["seconds"],
                            "memory_ratio_vs_best_pyg": best["peak_rss_mb"] / ours["peak_rss_mb"]})
            print(f"measured {graph} {case}", file=sys.stderr, flush=True)

    print(f"\nforward + backward on the CPU, {args.threads} threads, median of {args.repeats} "
          f"({results[0]['pyg_plain']['versions']}; PyG tuned = jemalloc preloaded)")
    print(f"{'graph':10s} {'case':6s} {'gatrec s':>9s} {'PyG s':>9s} {'PyG tuned s':>12s} {'speed-up':>9s} "
          f"{'gatrec MB':>10s} {'PyG MB':>8s} {'memory x':>9s}")
    for r in results:
        t = r["pyg_tuned"]
        print(f"{r['graph']:10s} {r['case']:6s} {r['gatrec']['seconds']:9.3f} {r['pyg_plain']['seconds']:9.3f} "
              f"{(t['seconds'] if t else float('nan')):12.3f} {r['speedup_vs_best_pyg']:8.1f}x "
              f"{r['gatrec']['peak_rss_mb']:10.0f} {min(r['pyg_plain']['peak_rss_mb'], t['peak_rss_mb'] if t else 1e18):8.0f} "
              f"{r['memory_ratio_vs_best_pyg']:8.1f}x")
    print("speed-up and memory x: the faster PyG variant's time and its peak RSS divided by gatrec's")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
