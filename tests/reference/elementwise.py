"""PyTorch reference for broadcasting add/sub/mul, scale, sum and mean.
Run from the repository root: /usr/bin/python3 tests/reference/elementwise.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20261127
torch.manual_seed(SEED)
cases = Cases()


def vjp(fn, inputs):
    xs = [x.double().requires_grad_(True) for x in inputs]
    out = fn(*xs)
    dout = torch.randn(out.shape, dtype=torch.float32)
    grads = torch.autograd.grad(out, xs, dout.double())
    return out, dout, grads


# (N,C,H,W) with a per-channel (C,1,1) operand and a (N,1,H,W) one
for name, fn in [("add", torch.add), ("sub", torch.sub), ("mul", torch.mul)]:
    a, b = torch.randn(2, 5, 3, 7), torch.randn(5, 1, 1)
    out, dout, (da, db) = vjp(fn, [a, b])
    cases.add(f"{name}_channel", a=a, b=b, out=out, dout=dout, da=da, db=db)
    a, b = torch.randn(2, 1, 3, 7), torch.randn(2, 4, 1, 7)
    out, dout, (da, db) = vjp(fn, [a, b])
    cases.add(f"{name}_both", a=a, b=b, out=out, dout=dout, da=da, db=db)

x = torch.randn(3, 4, 5)
out, dout, (dx,) = vjp(lambda a: a * 0.37 - 1.5, [x])
cases.add("scale", inp=x, out=out, dout=dout, dinp=dx)
out, dout, (dx,) = vjp(lambda a: a.sum().reshape(1), [x])
cases.add("sum", inp=x, out=out, dout=dout, dinp=dx)
out, dout, (dx,) = vjp(lambda a: a.mean().reshape(1), [x])
cases.add("mean", inp=x, out=out, dout=dout, dinp=dx)
out, dout, (dx,) = vjp(lambda a: a.sum(dim=1, keepdim=True), [x])
cases.add("sum_dim1", inp=x, out=out, dout=dout, dinp=dx)
out, dout, (dx,) = vjp(lambda a: a.mean(dim=-1, keepdim=True), [x])
cases.add("mean_dim2", inp=x, out=out, dout=dout, dinp=dx)

cases.save(os.path.join(os.path.dirname(__file__), "golden", "elementwise.safetensors"),
           "tests/reference/elementwise.py", SEED)
