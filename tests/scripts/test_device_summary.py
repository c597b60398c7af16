#!/usr/bin/env python3
"""benchmarks/device/summarise.py on hand-written device-run outputs (tests/fixtures/device_run):
each target's verdict and figures as computed by hand, a bench.json cut short by a timeout, and a
run that produced nothing. The summary is what a GPU session's few minutes end in, so it is checked
here, where there is time.

usage: test_device_summary.py REPO_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

root = sys.argv[1]
script = os.path.join(root, "benchmarks", "device", "summarise.py")
fixtures = os.path.join(root, "tests", "fixtures", "device_run")
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def summarise(bench, pyg, log, out_dir):
    verdicts = os.path.join(out_dir, "targets.json")
    text = subprocess.run([sys.executable, script, "--bench", bench, "--pyg", pyg, "--log", log, "--json", verdicts],
                          check=True, capture_output=True, text=True).stdout
    with open(verdicts) as f:
        return text, {(t["target"], t["config"]): t for t in json.load(f)["targets"]}


with tempfile.TemporaryDirectory() as tmp:
    bench = os.path.join(fixtures, "bench.json")
    text, t = summarise(bench, os.path.join(fixtures, "pyg.jsonl"), os.path.join(fixtures, "run.log"), tmp)
    print(text)

    # Layer vs PyG at the ML-25M shape. gatv2 4x64: PyG out of memory. gat 1x16: 50 / 20 ms = 2.5x
    # faster (< 3), 4,000 / 500 MB = 8x less memory (the held 500 MB, above the 450 MB buffer
    # peak). gatv2 1x16: 100 / 25 = 4x, 3,600 / 700 = 5.14x (the 700 MB buffer peak, above the
    # 600 MB held at the end).
    layer = {c: v for (k, c), v in t.items() if k == "layer_fwd_bwd_vs_pyg_ml25m"}
    check(sorted(layer) == ["gat H=1 C=16", "gatv2 H=1 C=16", "gatv2 H=4 C=64"], f"layer configurations {sorted(layer)}")
    check(layer.get("gatv2 H=4 C=64", {}).get("met") is True and layer["gatv2 H=4 C=64"].get("pyg_oom"),
          "PyG's out-of-memory case")
    g = layer.get("gat H=1 C=16", {})
    check(abs(g.get("speedup", 0) - 2.5) < 1e-9 and abs(g.get("memory_ratio", 0) - 8.0) < 1e-9 and g.get("met") is False,
          f"gat 1x16: {g}")
    g = layer.get("gatv2 H=1 C=16", {})
    check(abs(g.get("speedup", 0) - 4.0) < 1e-9 and abs(g.get("memory_ratio", 0) - 3600 / 700) < 1e-9 and
          g.get("met") is True,
          f"gatv2 1x16: {g}")

    check("gatv2   0.10  4  64 fwd+bwd" not in text, "the stack's PyG line printed as a layer")

    # Fused forward bandwidth: only the largest scale's forwards (0.65 met, 0.40 not); the 10% core
    # case and the fwd+bwd case are not judged.
    bw = {c: v for (k, c), v in t.items() if k == "fused_forward_bandwidth_largest_graph"}
    check(sorted(bw) == ["gatv2 H=1 C=16", "gatv2 H=4 C=64"], f"bandwidth configurations {sorted(bw)}")
    check(bw.get("gatv2 H=1 C=16", {}).get("met") is True and bw.get("gatv2 H=4 C=64", {}).get("met") is False,
          f"bandwidth verdicts {bw}")
    # The verdict is the shipped kernel's (impl 0: 0.65), not the one-edge-a-step variant's (0.52).
    check(bw.get("gatv2 H=1 C=16", {}).get("bw_fraction") == 0.65, f"bandwidth of the default forward {bw}")

    # ML-100K: 4.2 s met, 11.3 s not.
    runs = {c: v for (k, c), v in t.items() if k == "ml100k_full_run_under_10s"}
    check(runs.get("paper", {}).get("seconds") == 4.2 and runs["paper"]["met"] is True, f"paper run {runs}")
    check(runs.get("readme", {}).get("seconds") == 11.3 and runs["readme"]["met"] is False, f"readme run {runs}")

    # The printed tables and verdict lines.
    for line in ["measured device-to-device copy bandwidth: 3900 GB/s (read + write)",
                 "gatv2   1.00  1  16 fwd         12.000     30.000    2.50    0.650     4.20      900         268",
                 "gatv2   1.00  4  64 fwd+bwd    240.000          -       -    0.300     0.21     2600           -",
                 "gatv2 H=4 C=64   ours 300.00 ms, 4000 MB; PyG out of memory -> MET",
                 "gat H=1 C=16     ours 20.00 ms, 500 MB; PyG 50.00 ms, 4000 MB: 2.50x faster, 8.00x less memory -> NOT MET",
                 "gatv2 H=4 C=64   scale 1.00: 80.000 ms, 0.400 of copy bandwidth, gathers 643 GB/s, 4.00x its SpMM "
                 "floor -> NOT MET",
                 "gatv2   1.00  4  64    80.000    20.000        4.00              2571",
                 "readme           11.3 s -> NOT MET",
                 "ML-100K     20     0.500    20.000    40.0        1.900",
                 "1.00     2.000   800.000   400.0         6000.0",
                 # The paper stack beside PyG's: 120 / 40 ms = 3x, 6,000 / 800 MB = 7.5x; the stack
                 # line is not a layer row.
                 " 0.10    40.000   120.000     3.00      800     6000      7.50    0.50",
                 # One in-edge a step (impl 2, 15 ms) beside the default two (12 ms): 1.25.
                 "gatv2   1.00  1  16     12.000    15.000        1.25",
                 # The backward at one edge a step (impl 3, 300 ms) beside the default (240 ms).
                 "gatv2   1.00  4  64    240.000   300.000        1.25"]:
        check(line in text, f"missing line: {line!r}")

    # A bench.json cut inside its fourth run (a timeout mid-write): the first three runs are read.
    with open(bench) as f:
        whole = f.read()
    cut = whole.index('"name": "core_gatv2/scale:2/heads:4/width:64/impl:0/bwd:1')
    truncated = os.path.join(tmp, "cut.json")
    with open(truncated, "w") as f:
        f.write(whole[:cut + 20])
    text, t = summarise(truncated, os.path.join(fixtures, "pyg.jsonl"), os.path.join(tmp, "absent.log"), tmp)
    check("bench.json was cut short: 3 complete runs read" in text, "cut-short notice")
    bw = {c for (k, c) in t if k == "fused_forward_bandwidth_largest_graph"}
    check(bw == {"gatv2 H=1 C=16", "gatv2 H=4 C=64"}, f"bandwidth from the cut file {bw}")
    check("full ML-100K training run on the GPU in < 10 s\n    -> not measured" in text, "ML-100K without a log")

    # Nothing at all: every target "not measured", and no crash.
    text, t = summarise(os.path.join(tmp, "none.json"), os.path.join(tmp, "none.jsonl"), os.path.join(tmp, "none.log"),
                        tmp)
    check(not t, f"verdicts without data: {t}")
    check(text.count("-> not measured") == 3, "three unmeasured targets")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("device summary: every verdict as computed by hand")
