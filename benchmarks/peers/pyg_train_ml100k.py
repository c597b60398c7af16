#!/usr/bin/env python3
"""PyTorch Geometric reference training of the PAPER.md recommender on ML-100K fold u1, for
comparing accuracy and epoch time with gatrec-movielens on the same machine.

Same setting as `gatrec-movielens --model gatv2 --validation-fraction 0`: GATv2 stack 384 -> 256 ->
256 -> 64 (heads 4/4/1, rating as edge feature, self-loops with mean fill, LayerNorm, LeakyReLU
0.01, residual), trainable features N(0, 0.1^2) (or .npy features), hybrid loss 5 * BPR + 2 * (1 -
cos) over liked pairs (>= 4) with one negative per positive drawn uniformly from items neither
liked nor disliked (<= 2), AdamW(1e-3, wd 1e-5), ReduceLROnPlateau(0.4, 5) on the training loss.
Prints the rated-only metrics (PAPER.md) at the requested epochs as JSON lines.

usage: pyg_train_ml100k.py [--data DIR] [--epochs 150] [--report 75,150] [--seed 0] [--threads 2]
                           [--user-features U.npy --item-features I.npy]
"""
import argparse
import json
import math
import os
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("GATREC_DATA", "../shared/data"))
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--report", default="75,150")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--user-features")
    ap.add_argument("--item-features")
    args = ap.parse_args()

    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import GATv2Conv

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    nu, ni = 943, 1682

    def read(name):
        rows = []
        with open(os.path.join(args.data, "ml-100k", name)) as f:
            for line in f:
                u, i, r, _ = line.split("\t")
                rows.append((int(u) - 1, int(i) - 1, float(r)))
        return rows

    train, test = read("u1.base"), read("u1.test")
    src = [u for u, _, _ in train] + [nu + i for _, i, _ in train]
    dst = [nu + i for _, i, _ in train] + [u for u, _, _ in train]
    edge_index = torch.tensor([src, dst], dtype=torch.long)
    edge_attr = torch.tensor([r for _, _, r in train] * 2, dtype=torch.float32).unsqueeze(1)

    liked = [set() for _ in range(nu)]
    excluded = [set() for _ in range(nu)]
    seen = [set() for _ in range(nu)]
    for u, i, r in train:
        seen[u].add(i)
        if r >= 4:
            liked[u].add(i)
            excluded[u].add(i)
        if r <= 2:
            excluded[u].add(i)
    pos_u = np.array([u for u in range(nu) for _ in sorted(liked[u])])
    pos_i = np.array([i for u in range(nu) for i in sorted(liked[u])])
    allowed = [np.array(sorted(set(range(ni)) - excluded[u])) for u in range(nu)]

    class Stack(torch.nn.Module):
        def __init__(self, in_dim):
            super().__init__()
            self.convs, self.norms, self.res = torch.nn.ModuleList(), torch.nn.ModuleList(), torch.nn.ModuleList()
            width = in_dim
            for heads, head_dim in [(4, 64), (4, 64), (1, 64)]:
                out = heads * head_dim
                self.convs.append(GATv2Conv(width, head_dim, heads=heads, edge_dim=1))
                self.norms.append(torch.nn.LayerNorm(out))
                self.res.append(torch.nn.Linear(width, out) if width != out else torch.nn.Identity())
                width = out

        def forward(self, x):
            for conv, norm, res in zip(self.convs, self.norms, self.res):
                x = F.leaky_relu(norm(conv(x, edge_index, edge_attr)), 0.01) + res(x)
            return x

    if args.user_features:
        feats = np.concatenate([np.load(args.user_features), np.load(args.item_features)]).astype(np.float32)
        x = torch.nn.Parameter(torch.from_numpy(feats))
    else:
        x = torch.nn.Parameter(torch.randn(nu + ni, 384) * 0.1)
    model = Stack(x.shape[1])
    opt = torch.optim.AdamW(list(model.parameters()) + [x], lr=1e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.4, patience=5)

    test_by_user = {}
    for u, i, r in test:
        test_by_user.setdefault(u, {})[i] = r

    def evaluate(h, k_values=(10, 20)):
        scores = (h[:nu] @ h[nu:].T).detach().numpy()
        out = {}
        for u in range(nu):
            scores[u, list(seen[u])] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :50]
        for k in k_values:
            p, r, n, m = [], [], [], []
            for u, t in test_by_user.items():
                rel = {i for i, v in t.items() if v >= 4}
                lst = [i for i in top[u, :k] if i in t]
                hits = [1 if i in rel else 0 for i in lst]
                if lst:
                    p.append(sum(hits) / len(lst))
                if rel:
                    r.append(sum(hits) / len(rel))
                if lst and rel:
                    dcg = sum(hv / math.log2(q + 2) for q, hv in enumerate(hits))
                    idcg = sum(1 / math.log2(q + 2) for q in range(min(len(rel), k)))
                    n.append(dcg / idcg)
                if sum(hits):
                    acc, s = 0, 0.0
                    for q, hv in enumerate(hits):
                        if hv:
                            acc += 1
                            s += acc / (q + 1)
                    m.append(s / len(rel))
            out.update({f"precision@{k}": float(np.mean(p)), f"recall@{k}": float(np.mean(r)),
                        f"ndcg@{k}": float(np.mean(n)), f"map@{k}": float(np.mean(m))})
        return out

    report = {int(e) for e in args.report.split(",")}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        neg = np.array([allowed[u][rng.integers(len(allowed[u]))] for u in pos_u])
        model.train()
        opt.zero_grad(set_to_none=True)
        h = model(x)
        hu, hi, hj = h[pos_u], h[nu + pos_i], h[nu + neg]
        bpr = -F.logsigmoid((hu * hi).sum(1) - (hu * hj).sum(1)).mean()
        cos = 1 - F.cosine_similarity(hu, hi).mean()
        loss = 5 * bpr + 2 * cos
        loss.backward()
        opt.step()
        sched.step(loss.item())
        if epoch in report:
            model.eval()
            with torch.no_grad():
                metrics = evaluate(model(x))
            print(json.dumps({"epoch": epoch, "seconds": time.perf_counter() - start, "loss": loss.item(),
                              "lr": opt.param_groups[0]["lr"], **metrics}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
