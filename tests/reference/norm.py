"""Golden tensors for tests/ops/test_norm.c: group norm and layer norm,
forward and every gradient, computed by PyTorch in float64 from float32
inputs. Run from the repository root:

    /usr/bin/python3 tests/reference/norm.py

Writes tests/reference/golden/norm.safetensors. Names are "<case>.<arg>":
inp, weight, bias (absent when not affine), out, dout, dinp, dweight, dbias.
Slice cases store the whole tensor as inp (and its gradient as dinp); the
operation sees inp[..., start:start+length] along the dimension named in
test_norm.c.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20240601


def run(cases, name, fn, inp, weight=None, bias=None, view=lambda x: x):
    """Runs fn(view(inp), weight, bias) in float64 and stores inputs, output and gradients."""
    xd = inp.double().requires_grad_()
    wd = weight.double().requires_grad_() if weight is not None else None
    bd = bias.double().requires_grad_() if bias is not None else None
    out = fn(view(xd), wd, bd)
    dout = torch.randn(out.shape, dtype=torch.float32)
    out.backward(dout.double())
    named = dict(inp=inp, out=out, dout=dout, dinp=xd.grad)
    if weight is not None:
        named.update(weight=weight, dweight=wd.grad)
    if bias is not None:
        named.update(bias=bias, dbias=bd.grad)
    cases.add(name, **named)


def group_norm(x, groups, w, b, eps):
    # torch 1.13 fails in backward with a bias but no weight ("tensor does not
    # have a device"); a constant weight of ones is the same function.
    if w is None and b is not None:
        w = torch.ones(x.shape[1], dtype=x.dtype)
    return F.group_norm(x, groups, w, b, eps)


def affine(c, w=True, b=True):
    weight = (1.0 + 0.5 * torch.randn(c)).float() if w else None
    bias = (0.5 * torch.randn(c)).float() if b else None
    return weight, bias


def main():
    torch.manual_seed(SEED)
    cases = Cases()

    # group norm: (name, shape, groups, eps, weight?, bias?, scale, offset)
    for name, shape, groups, eps, w, b, scale, offset in [
        ("gn_affine", (2, 40, 9, 9), 8, 1e-5, True, True, 1.0, 0.0),
        ("gn_3d", (1, 40, 7), 5, 1e-6, True, False, 2.0, 0.5),
        ("gn_noaffine", (2, 12, 3, 5, 4), 4, 1e-5, False, False, 1.0, 0.0),
        ("gn_2d", (3, 6), 3, 1e-3, False, True, 1.0, 0.0),
        ("gn_offset", (1, 64, 16, 17), 32, 1e-6, True, True, 0.5, 20.0),
    ]:
        x = (torch.randn(shape) * scale + offset).float()
        weight, bias = affine(shape[1], w, b)
        run(cases, name, lambda x, w, b, g=groups, e=eps: group_norm(x, g, w, b, e), x, weight, bias)

    # non-contiguous: channels [4, 44) of a (2, 48, 9, 9) tensor, 10 groups
    x = torch.randn(2, 48, 9, 9).float()
    weight, bias = affine(40)
    run(cases, "gn_slice", lambda x, w, b: group_norm(x, 10, w, b, 1e-5), x, weight, bias,
        view=lambda x: x[:, 4:44])

    # layer norm: (name, shape, eps, weight?, bias?, scale, offset)
    for name, shape, eps, w, b, scale, offset in [
        ("ln_affine", (2, 7, 40), 1e-5, True, True, 1.0, 0.0),
        ("ln_noaffine", (3, 33), 1e-5, False, False, 1.0, 0.0),
        ("ln_clip", (5, 768), 1e-5, True, True, 2.0, 3.0),
        ("ln_big", (52, 320), 1e-6, True, True, 1.0, 0.0),
        ("ln_1", (4, 1), 1e-5, True, True, 1.0, 0.0),
    ]:
        x = (torch.randn(shape) * scale + offset).float()
        weight, bias = affine(shape[-1], w, b)
        run(cases, name, lambda x, w, b, e=eps: F.layer_norm(x, (x.shape[-1],), w, b, e), x, weight, bias)

    # non-contiguous: columns [3, 43) of a (4, 50) tensor, weight only
    x = torch.randn(4, 50).float()
    weight, _ = affine(40, True, False)
    run(cases, "ln_slice", lambda x, w, b: F.layer_norm(x, (40,), w, b, 1e-5), x, weight, None,
        view=lambda x: x[:, 3:43])

    out = os.path.join(os.path.dirname(__file__), "golden", "norm.safetensors")
    cases.save(out, "tests/reference/norm.py", SEED)


if __name__ == "__main__":
    main()
