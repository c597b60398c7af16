"""The paper's encoder in PyTorch Geometric, the peer of gatrec's stack benchmarks (bench_gat's
stack_forward_backward on the CPU, bench_gat_cuda's paper_stack on the GPU): GATv2 layers with the
rating as edge feature (PyG adds the self-loops), LayerNorm, LeakyReLU(0.01) and a residual that is
a linear projection where the width changes; widths 384 -> 256 -> 256 -> 64 (heads 4/4/1 of 64).

Imports torch, so the peer scripts import this module only once they have measured what they
measure before torch loads.
"""
import torch
import torch.nn.functional as F
from torch_geometric.nn import GATv2Conv

PAPER_SHAPES = [(4, 64), (4, 64), (1, 64)]  # (heads, head width) per layer, concatenated
PAPER_IN_DIM = 384


class PaperStack(torch.nn.Module):
    def __init__(self, shapes=PAPER_SHAPES, in_dim=PAPER_IN_DIM):
        super().__init__()
        self.convs, self.norms, self.res = torch.nn.ModuleList(), torch.nn.ModuleList(), torch.nn.ModuleList()
        width = in_dim
        for heads, head_dim in shapes:
            out = heads * head_dim
            self.convs.append(GATv2Conv(width, head_dim, heads=heads, edge_dim=1))
            self.norms.append(torch.nn.LayerNorm(out))
            self.res.append(torch.nn.Linear(width, out) if width != out else torch.nn.Identity())
            width = out
        self.out_dim = width

    def forward(self, x, edge_index, edge_attr):
        for conv, norm, res in zip(self.convs, self.norms, self.res):
            x = F.leaky_relu(norm(conv(x, edge_index, edge_attr)), 0.01) + res(x)
        return x
