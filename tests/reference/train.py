"""Golden tensors for tests/train/test_train.c: torch.optim.AdamW with
gradient clipping (torch.nn.utils.clip_grad_norm_) over several tensors for
three steps, and an EMA of the weights as diffusers' EMAModel updates it.

Run from the repository root:  /usr/bin/python3 tests/reference/train.py
Writes tests/reference/golden/train.safetensors.

Cases (three parameters p0 (3,4), p1 (5), p2 (2,3,2,2)):
  adamw.*  lr 0.01, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01, clip at
           max_norm 1.0; grads.S.I is the gradient of parameter I given at
           step S (before clipping; steps 0 and 2 are clipped, step 1 is not),
           param.S.I the parameter after step S, exp_avg / exp_avg_sq the
           moments after the last step, norm.S the total norm
           clip_grad_norm_ returned.
  ema.*    EMAModel(decay=0.9, no update_after_step, no warm-up power) over
           the same parameters after each AdamW step: shadow.S.I after the
           update that follows step S, decay.S the decay it used.
"""
import sys

import torch

sys.path.insert(0, "tests/reference")
from common import Cases  # noqa: E402

SEED = 5
torch.manual_seed(SEED)
torch.set_default_dtype(torch.float32)

shapes = [(3, 4), (5,), (2, 3, 2, 2)]
params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
init = [p.detach().clone() for p in params]
opt = torch.optim.AdamW(params, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)

cases = Cases()
for i, p in enumerate(init):
    cases.add("adamw", **{f"init.{i}": p})

# diffusers EMAModel (training_utils.py) with decay 0.9, update_after_step 0,
# use_ema_warmup False, min_decay 0: the shadow starts as a copy.
shadow = [p.detach().clone().double() for p in params]
ema_max = 0.9


def ema_decay(optimization_step):
    step = max(0, optimization_step - 0 - 1)
    if step <= 0:
        return 0.0
    return max(min((1 + step) / (10 + step), ema_max), 0.0)


scales = [3.0, 0.05, 10.0]  # total norms above, below and far above 1
for s in range(3):
    grads = [torch.randn(sh) * scales[s] for sh in shapes]
    for i, g in enumerate(grads):
        cases.add("adamw", **{f"grads.{s}.{i}": g})
        params[i].grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    cases.add("adamw", **{f"norm.{s}": norm.reshape(1)})
    opt.step()
    for i, p in enumerate(params):
        cases.add("adamw", **{f"param.{s}.{i}": p.detach().clone()})
    d = ema_decay(s + 1)
    cases.add("ema", **{f"decay.{s}": torch.tensor([d])})
    for i, p in enumerate(params):
        # s_param.sub_(one_minus_decay * (s_param - param)), in float64 here
        shadow[i] -= (1 - d) * (shadow[i] - p.detach().double())
        cases.add("ema", **{f"shadow.{s}.{i}": shadow[i].float()})

for i, p in enumerate(params):
    st = opt.state[p]
    cases.add("adamw", **{f"exp_avg.{i}": st["exp_avg"], f"exp_avg_sq.{i}": st["exp_avg_sq"]})

cases.save("tests/reference/golden/train.safetensors", "tests/reference/train.py", SEED)
print("wrote tests/reference/golden/train.safetensors")
