"""Golden tensors for rg_linear and rg_matmul (tests/ops/test_linear.c).

Run from the repository root: /usr/bin/python3 tests/reference/linear.py
Inputs are float32; the reference is computed in float64 from them.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 1234


def grads_of(out, inputs, dout):
    return torch.autograd.grad(out, inputs, dout.double())


def main():
    torch.manual_seed(SEED)
    cases = Cases()

    # linear: name -> (input shape, N, bias)
    for name, (xshape, n, has_bias) in {
        "lin2": ((7, 40), 24, True),
        "lin3": ((2, 9, 40), 24, False),     # 3-D input, no bias
        "lin4": ((2, 3, 5, 16), 33, True),   # 4-D input, odd N
    }.items():
        k = xshape[-1]
        x = torch.randn(*xshape)
        w = torch.randn(n, k) / k ** 0.5
        b = torch.randn(n) if has_bias else None
        ins = [x.double().requires_grad_(True), w.double().requires_grad_(True)]
        if has_bias:
            ins.append(b.double().requires_grad_(True))
        out = torch.nn.functional.linear(*ins)
        dout = torch.randn(out.shape)
        g = grads_of(out, ins, dout)
        named = dict(inp=x, weight=w, out=out, dout=dout, dinp=g[0], dweight=g[1])
        if has_bias:
            named.update(bias=b, dbias=g[2])
        cases.add(name, **named)

    # matmul: every transpose combination, batched, plus a 2-D case
    B, M, K, N = 3, 5, 7, 6
    for ta in (0, 1):
        for tb in (0, 1):
            a = torch.randn(B, K, M) if ta else torch.randn(B, M, K)
            b = torch.randn(B, N, K) if tb else torch.randn(B, K, N)
            a64 = a.double().requires_grad_(True)
            b64 = b.double().requires_grad_(True)
            out = torch.matmul(a64.transpose(1, 2) if ta else a64, b64.transpose(1, 2) if tb else b64)
            dout = torch.randn(out.shape)
            ga, gb = grads_of(out, [a64, b64], dout)
            cases.add(f"mm{ta}{tb}", a=a, b=b, out=out, dout=dout, da=ga, db=gb)
    a = torch.randn(9, 20)
    b = torch.randn(11, 20)
    a64 = a.double().requires_grad_(True)
    b64 = b.double().requires_grad_(True)
    out = a64 @ b64.t()
    dout = torch.randn(out.shape)
    ga, gb = grads_of(out, [a64, b64], dout)
    cases.add("mm2d", a=a, b=b, out=out, dout=dout, da=ga, db=gb)  # 2-D, transpose_b

    path = os.path.join(os.path.dirname(__file__), "golden", "linear.safetensors")
    cases.save(path, "tests/reference/linear.py", SEED)


if __name__ == "__main__":
    main()
