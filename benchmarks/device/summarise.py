#!/usr/bin/env python3
"""The summary of a device run (benchmarks/device/run.sh): the tables, then a verdict on each of
issue 6's targets, so that the few minutes a GPU session gets end in figures nobody has to
re-derive by hand.

Inputs: bench.json (Google Benchmark's JSON from bench_gat_cuda; a file cut short by a timeout is
read up to its last complete run), pyg.jsonl (benchmarks/peers/pyg_gat_gpu.py's lines) and run.log
(for the "ml100k ... full run on the GPU: S s wall" lines). Any of them may be missing or empty:
what is missing prints as "-" and its target as "not measured".

Our memory in the layer and stack tables and in the verdict is the larger of a case's device_mb
(held at its end, library workspaces included) and peak_mb (its own buffers' peak), against PyG's
peak allocation.

Targets (issue 6): one attention layer forward + backward at least 3x faster than PyG at the ML-25M
shape with at most a fifth of its peak memory; the fused forward at 60% or more of the measured
copy bandwidth on the largest graph; a full ML-100K training run on the GPU in under 10 s.

usage: summarise.py --bench bench.json --pyg pyg.jsonl --log run.log [--json targets.json]
"""
import argparse
import json
import os
import re

SCALE_FRACTION = {"0": 0.01, "1": 0.1, "2": 1.0}
MIN_SPEEDUP_VS_PYG = 3.0
MIN_MEMORY_RATIO_VS_PYG = 5.0
MIN_FORWARD_BANDWIDTH_FRACTION = 0.6
MAX_ML100K_SECONDS = 10.0
# bench_gat_cuda's impl argument (impl_id): the fused kernels as shipped, the library-calls baseline,
# the fused forward loading one in-edge a step instead of the default two, and forward + backward
# with both backward passes at one edge a step instead of their defaults.
FUSED, LIBRARY, FUSED_ONE_EDGE_A_STEP, FUSED_BACKWARD_ONE_EDGE_A_STEP = 0, 1, 2, 3


def load_benchmarks(path):
    """The runs in a Google Benchmark JSON file, also when the run was cut short mid-file."""
    if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    text = open(path).read()
    try:
        return json.loads(text).get("benchmarks", [])
    except json.JSONDecodeError:
        pass
    # Cut after the last complete run object and close the array and the document.
    for cut in [m.start() for m in re.finditer(r"\n    }", text)][::-1]:
        try:
            rows = json.loads(text[:cut + 6] + "]}").get("benchmarks", [])
            print(f"bench.json was cut short: {len(rows)} complete runs read")
            return rows
        except json.JSONDecodeError:
            continue
    print("bench.json is unreadable")
    return []


def load_pyg(path):
    """(form, scale, heads, width, case) -> the PyG peer's line."""
    pyg = {}
    if not path or not os.path.exists(path):
        return pyg
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        p = json.loads(line)
        pyg[(p["form"], float(p["scale"]), p["heads"], p["width"], p["case"])] = p
    return pyg


def load_ml100k_runs(path):
    """config -> seconds of the full ML-100K run on the GPU, from run.log."""
    runs = {}
    if not path or not os.path.exists(path):
        return runs
    for line in open(path, errors="replace"):
        m = re.match(r"ml100k (\S+) full run on the GPU: ([0-9.]+)s wall", line.strip())
        if m:
            runs[m.group(1)] = float(m.group(2))
    return runs


def parse_name(name):
    parts = name.split("/")
    return parts[0], dict(p.split(":") for p in parts[1:] if ":" in p)


