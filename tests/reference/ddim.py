"""Golden tensors for core/diffusion (tests/diffusion/test_diffusion.c): the
DDIM schedule, DDIM steps, classifier-free guidance and the Adam(W) step, as
the official Readout Guidance code runs them with diffusers 0.21 and torch.

- schedule: diffusers' DDIMScheduler for SD ("scaled_linear", beta 0.00085 to
  0.012, 1000 steps) in float32, as diffusers computes it:
  torch.linspace(sqrt(b0), sqrt(b1), 1000, dtype=float32) ** 2, then
  cumprod(1 - betas). "Leading" timesteps with steps_offset 1 for a few N.
- steps: rg_helpers.get_xt_next written out (same expressions) in float64
  from float32 inputs, with alpha values taken from the float32 schedule
  (alphas_cumprod[t], or alphas_cumprod[0] for t = -1 as set_alpha_to_one is
  False): denoising with eta 0 and eta 1 (given noise), the last step to -1,
  the first inversion step (-1 -> 1) and a later one.
- cfg: eps_u + w_b (eps_c - eps_u) on the batch [uncond; cond].
- adam: torch.optim.AdamW(weight_decay=0) over 3 steps on float64 copies of a
  float32 parameter with given float32 gradients (zeros and tiny values
  included), for the official settings and for other ones.

Run from the repository root: /usr/bin/python3 tests/reference/ddim.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def schedule():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
    alphas = 1.0 - betas
    return torch.cumprod(alphas, dim=0)  # float32, as diffusers


def leading_timesteps(n):
    step_ratio = 1000 // n
    return (torch.arange(0, n) * step_ratio).round().flip(0) + 1


class Sched:
    def __init__(self, ac):
        self.alphas_cumprod = ac.double()
        self.final_alpha_cumprod = ac[0].double()


def get_xt_next(scheduler, et, t, next_t, xt, eta=0.0, variance_noise=None):
    """rg_helpers.get_xt_next with get_at_next for integer timesteps."""
    at = scheduler.alphas_cumprod[t] if t != -1 else scheduler.final_alpha_cumprod
    at_next = scheduler.alphas_cumprod[next_t] if next_t != -1 else scheduler.final_alpha_cumprod
    x0_t = (xt - et * (1 - at).sqrt()) / at.sqrt()
    if eta > 0:
        c1 = eta * ((1 - at / at_next) * (1 - at_next) / (1 - at)).sqrt()
    else:
        c1 = 0
    c2 = ((1 - at_next) - c1 ** 2).sqrt()
    xt_next = at_next.sqrt() * x0_t + c2 * et
    if eta > 0:
        xt_next = xt_next + c1 * variance_noise
    return xt_next, x0_t


def step_case(cases, sched, name, t, t_next, eta, shape):
    z = torch.randn(*shape)
    eps = torch.randn(*shape)
    noise = torch.randn(*shape)
    z_next, x0 = get_xt_next(sched, eps.double(), t, t_next, z.double(), eta, noise.double())
    cases.add(name, z=z, eps=eps, noise=noise, z_next=z_next, x0=x0,
              t=torch.tensor([t]), t_next=torch.tensor([t_next]), eta=torch.tensor([eta], dtype=torch.float32))
    print(f"step {name}: t {t} -> {t_next}, eta {eta}, |z_next| max {z_next.abs().max():.3f}")


def cfg_case(cases, name, b, scales, shape):
    eps = torch.randn(2 * b, *shape)
    e = eps.double()
    w = torch.tensor(scales, dtype=torch.float32)
    u, c = e[:b], e[b:]
    out = u + w.double().view(b, *([1] * len(shape))) * (c - u)
    cases.add(name, eps=eps, scales=w, out=out)


def adam_case(cases, name, shape, lr, betas, eps, n_steps):
    param = torch.randn(*shape)
    grads = torch.randn(n_steps, *shape)
    flat = grads.view(n_steps, -1)
    flat[:, 0] = 0          # no gradient: the element does not move
    flat[0, 1] = 1e-10      # tiny: |g| << eps on the first step
    flat[:, 2] = -3e-9
    flat[1, 3] = 1e4        # large
    p = param.double().clone().requires_grad_()
    opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=0)
    outs = []
    for k in range(n_steps):
        opt.zero_grad()
        p.grad = grads[k].double().clone()
        opt.step()
        outs.append(p.detach().clone())
    first = param.double() - lr * grads[0].double() / (grads[0].double().abs() + eps)
    assert torch.allclose(outs[0], first, rtol=0, atol=1e-15), "AdamW's first step is no longer a sign step"
    cases.add(name, param=param, grads=grads, params=torch.stack(outs),
              hyper=torch.tensor([lr, betas[0], betas[1], eps], dtype=torch.float64))
    print(f"adam {name}: lr {lr} betas {betas} eps {eps}, {n_steps} steps")


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    ac = schedule()
    cases.add("schedule", alphas_cumprod=ac)
    for n in (100, 50, 7, 1, 999):
        cases.add(f"timesteps{n}", t=leading_timesteps(n).long())
    sched = Sched(ac)
    shape = (2, 4, 5, 3)
    step_case(cases, sched, "denoise_eta0", 501, 491, 0.0, shape)
    step_case(cases, sched, "denoise_eta1", 991, 981, 1.0, shape)
    step_case(cases, sched, "denoise_eta05", 261, 241, 0.5, shape)
    step_case(cases, sched, "last", 1, -1, 0.0, shape)
    step_case(cases, sched, "invert_first", -1, 1, 0.0, shape)
    step_case(cases, sched, "invert", 491, 501, 0.0, shape)
    cfg_case(cases, "cfg", 2, [1.0, 3.5], (4, 3, 5))
    cfg_case(cases, "cfg1", 1, [7.5], (3, 2, 2))
    adam_case(cases, "adam", (2, 4, 3, 5), 0.02, (0.9, 0.999), 1e-8, 3)
    adam_case(cases, "adam_other", (7, 11), 0.1, (0.8, 0.99), 1e-6, 3)
    out = os.path.join(os.path.dirname(__file__), "golden", "ddim.safetensors")
    cases.save(out, "tests/reference/ddim.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
