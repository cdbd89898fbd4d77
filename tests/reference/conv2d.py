"""Golden tensors for rg_conv2d (tests/ops/test_conv2d.c).

Run from the repository root: /usr/bin/python3 tests/reference/conv2d.py
Inputs are float32; the reference is computed in float64 from them.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 1234

# name: (N, Cin, H, W, Cout, K, stride, padding, bias)
CASES = {
    "s1": (2, 40, 9, 9, 24, 3, 1, 1, True),     # 3x3 stride 1 pad 1, batch 2
    "s2": (2, 8, 7, 9, 12, 3, 2, 1, True),      # 3x3 stride 2, odd sizes
    "pw": (2, 40, 5, 7, 24, 1, 1, 0, True),     # 1x1 (a plain GEMM)
    "nob": (1, 16, 6, 6, 8, 3, 1, 1, False),    # no bias
    "edge": (1, 32, 17, 15, 16, 3, 1, 1, True), # Winograd tiles cut at both edges
    "p0": (1, 5, 10, 11, 7, 3, 1, 0, True),     # no padding (input gradient pads by 2)
    "p2": (1, 6, 5, 6, 4, 3, 1, 2, True),       # padding 2 (input gradient pads by 0)
    "p3": (1, 3, 4, 5, 2, 3, 1, 3, True),       # padding 3 (input gradient crops by 1)
    "pw2": (1, 6, 9, 9, 10, 1, 2, 1, True),     # 1x1 with stride 2 and padding: im2col
    "s2e": (1, 9, 8, 8, 5, 3, 2, 0, True),      # stride 2, no padding, last input row unused
}


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    for name, (n, ci, h, w, co, k, s, p, has_bias) in CASES.items():
        x = torch.randn(n, ci, h, w)
        wt = torch.randn(co, ci, k, k) / (ci * k * k) ** 0.5
        b = torch.randn(co) if has_bias else None
        x64 = x.double().requires_grad_(True)
        w64 = wt.double().requires_grad_(True)
        b64 = b.double().requires_grad_(True) if has_bias else None
        out = torch.nn.functional.conv2d(x64, w64, b64, stride=s, padding=p)
        dout = torch.randn(out.shape)
        grads = torch.autograd.grad(out, [x64, w64] + ([b64] if has_bias else []), dout.double())
        named = dict(inp=x, weight=wt, out=out, dout=dout, dinp=grads[0], dweight=grads[1])
        if has_bias:
            named.update(bias=b, dbias=grads[2])
        cases.add(name, **named)
    path = os.path.join(os.path.dirname(__file__), "golden", "conv2d.safetensors")
    cases.save(path, "tests/reference/conv2d.py", SEED)


if __name__ == "__main__":
    main()