class BenchTables:
    """bench_gat_cuda's runs sorted by case family."""

    def __init__(self, rows):
        self.rows = rows
        self.core = {}      # (form, scale key, H, C, bwd) -> {impl: (ms, bw_fraction, edges/s, MB, gather GB/s)}
        self.layer = {}     # (form, fraction, H, C, case) -> (ms, MB, bw_fraction)
        self.stack = []     # (fraction, ms, edges/s, MB)
        self.ranking = {}   # (catalogue, k) -> {kind: (ms, users/s)}
        self.sampling = {}  # fraction -> {kind: (ms, triples/s)}
        self.softmax = []   # (fraction, ms, scores/s, MB)
        self.floor = {}     # (scale key, H, C) -> (ms, gather GB/s): cuSPARSE SpMM of the same gathers
        self.errors = []
        for r in rows:
            if r.get("error_occurred"):
                self.errors.append(f"{r['name']}: {r.get('error_message', '')}")
                continue
            kind, a = parse_name(r["name"])
            ms = r["real_time"] if r.get("time_unit") == "ms" else r["real_time"] / 1e6
            if kind.startswith("core_"):
                # core_<form>, and core_variant_<form> for the other unroll choices (impl 2 and 3).
                form = kind[len("core_variant_"):] if kind.startswith("core_variant_") else kind[len("core_"):]
                key = (form, a["scale"], int(a["heads"]), int(a["width"]), int(a["bwd"]))
                self.core.setdefault(key, {})[int(a["impl"])] = (ms, r.get("bw_fraction", 0.0),
                                                                 r.get("edges_per_s", 0.0), r.get("device_mb", 0.0),
                                                                 r.get("gather_GBs"))
            elif kind.startswith("layer_"):
                case = "layer_forward_backward" if a["bwd"] == "1" else "layer_forward"
                key = (kind[6:], SCALE_FRACTION[a["scale"]], int(a["heads"]), int(a["width"]), case)
                # Memory: the larger of what the case held at its end (cudaMemGetInfo, library
                # workspaces included) and its own buffers' peak, so the ratio never flatters us.
                memory = max(r.get("device_mb", 0.0), r.get("peak_mb", 0.0))
                self.layer[key] = (ms, memory, r.get("bw_fraction", 0.0))
            elif kind == "paper_stack":
                memory = max(r.get("device_mb", 0.0), r.get("peak_mb", 0.0))  # as for the layer
                self.stack.append((SCALE_FRACTION[a["scale"]], ms, r.get("edges_per_s", 0.0), memory))
            elif kind in ("full_ranking", "cpu_full_ranking"):
                self.ranking.setdefault((int(a["catalogue"]), int(a["k"])), {})[kind] = (ms, r.get("users_per_s", 0.0))
            elif kind in ("device_sampling", "cpu_sampling"):
                self.sampling.setdefault(SCALE_FRACTION[a["scale"]], {})[kind] = (ms, r.get("triples_per_s", 0.0))
            elif kind == "aggregation_floor":
                self.floor[(a["scale"], int(a["heads"]), int(a["width"]))] = (ms, r.get("gather_GBs"))
            elif kind == "softmax_loss":
                self.softmax.append((SCALE_FRACTION[a["scale"]], ms, r.get("scores_per_s", 0.0),
                                     r.get("device_mb", 0.0)))

    def copy_bandwidth(self):
        return next((r.get("copy_bw_GBs") for r in self.rows if r.get("copy_bw_GBs")), None)


def dash(width):
    return f"{'-':>{width}}"


def gpu_vs_cpu(g, c, rate_width, rate_format):
    """GPU ms, CPU ms, CPU/GPU and the GPU's rate in millions per second; '-' where a side is missing.
    g, c: (ms, rate per second) or None."""
    gs = f"{g[0]:9.3f}" if g else dash(9)
    cs = f"{c[0]:9.3f}" if c else dash(9)
    ratio = f"{c[0] / g[0]:7.1f}" if g and c else dash(7)
    rate = f"{g[1] / 1e6:{rate_width}{rate_format}}" if g else dash(rate_width)
    return f"{gs} {cs} {ratio} {rate}"


def peer_cells(o, p):
    """Ours (ms, MB, ...) beside PyG's line p: our ms, PyG's ms, PyG/ours, our MB, PyG's MB, their ratio."""
    os_ = f"{o[0]:9.3f}" if o else dash(9)
    if p and p.get("oom"):
        ps, ratio = f"{'OOM':>9}", dash(8)
    elif p:
        ps = f"{p['seconds_median'] * 1e3:9.3f}"
        ratio = f"{p['seconds_median'] * 1e3 / o[0]:8.2f}" if o else dash(8)
    else:
        ps, ratio = dash(9), dash(8)
    om = f"{o[1]:8.0f}" if o else dash(8)
    pm = f"{p['peak_bytes'] / 2**20:8.0f}" if p and p.get("peak_bytes") else dash(8)
    mr = f"{p['peak_bytes'] / 2**20 / o[1]:9.2f}" if o and p and p.get("peak_bytes") and o[1] > 0 else dash(9)
    return f"{os_} {ps} {ratio} {om} {pm} {mr}"


