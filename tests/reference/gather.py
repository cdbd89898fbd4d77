"""Golden tensors for core/ops/gather.c: out[n, c, p] = x[n, c, index[n, p]]
(torch.gather along the last dim with the index shared by the channels),
forward and the gradient of x, with repeated indices. Computed in float64 from
float32 inputs.

Run from the repository root: /usr/bin/python3 tests/reference/gather.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def case(cases, name, N, C, L, P):
    x = torch.randn(N, C, L)
    index = torch.randint(0, L, (N, P), dtype=torch.int64)
    index[:, 0] = L - 1  # both ends, and a repeat
    index[:, -1] = 0
    if P > 2:
        index[:, 1] = index[:, 2]
    x64 = x.double().requires_grad_()
    y = torch.gather(x64, 2, index[:, None, :].expand(N, C, P))
    dout = torch.randn(N, C, P)
    y.backward(dout.double())
    cases.add(name, x=x, index=index, out=y, dout=dout, dx=x64.grad)


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    case(cases, "b2", 2, 3, 11, 7)
    case(cases, "c40", 1, 40, 64, 20)
    case(cases, "many", 2, 5, 9, 50)   # P > L: many repeats accumulate
    case(cases, "big", 1, 8, 2048, 1500)
    out = os.path.join(os.path.dirname(__file__), "golden", "gather.safetensors")
    cases.save(out, "tests/reference/gather.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
