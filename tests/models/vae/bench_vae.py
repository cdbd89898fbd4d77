"""SD1.5 VAE timing: PyTorch (the reference module tree of
tests/reference/vae.py, float32, CPU) against Readout's bench_vae on the same
random weights and shapes, in the same run.

  /usr/bin/python3 tests/models/vae/bench_vae.py BUILD_DIR [SIZE] [THREADS]

SIZE is the image side (default 256; the latent side is SIZE/8), THREADS
defaults to 2. Writes the weights (335 MB) to a temporary file.
"""
import os
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import vae  # noqa: E402
from common import save_safetensors  # noqa: E402

SD15 = dict(block_out_channels=[128, 256, 512, 512], layers_per_block=2, norm_num_groups=32, latent_channels=4,
            in_channels=3, out_channels=3, use_quant_conv=True, use_post_quant_conv=True,
            mid_block_add_attention=True)


def best_of(n, fn):
    best = 1e30
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    build = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    model = vae.AutoencoderKL(SD15).float().eval()
    image = torch.rand(1, 3, size, size) * 2 - 1
    latent = torch.rand(1, 4, size // 8, size // 8) * 2 - 1

    def encode():
        with torch.no_grad():
            model.encode(image)

    def decode():
        with torch.no_grad():
            model.decode(latent)

    def decode_grad():
        z = latent.clone().requires_grad_(True)
        out = model.decode(z)
        (out * 1e-3).sum().backward()

    for p in model.parameters():
        p.requires_grad_(False)
    times = [best_of(2, f) for f in (encode, decode, decode_grad)]
    for what, t in zip(("encode", "decode", "decode+grad"), times):
        print(f"torch   {what:12s} {size}x{size}: {t:.3f} s ({threads} threads, torch {torch.__version__})")

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "vae.safetensors")
        save_safetensors(path, model.state_dict(), {})
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        exe = os.path.join(build, "tests", "models", "vae", "bench_vae")
        subprocess.run([exe, path, str(size), "2"], check=True, env=env)


if __name__ == "__main__":
    main()