def print_one_edge_table(t, bwd, variant, title):
    """The shipped fused kernels (impl 0) beside a variant at one edge a step, where both ran."""
    keys = sorted(k for k in t.core if k[4] == bwd and FUSED in t.core[k] and variant in t.core[k])
    if not keys:
        return
    print()
    print(title)
    print(f"{'form':6} {'scale':>5} {'H':>2} {'C':>3} {'default ms':>10} {'one ms':>9} {'one/default':>11}")
    for key in keys:
        form, sc, h, c, _ = key
        default, one = t.core[key][FUSED][0], t.core[key][variant][0]
        print(f"{form:6} {SCALE_FRACTION[sc]:5.2f} {h:2d} {c:3d} {default:10.3f} {one:9.3f} {one / default:11.2f}")


def print_tables(t, pyg):
    for e in t.errors:
        print(f"  error: {e}")
    bw = t.copy_bandwidth()
    if bw:
        print(f"measured device-to-device copy bandwidth: {bw:.0f} GB/s (read + write)")
    print()
    print("Attention core, fused vs library calls (cuSPARSE SDDMM/SpMM + softmax kernels)")
    print(f"{'form':6} {'scale':>5} {'H':>2} {'C':>3} {'pass':8} {'fused ms':>9} {'library ms':>10} {'speedup':>7} "
          f"{'fused bw':>8} {'Gedge/s':>8} {'fused MB':>8} {'gather GB/s':>11}")
    for key in sorted(t.core):
        form, sc, h, c, bwd = key
        f = t.core[key].get(FUSED)
        lib = t.core[key].get(LIBRARY)
        fs = f"{f[0]:9.3f}" if f else dash(9)
        ls = f"{lib[0]:10.3f}" if lib else dash(10)
        sp = f"{lib[0] / f[0]:7.2f}" if f and lib else dash(7)
        bwf = f"{f[1]:8.3f}" if f else dash(8)
        eps = f"{f[2] / 1e9:8.2f}" if f else dash(8)
        mb = f"{f[3]:8.0f}" if f else dash(8)
        gather = f"{f[4]:11.0f}" if f and f[4] is not None else dash(11)
        print(f"{form:6} {SCALE_FRACTION[sc]:5.2f} {h:2d} {c:3d} {'fwd+bwd' if bwd else 'fwd':8} {fs} {ls} {sp} "
              f"{bwf} {eps} {mb} {gather}")
    if t.floor:
        print()
        print("Fused forward vs its gathers alone (cuSPARSE SpMM y = A z over the same E x HC rows)")
        print(f"{'form':6} {'scale':>5} {'H':>2} {'C':>3} {'fused ms':>9} {'floor ms':>9} {'fused/floor':>11} "
              f"{'floor gather GB/s':>17}")
        for key in sorted(k for k in t.core if k[4] == 0 and FUSED in t.core[k] and (k[1], k[2], k[3]) in t.floor):
            form, sc, h, c, _ = key
            f = t.core[key][FUSED]
            fl = t.floor[(sc, h, c)]
            gather = f"{fl[1]:17.0f}" if fl[1] is not None else dash(17)
            print(f"{form:6} {SCALE_FRACTION[sc]:5.2f} {h:2d} {c:3d} {f[0]:9.3f} {fl[0]:9.3f} {f[0] / fl[0]:11.2f} {gather}")
    print_one_edge_table(t, 0, FUSED_ONE_EDGE_A_STEP, "Fused forward, the default two in-edges a step vs one")
    print_one_edge_table(t, 1, FUSED_BACKWARD_ONE_EDGE_A_STEP,
                         "Forward + backward, the backward's default edges a step vs one edge a step in both passes")
    print()
    print("One attention layer (in 64 -> H x C, rating edge feature, self-loops): ours vs PyG")
    print(f"{'form':6} {'scale':>5} {'H':>2} {'C':>3} {'case':8} {'ours ms':>9} {'PyG ms':>9} {'PyG/ours':>8} "
          f"{'ours MB':>8} {'PyG MB':>8} {'mem ratio':>9} {'ours bw':>7}")
    for key in sorted(set(t.layer) | {k for k in pyg if k[4].startswith("layer_")}):
        form, sc, h, c, case = key
        o = t.layer.get(key)
        ob = f"{o[2]:7.3f}" if o else dash(7)
        print(f"{form:6} {sc:5.2f} {h:2d} {c:3d} {'fwd+bwd' if 'backward' in case else 'fwd':8} "
              f"{peer_cells(o, pyg.get(key))} {ob}")
    stack_pyg = {k[1]: p for k, p in pyg.items() if k[4] == "stack_forward_backward"}
    if t.stack or stack_pyg:
        print()
        print("Paper stack 384-256-256-64 (GATv2, heads 4/4/1, LayerNorm, residuals), forward + backward: ours vs PyG")
        print(f"{'scale':>5} {'ours ms':>9} {'PyG ms':>9} {'PyG/ours':>8} {'ours MB':>8} {'PyG MB':>8} {'mem ratio':>9} "
              f"{'Gedge/s':>7}")
        ours = {sc: (ms, mb, eps) for sc, ms, eps, mb in t.stack}
        for sc in sorted(set(ours) | set(stack_pyg)):
            o = ours.get(sc)
            eps = f"{o[2] / 1e9:7.2f}" if o else dash(7)
            print(f"{sc:5.2f} {peer_cells(o, stack_pyg.get(sc))} {eps}")
    if t.ranking:
        print()
        print("Full ranking, every user's top k of 64-wide embeddings, training items masked: GPU vs CPU top_k")
        names = {0: "ML-100K", 1: "ML-1M", 2: "ML-25M"}
        print(f"{'catalogue':9} {'k':>4} {'GPU ms':>9} {'CPU ms':>9} {'CPU/GPU':>7} {'GPU Musers/s':>12}")
        for (cat, k), v in sorted(t.ranking.items()):
            cells = gpu_vs_cpu(v.get("full_ranking"), v.get("cpu_full_ranking"), 12, ".3f")
            print(f"{names.get(cat, cat):9} {k:4d} {cells}")
    if t.sampling:
        print()
        print("Negative sampling, one epoch of the power-law ratings (same triples): device vs host")
        print(f"{'scale':>5} {'GPU ms':>9} {'CPU ms':>9} {'CPU/GPU':>7} {'GPU Mtriples/s':>14}")
        for sc, v in sorted(t.sampling.items()):
            print(f"{sc:5.2f} {gpu_vs_cpu(v.get('device_sampling'), v.get('cpu_sampling'), 14, '.1f')}")
    if t.softmax:
        print()
        print("Full-softmax loss + dL/dH on the device (64-wide embeddings, every user x every item)")
        for sc, ms, sps, mb in sorted(t.softmax):
            print(f"  scale {sc:4.2f}: {ms:9.3f} ms  {sps / 1e9:7.2f} Gscores/s  {mb:8.0f} MB")


