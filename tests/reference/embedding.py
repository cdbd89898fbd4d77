"""Golden tensors for core/ops/embedding.c: diffusers' get_timestep_embedding
(scale=1, max_period=10000), forward and the gradient of the timesteps.

The reference is computed in float64 from float32 timesteps ("out", "dt").
For comparison each case also stores diffusers' own float32 result
("out_f32"): diffusers rounds frequencies and angles t * freq to float32,
which at t = 999 moves the angle by up to ~1e-4 rad; the maximum difference
is printed.

Run from the repository root: /usr/bin/python3 tests/reference/embedding.py
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def get_timestep_embedding(timesteps, embedding_dim, flip_sin_to_cos=False, downscale_freq_shift=1.0,
                           scale=1.0, max_period=10000, dtype=torch.float32):
    """diffusers.models.embeddings.get_timestep_embedding (diffusers is not in
    Debian), with the working dtype as a parameter: float32 is diffusers."""
    assert len(timesteps.shape) == 1, "Timesteps should be a 1d-array"
    half_dim = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(start=0, end=half_dim, dtype=dtype)
    exponent = exponent / (half_dim - downscale_freq_shift)
    emb = torch.exp(exponent)
    emb = timesteps[:, None].to(dtype) * emb[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half_dim:], emb[:, :half_dim]], dim=-1)
    if embedding_dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


def case(cases, name, t, dim, flip, shift):
    t = torch.tensor(t, dtype=torch.float32)
    t64 = t.double().requires_grad_()
    y = get_timestep_embedding(t64, dim, flip, shift, dtype=torch.float64)
    y32 = get_timestep_embedding(t, dim, flip, shift)
    dout = torch.randn(*y.shape)
    y.backward(dout.double())
    print(f"{name}: dim {dim} flip {flip} shift {shift}, |diffusers f32 - f64| = "
          f"{(y32.double() - y).abs().max():.2e}")
    cases.add(name, t=t, out=y, out_f32=y32, dout=dout, dt=t64.grad,
              params=torch.tensor([dim, int(flip), shift], dtype=torch.float32))


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    case(cases, "sd15", [999.0, 981.0, 500.5, 1.0, 0.0], 320, True, 0.0)  # SD 1.5's time_proj
    case(cases, "noflip_shift1", [999.0, 37.25, 3.0], 320, False, 1.0)
    case(cases, "odd", [999.0, 12.0], 33, True, 0.0)                      # zero-padded column
    case(cases, "small", [0.5, -2.0, 7.0], 8, False, 1.0)
    case(cases, "dim1", [5.0], 1, False, 1.0)                             # no frequencies, one zero column
    out = os.path.join(os.path.dirname(__file__), "golden", "embedding.safetensors")
    cases.save(out, "tests/reference/embedding.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
