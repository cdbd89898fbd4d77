"""The SD1.5 UNet benchmark, PyTorch side (tests/bench/run_unet.sh runs it
beside bench_unet.c, 2 threads each).

  gen DIR        writes DIR/unet.safetensors (random SD1.5 weights, F16 on
                 disk, diffusers names under "unet.") and DIR/inputs.safetensors
                 (sample (1,4,64,64), timestep (1), encoder_hidden_states
                 (1,77,768), cotangent.features.0..11), both F32 when loaded:
                 the engine and PyTorch run on the same numbers.
  bench DIR [N]  loads them into tests/reference/unet.py's UNet2DConditionModel
                 (plain PyTorch, diffusers names) in float32 and times, median
                 of N runs after one warm-up:
                   forward       eps, under torch.no_grad()
                   forward_grad  eps and the 12 decoder features (conv2 of every
                                 up-block ResNet, before the skip add), then
                                 torch.autograd.grad(features, sample, cotangents)
                                 (the gradient of sum_k <cot_k, f_k>); weights frozen
                 Attention runs as diffusers 0.21 runs it on PyTorch < 2 (to_q/k/v,
                 baddbmm, softmax, bmm, to_out), not the reference's matmul-and-divide.
                 If DIR/ours.safetensors exists (eps, grad.sample from bench_unet),
                 prints the max abs differences to PyTorch's.

Output lines (the same as bench_unet.c's):
  time CASE MEDIAN_S T1 T2 ...
  mem CASE PEAK_RSS_GB -        peak RSS (getrusage ru_maxrss) during CASE, the
                                process's peak reset (/proc/self/clear_refs 5)
                                after loading, so it counts weights + activations
                                + the interpreter, not the loading
  diff NAME MAX_ABS_DIFF MAX_ABS_REF
GB = 1e9 bytes.
Usage: /usr/bin/python3 tests/bench/bench_unet.py gen DIR
       /usr/bin/python3 tests/bench/bench_unet.py bench DIR [N]
"""
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import unet as ref  # noqa: E402

torch.set_num_threads(2)
SEED = 20261122
SIZE = 64       # latent 64x64 (512x512 images)
TOKENS = 77

SD15 = {
    "_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
    "sample_size": 64, "use_linear_projection": False,
}


# ---- PyTorch as diffusers 0.21 runs it -------------------------------------

def attention_diffusers(self, x, context=None):
    """diffusers 0.21 AttnProcessor (PyTorch < 2: no scaled_dot_product_attention)."""
    context = x if context is None else context
    B, T, C = x.shape
    H = self.heads

    def head_to_batch(t):  # (B, N, H*D) -> (B*H, N, D)
        return t.reshape(B, t.shape[1], H, -1).permute(0, 2, 1, 3).reshape(B * H, t.shape[1], -1)

    q, k, v = head_to_batch(self.to_q(x)), head_to_batch(self.to_k(context)), head_to_batch(self.to_v(context))
    scores = torch.baddbmm(torch.empty(q.shape[0], T, k.shape[1], dtype=q.dtype), q, k.transpose(-1, -2),
                           beta=0, alpha=q.shape[-1] ** -0.5)
    a = torch.bmm(scores.softmax(dim=-1), v)
    a = a.reshape(B, H, T, -1).permute(0, 2, 1, 3).reshape(B, T, -1)
    return self.to_out[1](self.to_out[0](a))


def build_model():
    """The reference UNet in float32 without PyTorch's random init (the weights are loaded after)."""
    saved = nn.Linear.reset_parameters, nn.Conv2d.reset_parameters
    nn.Linear.reset_parameters = lambda self: None
    nn.Conv2d.reset_parameters = lambda self: None
    try:
        model = ref.UNet2DConditionModel(SD15).float()
    finally:
        nn.Linear.reset_parameters, nn.Conv2d.reset_parameters = saved
    ref.Attention.forward = attention_diffusers
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def feature_shapes():
    boc, L = SD15["block_out_channels"], len(SD15["block_out_channels"])
    shapes = []
    for i in range(L):  # up block i works at level L-1-i
        c, s = boc[L - 1 - i], SIZE >> (L - 1 - i)
        shapes += [(1, c, s, s)] * (SD15["layers_per_block"] + 1)
    return shapes


# ---- safetensors, streamed (3.4 GB of weights do not fit twice) -------------

NP_DTYPES = {"F16": np.float16, "F32": np.float32}


def write_safetensors(path, entries):
    """entries: list of (name, dtype "F16"/"F32", shape, make) with make() -> a torch tensor of that shape."""
    header, offset = {}, 0
    for name, dt, shape, _ in entries:
        n = math.prod(shape) * np.dtype(NP_DTYPES[dt]).itemsize
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, dt, shape, make in entries:
            t = make()
            assert tuple(t.shape) == tuple(shape), name
            f.write(t.detach().contiguous().numpy().astype(NP_DTYPES[dt], copy=False).tobytes())