def verdict(met):
    return {True: "MET", False: "NOT MET", None: "not measured"}[met]


def layer_vs_pyg_targets(t, pyg):
    """Every layer configuration timed forward + backward at the ML-25M shape on either side."""
    out = []
    keys = {k for k in set(t.layer) | set(pyg) if k[1] == 1.0 and k[4] == "layer_forward_backward"}
    for key in sorted(keys):
        form, _, h, c, _ = key
        o, p = t.layer.get(key), pyg.get(key)
        row = {"target": "layer_fwd_bwd_vs_pyg_ml25m", "config": f"{form} H={h} C={c}", "met": None}
        if o:
            row.update(ours_ms=o[0], ours_mb=o[1])
        if o and p and p.get("oom"):
            # PyG cannot run the layer at all on this GPU: nothing to divide by; say so plainly.
            row.update(pyg_oom=True, met=True, note="PyG ran out of memory")
        elif o and p and p.get("seconds_median") and p.get("peak_bytes") and o[1] > 0:
            speedup = p["seconds_median"] * 1e3 / o[0]
            memory = p["peak_bytes"] / 2**20 / o[1]
            row.update(pyg_ms=p["seconds_median"] * 1e3, pyg_mb=p["peak_bytes"] / 2**20, speedup=speedup,
                       memory_ratio=memory,
                       met=speedup >= MIN_SPEEDUP_VS_PYG and memory >= MIN_MEMORY_RATIO_VS_PYG)
        out.append(row)
    return out


