"""Golden tensors for core/ops/resize.c: nearest 2x upsampling and bilinear
resizing (F.interpolate, align_corners=False, no antialias), forward and
input gradient. Computed in float64 from float32 inputs.

Run from the repository root: /usr/bin/python3 tests/reference/resize.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def case(cases, name, shape, size=None):
    x = torch.randn(*shape)  # float32 input
    x64 = x.double().requires_grad_()
    if size is None:
        y = F.interpolate(x64, scale_factor=2, mode="nearest")
        y32 = F.interpolate(x, scale_factor=2, mode="nearest")
    else:
        y = F.interpolate(x64, size=size, mode="bilinear", align_corners=False)
        y32 = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    dout = torch.randn(*y.shape)
    y.backward(dout.double())
    print(f"{name}: {tuple(shape)} -> {tuple(y.shape)}, |torch f32 - f64| = {(y32.double() - y).abs().max():.2e}")
    cases.add(name, inp=x, out=y, dout=dout, dinp=x64.grad)


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    case(cases, "nearest_b2", (2, 3, 5, 7))
    case(cases, "nearest_c40", (1, 40, 9, 4))
    case(cases, "bilinear_up", (2, 3, 9, 7), (16, 5))       # H up, W down
    case(cases, "bilinear_down", (1, 3, 17, 13), (5, 4))    # both down, non-integer ratios
    case(cases, "bilinear_up16", (1, 3, 4, 4), (64, 64))    # 16x up: the clamp at the borders
    case(cases, "bilinear_same_h", (2, 2, 6, 8), (6, 3))    # H unchanged (copy path), W down
    case(cases, "bilinear_same_w", (1, 2, 5, 9), (11, 9))   # W unchanged (no horizontal pass)
    case(cases, "bilinear_down_same_w", (1, 2, 9, 5), (4, 5))  # H down, W unchanged
    case(cases, "bilinear_c40", (1, 40, 7, 9), (9, 14))
    case(cases, "bilinear_to1", (1, 2, 5, 6), (1, 1))
    case(cases, "bilinear_from1", (2, 1, 1, 1), (3, 2))
    # large enough for the kernels' OpenMP paths (rows are split between threads mid-plane)
    case(cases, "bilinear_par_up", (1, 4, 40, 36), (80, 90))
    case(cases, "bilinear_par_down", (1, 4, 96, 80), (30, 50))
    out = os.path.join(os.path.dirname(__file__), "golden", "resize.safetensors")
    cases.save(out, "tests/reference/resize.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
