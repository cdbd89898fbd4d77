"""Golden tensors for tests/ops/test_activation.c: SiLU, GELU (exact erf),
QuickGELU, ReLU, tanh, GEGLU and softmax, forward and input gradient,
computed by PyTorch in float64 from float32 inputs. Run from the repository
root:

    /usr/bin/python3 tests/reference/activation.py

Writes tests/reference/golden/activation.safetensors. Names are
"<case>.<arg>": inp, out, dout, dinp. Slice cases store the whole tensor as
inp (and its gradient as dinp); the operation sees a slice of the last
dimension given in test_activation.c.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20240602


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def geglu(x):
    # diffusers GEGLU: hidden_states, gate = proj(x).chunk(2, dim=-1); hidden_states * gelu(gate)
    h, gate = x.chunk(2, dim=-1)
    return h * F.gelu(gate)


def run(cases, name, fn, inp, view=lambda x: x):
    xd = inp.double().requires_grad_()
    out = fn(view(xd))
    dout = torch.randn(out.shape, dtype=torch.float32)
    out.backward(dout.double())
    cases.add(name, inp=inp, out=out, dout=dout, dinp=xd.grad)


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    unary = {"silu": F.silu, "gelu": F.gelu, "quick_gelu": quick_gelu, "relu": F.relu, "tanh": torch.tanh}
    for name, fn in unary.items():
        x = (torch.randn(3, 37) * 3.0).float()
        x[0, :3] = torch.tensor([0.0, -20.0, 20.0])  # zero and saturated values
        run(cases, name, fn, x)
    # beyond the single-thread threshold (32768 elements)
    run(cases, "silu_big", F.silu, (torch.randn(2, 16500) * 3.0).float())
    # non-contiguous: columns [5, 15) of a (6, 20) tensor
    run(cases, "gelu_slice", F.gelu, (torch.randn(6, 20) * 3.0).float(), view=lambda x: x[:, 5:15])

    run(cases, "geglu", geglu, (torch.randn(2, 5, 48) * 2.0).float())
    run(cases, "geglu_1", geglu, (torch.randn(3, 2) * 2.0).float())
    # non-contiguous: last dimension [6, 54) of (2, 5, 60)
    run(cases, "geglu_slice", geglu, (torch.randn(2, 5, 60) * 2.0).float(), view=lambda x: x[..., 6:54])

    softmax = lambda x: torch.softmax(x, dim=-1)  # noqa: E731
    run(cases, "softmax", softmax, (torch.randn(3, 4, 17) * 30.0).float())  # large logits
    run(cases, "softmax_1", softmax, torch.randn(5, 1).float())
    run(cases, "softmax_big", softmax, (torch.randn(4, 40, 60) * 3.0).float())
    # non-contiguous: columns [2, 27) of a (4, 30) tensor
    run(cases, "softmax_slice", softmax, torch.randn(4, 30).float(), view=lambda x: x[:, 2:27])

    # added last so that the cases above keep their random draws
    x = (torch.randn(3, 37) * 3.0).float()
    x[0, :3] = torch.tensor([0.0, -20.0, 20.0])
    run(cases, "exp", torch.exp, x)

    out = os.path.join(os.path.dirname(__file__), "golden", "activation.safetensors")
    cases.save(out, "tests/reference/activation.py", SEED)


if __name__ == "__main__":
    main()