def forward_bandwidth_targets(t):
    """The fused forward (impl 0, no backward) of every configuration at the largest core scale."""
    fused_forward = {k: v[FUSED] for k, v in t.core.items() if k[4] == 0 and FUSED in v}
    if not fused_forward:
        return []
    largest = max(k[1] for k in fused_forward)
    out = []
    for key in sorted(k for k in fused_forward if k[1] == largest):
        form, sc, h, c, _ = key
        ms, fraction, _, _, gather = fused_forward[key]
        row = {"target": "fused_forward_bandwidth_largest_graph", "config": f"{form} H={h} C={c}",
               "scale": SCALE_FRACTION[sc], "ms": ms, "bw_fraction": fraction, "gather_GBs": gather,
               "met": fraction >= MIN_FORWARD_BANDWIDTH_FRACTION}
        if (sc, h, c) in t.floor:
            row["floor_ms"] = t.floor[(sc, h, c)][0]
        out.append(row)
    return out


def ml100k_targets(runs):
    return [{"target": "ml100k_full_run_under_10s", "config": config, "seconds": s, "met": s < MAX_ML100K_SECONDS}
            for config, s in sorted(runs.items())]


def print_targets(layer, bandwidth, ml100k):
    print()
    print("Targets (issue 6)")
    print(f"  one layer fwd+bwd at the ML-25M shape: >= {MIN_SPEEDUP_VS_PYG:g}x faster than PyG with <= "
          f"1/{MIN_MEMORY_RATIO_VS_PYG:g} of its peak memory")
    for r in layer:
        if r.get("pyg_oom"):
            what = f"ours {r['ours_ms']:.2f} ms, {r['ours_mb']:.0f} MB; PyG out of memory"
        elif "speedup" in r:
            what = (f"ours {r['ours_ms']:.2f} ms, {r['ours_mb']:.0f} MB; PyG {r['pyg_ms']:.2f} ms, "
                    f"{r['pyg_mb']:.0f} MB: {r['speedup']:.2f}x faster, {r['memory_ratio']:.2f}x less memory")
        else:
            what = "one side missing"
        print(f"    {r['config']:16} {what} -> {verdict(r['met'])}")
    if not layer:
        print(f"    -> {verdict(None)}")
    print(f"  fused forward at >= {MIN_FORWARD_BANDWIDTH_FRACTION:.0%} of the copy bandwidth, largest graph")
    for r in bandwidth:
        # The per-edge row gathers beside it: near the L2 bandwidth, the forward is bound by them.
        gather = f", gathers {r['gather_GBs']:.0f} GB/s" if r.get("gather_GBs") is not None else ""
        if "floor_ms" in r:
            gather += f", {r['ms'] / r['floor_ms']:.2f}x its SpMM floor"
        print(f"    {r['config']:16} scale {r['scale']:.2f}: {r['ms']:.3f} ms, {r['bw_fraction']:.3f} of copy "
              f"bandwidth{gather} -> {verdict(r['met'])}")
    if not bandwidth:
        print(f"    -> {verdict(None)}")
    print(f"  full ML-100K training run on the GPU in < {MAX_ML100K_SECONDS:g} s")
    for r in ml100k:
        print(f"    {r['config']:16} {r['seconds']:.1f} s -> {verdict(r['met'])}")
    if not ml100k:
        print(f"    -> {verdict(None)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", help="bench_gat_cuda's --benchmark_out JSON")
    ap.add_argument("--pyg", help="pyg_gat_gpu.py's JSON lines")
    ap.add_argument("--log", help="run.sh's run.log (ML-100K run times)")
    ap.add_argument("--json", help="also write the target verdicts here")
    args = ap.parse_args()
    tables = BenchTables(load_benchmarks(args.bench))
    pyg = load_pyg(args.pyg)
    print_tables(tables, pyg)
    layer = layer_vs_pyg_targets(tables, pyg)
    bandwidth = forward_bandwidth_targets(tables)
    ml100k = ml100k_targets(load_ml100k_runs(args.log))
    print_targets(layer, bandwidth, ml100k)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"targets": layer + bandwidth + ml100k}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
