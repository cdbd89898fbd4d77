"""The cases of bench_ops.c in PyTorch CPU with 2 threads, as the official
Readout Guidance code runs them (diffusers 0.21 attention: baddbmm, softmax,
bmm). Prints "<name> <median ms>" per case.
Usage: /usr/bin/python3 tests/bench/bench_torch.py [REPS]"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def timed(forward, grad_of=None, dout=None):
    times = []
    for r in range(REPS + 1):  # the first run warms up
        if grad_of is None:
            with torch.no_grad():
                t0 = time.perf_counter()
                forward()
                t1 = time.perf_counter()
        else:
            y = forward()
            t0 = time.perf_counter()
            torch.autograd.grad(y, grad_of, dout)
            t1 = time.perf_counter()
        if r:
            times.append((t1 - t0) * 1000)
    return statistics.median(times)


def attention(q, k, v, heads=8):
    b, t, c = q.shape
    d = c // heads

    def split(x):
        return x.reshape(b, -1, heads, d).permute(0, 2, 1, 3).reshape(b * heads, -1, d)

    q, k, v = split(q), split(k), split(v)
    scores = torch.baddbmm(torch.empty(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype), q,
                           k.transpose(-1, -2), beta=0, alpha=d ** -0.5)
    out = torch.bmm(scores.softmax(dim=-1), v)
    return out.reshape(b, heads, -1, d).permute(0, 2, 1, 3).reshape(b, -1, c)


torch.manual_seed(0)
x = torch.rand(1, 320, 64, 64) * 2 - 1
w = (torch.rand(320, 320, 3, 3) * 2 - 1) * 0.02
bias = torch.rand(320) * 0.2 - 0.1
dout = torch.rand(1, 320, 64, 64) * 2 - 1
print(f"conv3x3_320_64x64_forward {timed(lambda: F.conv2d(x, w, bias, 1, 1)):.2f}")
xg = x.clone().requires_grad_(True)
print(f"conv3x3_320_64x64_grad_input {timed(lambda: F.conv2d(xg, w, bias, 1, 1), [xg], dout):.2f}")

q, k, v, dq = (torch.rand(1, 4096, 320) * 2 - 1 for _ in range(4))
print(f"attention_4096_h8_d40_forward {timed(lambda: attention(q, k, v)):.2f}")
qkv = [t.clone().requires_grad_(True) for t in (q, k, v)]
print(f"attention_4096_h8_d40_backward {timed(lambda: attention(*qkv), qkv, dq):.2f}")

gw = torch.rand(320) + 0.5
gb = torch.rand(320) - 0.5
print(f"group_norm_320_64x64_forward {timed(lambda: F.group_norm(x, 32, gw, gb, 1e-5)):.2f}")
print(f"group_norm_320_64x64_grad_input {timed(lambda: F.group_norm(xg, 32, gw, gb, 1e-5), [xg], dout):.2f}")

lx = torch.rand(4096, 320) * 2 - 1
lw = (torch.rand(1280, 320) * 2 - 1) * 0.05
lb = torch.rand(1280) * 0.2 - 0.1
ly = torch.rand(4096, 1280) * 2 - 1
print(f"linear_4096x320_1280_forward {timed(lambda: F.linear(lx, lw, lb)):.2f}")
lxg = lx.clone().requires_grad_(True)
print(f"linear_4096x320_1280_grad_input {timed(lambda: F.linear(lxg, lw, lb), [lxg], ly):.2f}")
