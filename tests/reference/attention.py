"""Golden tensors for rg_attention (tests/ops/test_attention.c).

Multi-head scaled-dot-product attention as diffusers 0.21's AttnProcessor
computes it (head_to_batch_dim, baddbmm with alpha=scale, softmax, bmm,
batch_to_head_dim), in float64 from float32 inputs, with the gradients of
<out, dout> for q, k and v by autograd. The causal cases (rg_attention_causal)
add CLIP's mask: -inf above the diagonal of the scores before the softmax
(transformers' _build_causal_attention_mask).

Run from the repository root: /usr/bin/python3 tests/reference/attention.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20240611


def head_to_batch(x, heads):
    b, t, c = x.shape
    return x.reshape(b, t, heads, c // heads).permute(0, 2, 1, 3).reshape(b * heads, t, c // heads)


def batch_to_head(x, heads):
    bh, t, d = x.shape
    return x.reshape(bh // heads, heads, t, d).permute(0, 2, 1, 3).reshape(bh // heads, t, heads * d)


def attention(q, k, v, heads, scale, causal=False):
    qb, kb, vb = head_to_batch(q, heads), head_to_batch(k, heads), head_to_batch(v, heads)
    s = torch.baddbmm(torch.empty(qb.shape[0], qb.shape[1], kb.shape[1], dtype=q.dtype), qb,
                      kb.transpose(-1, -2), beta=0, alpha=scale)
    if causal:
        mask = torch.full((qb.shape[1], kb.shape[1]), float("-inf"), dtype=q.dtype).triu(1)
        s = s + mask
    return batch_to_head(torch.bmm(s.softmax(dim=-1), vb), heads)


def add_case(cases, name, b, tq, tk, heads, d, scale=0.0, spread=1.0, causal=False):
    """scale <= 0 means 1/sqrt(d), as rg_attention; spread widens the logits;
    causal: query i attends to keys 0..i (tq == tk)."""
    c = heads * d
    q = (torch.randn(b, tq, c) * spread).float()
    k = torch.randn(b, tk, c).float()
    v = torch.randn(b, tk, c).float()
    dout = torch.randn(b, tq, c).float()
    q64, k64, v64 = (x.double().requires_grad_(True) for x in (q, k, v))
    out = attention(q64, k64, v64, heads, scale if scale > 0 else d ** -0.5, causal)
    out.backward(dout.double())
    cases.add(name, q=q, k=k, v=v, dout=dout, out=out, dq=q64.grad, dk=k64.grad, dv=v64.grad,
              heads=torch.tensor([heads]), scale=torch.tensor([scale]))


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    add_case(cases, "self", 2, 37, 37, 3, 8)
    add_case(cases, "cross", 2, 50, 7, 2, 20)
    # larger than the kernel's blocks (64 queries x 256 keys) and not multiples of them;
    # peaked logits so that the running maximum moves between key blocks
    add_case(cases, "blocks", 1, 300, 270, 2, 24, spread=3.0)
    add_case(cases, "scale", 1, 20, 33, 1, 12, scale=0.7)
    # causal: one block; and three query and key blocks of 128 (the last partial), where whole key
    # blocks above the diagonal are skipped and the diagonal blocks masked
    add_case(cases, "causal", 2, 37, 37, 3, 8, causal=True)
    add_case(cases, "causal_blocks", 1, 260, 260, 2, 8, spread=3.0, causal=True)
    add_case(cases, "causal_scale", 1, 77, 77, 4, 6, scale=0.6, causal=True)
    out = os.path.join(os.path.dirname(__file__), "golden", "attention.safetensors")
    cases.save(out, "tests/reference/attention.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
