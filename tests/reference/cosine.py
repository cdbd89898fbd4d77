"""Golden tensors for core/ops/cosine.c: F.cosine_similarity(a, b, dim=1, eps)
of torch 1.13, forward and both gradients, including zero and near-zero
vectors where the eps clamp is active. Computed in float64 from float32
inputs.

torch 1.13 computes sum((a / na) * (b / nb)) with na = sqrt(clamp_min(sum a^2,
eps^2)), the clamp done in place under NoGradGuard; that is checked here
against torch itself (the older formula sum(a b) / sqrt(clamp_min(sum a^2 *
sum b^2, eps^2)) differs both forward and in the gradient near zero).

Run from the repository root: /usr/bin/python3 tests/reference/cosine.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def formula(a, b, eps):
    """torch 1.13's formula written out, to check that it is the one torch uses."""
    sa = a.pow(2).sum(1, keepdim=True)
    sb = b.pow(2).sum(1, keepdim=True)
    with torch.no_grad():
        sa.clamp_min_(eps * eps)
        sb.clamp_min_(eps * eps)
    return ((a / sa.sqrt()) * (b / sb.sqrt())).sum(1)


def grads(f, a, b, dout):
    a = a.double().requires_grad_()
    b = b.double().requires_grad_()
    y = f(a, b)
    y.backward(dout.double())
    return y.detach(), a.grad, b.grad


def case(cases, name, a, b, eps):
    y = F.cosine_similarity(a, b, dim=1, eps=eps)
    dout = torch.randn(*y.shape)
    ref = grads(lambda x, z: F.cosine_similarity(x, z, dim=1, eps=eps), a, b, dout)
    mine = grads(lambda x, z: formula(x, z, eps), a, b, dout)
    for r, m in zip(ref, mine):
        assert torch.allclose(r, m, rtol=1e-12, atol=0), f"{name}: torch no longer uses the 1.13 formula"
    print(f"{name}: {tuple(a.shape)}, eps {eps}, |torch f32 - f64| = {(y.double() - ref[0]).abs().max():.2e}")
    cases.add(name, a=a, b=b, out=ref[0], dout=dout, da=ref[1], db=ref[2],
              eps=torch.tensor([eps], dtype=torch.float32))


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    case(cases, "c3", torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7), 1e-8)
    case(cases, "c40", torch.randn(1, 40, 9, 7), torch.randn(1, 40, 9, 7), 1e-8)
    case(cases, "vec", torch.randn(4, 300), torch.randn(4, 300), 1e-8)   # (N, C) -> (N)
    case(cases, "p300", torch.randn(1, 5, 300), torch.randn(1, 5, 300), 1e-6)  # > one block of pixels
    # zero and tiny vectors: pixel 0 a = 0; pixel 1 a tiny (|a| < eps); pixel 2 both tiny;
    # pixel 3 a small but above eps; eps = 1e-3 so that the clamp values stay in float32 range
    a = torch.randn(2, 6, 5)
    b = torch.randn(2, 6, 5)
    a[:, :, 0] = 0
    a[:, :, 1] *= 1e-5
    a[:, :, 2] *= 1e-5
    b[:, :, 2] *= 1e-5
    a[:, :, 3] *= 1e-2
    case(cases, "tiny", a, b, 1e-3)
    out = os.path.join(os.path.dirname(__file__), "golden", "cosine.safetensors")
    cases.save(out, "tests/reference/cosine.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
