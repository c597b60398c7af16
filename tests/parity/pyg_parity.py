#!/usr/bin/env python3
"""Parity of gatrec's attention layers and model stack with PyTorch Geometric, in float64.

Runs the dump tool (gatrec's outputs and gradients on random graphs), rebuilds each case with
torch_geometric's GATConv / GATv2Conv holding the same weights, and compares the outputs, the input
gradient and every parameter gradient. Exit status 77 (CTest's skip) when torch or torch_geometric
cannot be imported.

usage: pyg_parity.py DUMP_TOOL [WORK_DIR]
"""
import pathlib
import subprocess
import sys
import tempfile

try:
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import GATConv, GATv2Conv
except Exception as exc:  # noqa: BLE001 - any import failure means "skip"
    print(f"SKIP: torch / torch_geometric not importable ({exc}); see README, 'Developer setup'")
    sys.exit(77)

TOLERANCE = 1e-4  # relative error required by the issue; float64 typically lands near 1e-14


def read_case(path):
    meta, tensors = {}, {}
    lines = path.read_text().splitlines()
    k = 0
    while k < len(lines):
        parts = lines[k].split()
        if parts[0] == "meta":
            meta[parts[1]] = parts[2]
            k += 1
        elif parts[0] == "tensor":
            name, rows, cols = parts[1], int(parts[2]), int(parts[3])
            values = [float(v) for v in lines[k + 1].split()] if rows * cols else []
            tensors[name] = torch.tensor(values, dtype=torch.float64).reshape(rows, cols)
            k += 2
        else:
            raise ValueError(f"{path}:{k + 1}: unexpected record {parts[0]!r}")
    return meta, tensors


def make_conv(form, in_dim, heads, head_dim, concat, edge_dim, self_loops):
    cls = GATConv if form == "gat" else GATv2Conv
    conv = cls(in_dim, head_dim, heads=heads, concat=concat, negative_slope=0.2, dropout=0.0,
               add_self_loops=self_loops, edge_dim=edge_dim if edge_dim else None, fill_value="mean",
               bias=True)
    return conv.double()


def conv_tensors(conv, form, prefix):
    """(gatrec name, torch tensor, transform from gatrec layout) for every parameter."""
    heads, head_dim = conv.heads, conv.out_channels
    att = lambda p: (p, lambda m: m.reshape(1, heads, head_dim))  # noqa: E731
    lin = lambda p: (p, lambda m: m.t())  # noqa: E731
    vec = lambda p: (p, lambda m: m.reshape(-1))  # noqa: E731
    out = {}
    if form == "gat":
        out[prefix + ".lin.weight"] = lin(conv.lin.weight)
        out[prefix + ".att_src"] = att(conv.att_src)
        out[prefix + ".att_dst"] = att(conv.att_dst)
        if conv.lin_edge is not None:
            out[prefix + ".att_edge"] = att(conv.att_edge)
    else:
        out[prefix + ".lin_src.weight"] = lin(conv.lin_l.weight)
        out[prefix + ".lin_src.bias"] = vec(conv.lin_l.bias)
        out[prefix + ".lin_dst.weight"] = lin(conv.lin_r.weight)
        out[prefix + ".lin_dst.bias"] = vec(conv.lin_r.bias)
        out[prefix + ".att"] = att(conv.att)
    if conv.lin_edge is not None:
        out[prefix + ".lin_edge.weight"] = lin(conv.lin_edge.weight)
    out[prefix + ".bias"] = vec(conv.bias)
    return out


def rel_err(a, b):
    denom = max(b.norm().item(), 1e-30)
    return (a.reshape(b.shape) - b).norm().item() / denom


class Stack(torch.nn.Module):
    """The gatrec block in PyTorch: conv -> LayerNorm -> LeakyReLU(0.01) -> + residual."""

    def __init__(self, form, in_dim, shapes, self_loops):
        super().__init__()
        self.convs, self.norms, self.res = torch.nn.ModuleList(), torch.nn.ModuleList(), torch.nn.ModuleList()
        width = in_dim
        for heads, head_dim in shapes:
            out = heads * head_dim
            self.convs.append(make_conv(form, width, heads, head_dim, True, 1, self_loops))
            self.norms.append(torch.nn.LayerNorm(out).double())
            self.res.append(torch.nn.Linear(width, out).double() if width != out else torch.nn.Identity())
            width = out

    def forward(self, x, edge_index, edge_attr):
        for conv, norm, res in zip(self.convs, self.norms, self.res):
            x = F.leaky_relu(norm(conv(x, edge_index, edge_attr)), 0.01) + res(x)
        return x


def check_case(path):
    meta, t = read_case(path)
    form = meta["form"]
    edge_index = t["edge_index"].long()
    edge_attr = t["edge_attr"]
    x = t["x"].clone().requires_grad_(True)
    if meta["kind"] == "layer":
        conv = make_conv(form, int(meta["in_dim"]), int(meta["heads"]), int(meta["head_dim"]), meta["concat"] == "1",
                         int(meta["edge_dim"]), meta["self_loops"] == "1")
        mapping = conv_tensors(conv, form, "conv")
        module = conv
        forward = lambda: conv(x, edge_index, edge_attr if int(meta["edge_dim"]) else None)  # noqa: E731
    else:
        shapes = [tuple(int(v) for v in s.split(":")) for s in meta["layers"].split(",")]
        module = Stack(form, int(meta["in_dim"]), shapes, meta["self_loops"] == "1")
        mapping = {}
        for layer, (conv, norm, res) in enumerate(zip(module.convs, module.norms, module.res)):
            p = f"layers.{layer}"
            mapping.update(conv_tensors(conv, form, p + ".conv"))
            mapping[p + ".norm.weight"] = (norm.weight, lambda m: m.reshape(-1))
            mapping[p + ".norm.bias"] = (norm.bias, lambda m: m.reshape(-1))
            if isinstance(res, torch.nn.Linear):
                mapping[p + ".residual.weight"] = (res.weight, lambda m: m.t())
                mapping[p + ".residual.bias"] = (res.bias, lambda m: m.reshape(-1))
        forward = lambda: module(x, edge_index, edge_attr)  # noqa: E731

    ours = {k[len("param."):] for k in t if k.startswith("param.")}
    if ours != set(mapping):
        raise AssertionError(f"{path.name}: parameter sets differ: gatrec-only {sorted(ours - set(mapping))}, "
                             f"PyG-only {sorted(set(mapping) - ours)}")
    with torch.no_grad():
        for name, (tensor, to_torch) in mapping.items():
            tensor.copy_(to_torch(t["param." + name]))
    module.zero_grad()
    out = forward()
    (out * t["upstream"]).sum().backward()

    errors = {"out": rel_err(out.detach(), t["out"]), "grad.x": rel_err(x.grad, t["grad.x"])}
    for name, (tensor, to_torch) in mapping.items():
        errors["grad." + name] = rel_err(tensor.grad, to_torch(t["grad." + name]))
    worst = max(errors, key=errors.get)
    ok = errors[worst] < TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {path.stem:34s} tensors {len(errors):2d}  worst {worst} rel err {errors[worst]:.2e}")
    return ok


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else pathlib.Path(tmp)
        subprocess.run([tool, str(work)], check=True)
        cases = sorted(work.glob("*.txt"))
        if not cases:
            print("no cases were written")
            return 1
        results = [check_case(c) for c in cases]
    print(f"{sum(results)}/{len(results)} cases agree with PyTorch Geometric {__import__('torch_geometric').__version__} "
          f"(torch {torch.__version__}) within {TOLERANCE:g} relative error")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