def read_safetensors(path):
    """{name: (dtype, shape, offset)} and the file's data start."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return {k: (v["dtype"], tuple(v["shape"]), v["data_offsets"][0]) for k, v in header.items()}, 8 + n


def load_tensor(f, info, start, name):
    dt, shape, off = info[name]
    f.seek(start + off)
    count = math.prod(shape)
    a = np.frombuffer(f.read(count * np.dtype(NP_DTYPES[dt]).itemsize), dtype=NP_DTYPES[dt], count=count)
    return torch.from_numpy(a.astype(np.float32)).reshape(shape)


# ---- gen ---------------------------------------------------------------------

def gen(d):
    """Random weights with O(1) activations as tests/reference/unet.py makes them
    (matrices N(0, 1/fan_in), norm weights 1 + N(0, 0.01), biases N(0, 0.01)), and random inputs."""
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(SEED)
    model = build_model()
    entries = []
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if name.endswith(".weight") and len(shape) >= 2:
            fan_in = math.prod(shape[1:])
            make = (lambda s=shape, f=fan_in: torch.randn(s, generator=g) / math.sqrt(f))
        elif "norm" in name and name.endswith(".weight"):
            make = (lambda s=shape: 1 + 0.1 * torch.randn(s, generator=g))
        else:
            make = (lambda s=shape: 0.1 * torch.randn(s, generator=g))
        entries.append(("unet." + name, "F16", shape, make))
    del model
    write_safetensors(os.path.join(d, "unet.safetensors"), entries)
    inputs = [("sample", "F32", (1, 4, SIZE, SIZE), lambda: torch.randn(1, 4, SIZE, SIZE, generator=g)),
              ("timestep", "F32", (1,), lambda: torch.tensor([500.0])),
              ("encoder_hidden_states", "F32", (1, TOKENS, 768), lambda: torch.randn(1, TOKENS, 768, generator=g))]
    for k, s in enumerate(feature_shapes()):
        inputs.append((f"cotangent.features.{k}", "F32", s, lambda s=s: torch.randn(s, generator=g)))
    write_safetensors(os.path.join(d, "inputs.safetensors"), inputs)
    print("wrote", d, "unet.safetensors", os.path.getsize(os.path.join(d, "unet.safetensors")), "bytes")


# ---- bench -------------------------------------------------------------------

def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_now_gb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e9
    return -1


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def timed(fn, n):
    times, out = [], None
    for r in range(n + 1):  # r = 0 warms up
        t0 = time.perf_counter()
        out = fn()
        t1 = time.perf_counter()
        if r:
            times.append(t1 - t0)
    return statistics.median(times), times, out


def bench(d, n):
    model = build_model()
    path = os.path.join(d, "unet.safetensors")
    info, start = read_safetensors(path)
    with open(path, "rb") as f:
        for name, p in model.named_parameters():  # one tensor at a time: no second copy of the weights
            p.copy_(load_tensor(f, info, start, "unet." + name))
    path = os.path.join(d, "inputs.safetensors")
    info, start = read_safetensors(path)
    with open(path, "rb") as f:
        inp = {k: load_tensor(f, info, start, k) for k in info}
    sample, t, ctx = inp["sample"], inp["timestep"], inp["encoder_hidden_states"]
    cots = [inp[f"cotangent.features.{k}"] for k in range(12)]
    weights_gb = sum(p.numel() for p in model.parameters()) * 4 / 1e9
    print(f"info torch {torch.__version__} threads {torch.get_num_threads()} weights_f32_gb {weights_gb:.3f}")
    print(f"info rss_after_load_gb {rss_now_gb():.3f}")
    reset_ok = reset_peak_rss()
    if not reset_ok:
        print("info /proc/self/clear_refs not writable: peak RSS includes loading")

    def forward():
        with torch.no_grad():
            return model(sample, t, ctx)[0]

    med, times, eps = timed(forward, n)
    print("time forward", f"{med:.3f}", " ".join(f"{x:.3f}" for x in times))
    print(f"mem forward {peak_rss_gb():.3f} -")

    def forward_grad():
        x = sample.clone().requires_grad_(True)
        _, feats = model(x, t, ctx)
        return torch.autograd.grad(feats, [x], cots)[0]

    reset_peak_rss()
    med, times, grad = timed(forward_grad, n)
    print("time forward_grad", f"{med:.3f}", " ".join(f"{x:.3f}" for x in times))
    print(f"mem forward_grad {peak_rss_gb():.3f} -")

    ours = os.path.join(d, "ours.safetensors")
    if os.path.exists(ours):
        info, start = read_safetensors(ours)
        with open(ours, "rb") as f:
            for name, theirs in (("eps", eps), ("grad.sample", grad)):
                if name in info:
                    o = load_tensor(f, info, start, name)
                    print(f"diff {name} {(o - theirs).abs().max().item():.3e} {theirs.abs().max().item():.3e}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
