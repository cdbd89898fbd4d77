"""PyTorch reference for the shape family: permute, slice, concat, reshape.
Run from the repository root: /usr/bin/python3 tests/reference/shape.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20261126
torch.manual_seed(SEED)
cases = Cases()


def vjp(fn, inputs, out_shape_like=None):
    xs = [x.double().requires_grad_(True) for x in inputs]
    out = fn(*xs)
    dout = torch.randn(out.shape, dtype=torch.float32)
    grads = torch.autograd.grad(out, xs, dout.double())
    return out, dout, grads


x = torch.randn(2, 3, 5, 7)
out, dout, (dx,) = vjp(lambda a: a.permute(0, 2, 3, 1), [x])
cases.add("permute", inp=x, out=out, dout=dout, dinp=dx)

x = torch.randn(2, 9, 4)
out, dout, (dx,) = vjp(lambda a: a[:, 2:7, :] * 1.0, [x])
cases.add("slice", inp=x, out=out, dout=dout, dinp=dx)

a, b, c = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 1, 4)
out, dout, (da, db, dc) = vjp(lambda p, q, r: torch.cat([p, q, r], dim=1), [a, b, c])
cases.add("concat", a=a, b=b, c=c, out=out, dout=dout, da=da, db=db, dc=dc)

x = torch.randn(2, 6, 5)
out, dout, (dx,) = vjp(lambda a: a.reshape(3, 4, 5), [x])
cases.add("reshape", inp=x, out=out, dout=dout, dinp=dx)

cases.save(os.path.join(os.path.dirname(__file__), "golden", "shape.safetensors"), "tests/reference/shape.py", SEED)
