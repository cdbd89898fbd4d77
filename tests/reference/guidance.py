"""Golden tensors for core/guidance (tests/guidance/test_guidance.c): the three
Readout Guidance losses and their gradients with respect to obs.

The reference functions below follow the official
readout_guidance/rg_operators.py (loss_spatial, loss_correspondence with
get_cosine_similarity / process_points, loss_appearance) step by step, with
einops' rearranges written as permutes: maps are (1, C, H, W) here and the
official code holds them as (b, h, w, c). The correspondence builds the full
HW x HW similarity matrix as the official code does. Float64 math from
float32 inputs; gt is detached as in loss_guidance.

Run from the repository root: /usr/bin/python3 tests/reference/guidance.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def renormalize(x, range_a, range_b):
    min_a, max_a = range_a
    min_b, max_b = range_b
    return ((x - min_a) / (max_a - min_a)) * (max_b - min_b) + min_b


def loss_spatial(obs, control, control_range, latents_scale):
    obs = renormalize(obs, control_range, latents_scale)
    control = renormalize(control[0][None].clone(), control_range, latents_scale)
    control = F.interpolate(control, tuple(obs.shape[2:]))  # nearest; a no-op at the same size
    return F.mse_loss(obs, control, reduction="none").mean()


def get_cosine_similarity(a, b):
    # a, b (b, h, w, c) -> (b, hw, c), L2-normalised without eps
    a = a.reshape(a.shape[0], -1, a.shape[-1])
    b = b.reshape(b.shape[0], -1, b.shape[-1])
    a = a / torch.linalg.norm(a, dim=-1)[:, :, None]
    b = b / torch.linalg.norm(b, dim=-1)[:, :, None]
    sims = torch.matmul(a, b.permute((0, 2, 1)))
    return (sims + 1) / 2


def process_points(points, h, w):
    points = points.long()
    p1, p2 = points[0], points[1]
    valid = lambda p: (p[..., 0] >= 0) & (p[..., 0] < h) & (p[..., 1] >= 0) & (p[..., 1] < w)  # noqa: E731
    v = valid(p1) & valid(p2)
    return p1[v], p2[v]


def loss_correspondence(obs, gt, points):
    obs_feat = obs.permute(0, 2, 3, 1)  # 'b c h w -> b h w c'
    gt_feat = gt.permute(0, 2, 3, 1)
    sims = get_cosine_similarity(gt_feat, obs_feat)
    _, h, w, _ = gt_feat.shape
    p1, p2 = process_points(points, h, w)
    i1 = p1[..., 0] * w + p1[..., 1]
    i2 = p2[..., 0] * w + p2[..., 1]
    loss = -sims[:, i1, i2].mean()
    return loss * 0.5 + sims[:, i1, i1].mean() * 0.5, len(i1)


def loss_appearance(obs, gt, bbox, latents_scale):
    if bbox is not None:
        gt_bbox, obs_bbox = bbox
        _, _, w, h = obs.shape
        obs = obs[:, :, obs_bbox[1]:obs_bbox[3], obs_bbox[0]:obs_bbox[2]]
        gt = gt[:, :, gt_bbox[1]:gt_bbox[3], gt_bbox[0]:gt_bbox[2]]
        obs = F.interpolate(obs, size=(w, h), mode="bilinear")
        gt = F.interpolate(gt, size=(w, h), mode="bilinear")
    loss = (1 - F.cosine_similarity(obs, gt, dim=1)).mean()
    return loss * (latents_scale[1] - latents_scale[0]) ** 2


def with_grad(f, obs, *args):
    o = obs.double().requires_grad_()
    out = f(o, *args)
    loss = out[0] if isinstance(out, tuple) else out
    loss.backward()
    return loss.detach().reshape(1), o.grad, out


def spatial_case(cases, name, shape, control_range, latents_scale):
    cmin, cmax = control_range
    obs = torch.rand(*shape) * (cmax - cmin) + cmin
    control = torch.rand(*shape) * (cmax - cmin) + cmin
    loss, dobs, _ = with_grad(loss_spatial, obs, control.double(), control_range, latents_scale)
    cases.add(name, obs=obs, control=control, loss=loss, dobs=dobs,
              ranges=torch.tensor([cmin, cmax, latents_scale[0], latents_scale[1]], dtype=torch.float32))
    print(f"spatial {name}: {tuple(shape)} loss {loss.item():.6g}")


def correspondence_case(cases, name, shape, points):
    """points: (y1, x1, y2, x2) rows, float, in grid cells."""
    obs = torch.randn(*shape)
    gt = torch.randn(*shape)
    pts = torch.tensor(points, dtype=torch.float32)  # (K, 4)
    official = torch.stack([pts[:, 0:2], pts[:, 2:4]])  # edit["points"] (2, K, 2) in (y, x)
    loss, dobs, (_, n_valid) = with_grad(loss_correspondence, obs, gt.double(), official)
    cases.add(name, obs=obs, gt=gt, pairs=pts, loss=loss, dobs=dobs)
    print(f"correspondence {name}: {tuple(shape)}, {n_valid} of {len(points)} pairs valid, loss {loss.item():.6g}")


def appearance_case(cases, name, shape, bbox, latents_scale):
    obs = torch.randn(*shape)
    gt = obs + 0.7 * torch.randn(*shape)  # related, so that the cosines spread
    loss, dobs, _ = with_grad(loss_appearance, obs, gt.double(), bbox, latents_scale)
    cases.add(name, obs=obs, gt=gt, loss=loss, dobs=dobs,
              lrange=torch.tensor(latents_scale, dtype=torch.float32))
    if bbox is not None:
        cases.add(name, boxes=torch.tensor(bbox, dtype=torch.int64))
    print(f"appearance {name}: {tuple(shape)}, boxes {bbox}, loss {loss.item():.6g}")


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    # SD heads' control_range is [-1, 1]; latent min/max of a noisy batch
    spatial_case(cases, "spatial", (1, 3, 9, 7), (-1.0, 1.0), (-3.25, 2.75))
    spatial_case(cases, "spatial01", (1, 3, 8, 8), (0.0, 1.0), (-1.5, 4.0))
    # (y1, x1, y2, x2): in the grid, fractional (truncated), -0.5 (truncates
    # to 0, kept), out of the grid (dropped: y = H, x = -1.2, far away),
    # a duplicate and a pair with src == dst
    pts8 = [[1.0, 2.0, 3.0, 4.0],
            [5.7, 0.2, 6.9, 7.99],
            [-0.5, 3.3, 0.0, -0.9],
            [2.0, 2.0, 8.0, 1.0],
            [4.0, -1.2, 4.0, 4.0],
            [1.0, 2.0, 3.0, 4.0],
            [7.0, 7.0, 7.0, 7.0],
            [100.0, 3.0, 2.0, 2.0]]
    correspondence_case(cases, "corr", (1, 24, 8, 8), pts8)
    # non-square (H 9, W 7): y and x swapped would index other cells
    pts97 = [[8.5, 6.5, 0.0, 0.0],
             [3.2, 1.1, 6.0, 5.9],
             [0.0, 7.0, 1.0, 1.0],   # x = W: dropped
             [2.0, 6.0, 8.0, 2.0],
             [9.0, 0.0, 1.0, 1.0]]   # y = H: dropped
    correspondence_case(cases, "corr97", (1, 24, 9, 7), pts97)
    correspondence_case(cases, "corr1", (1, 5, 4, 6), [[3.0, 5.0, 0.0, 1.0]])
    # a batch of 2 (the official code uses 1; the means then run over it too)
    correspondence_case(cases, "corr_n2", (2, 8, 5, 6), [[1.0, 2.0, 4.0, 5.0], [0.0, 0.0, 2.0, 3.0]])
    appearance_case(cases, "app", (1, 24, 9, 7), None, (-3.25, 2.75))
    # [x0, y0, x1, y1], end exclusive; crops of different sizes
    appearance_case(cases, "app_box", (1, 24, 9, 7), [[1, 2, 6, 8], [0, 0, 4, 5]], (-2.0, 3.0))
    appearance_case(cases, "app_full_box", (1, 16, 8, 8), [[0, 0, 8, 8], [2, 1, 7, 8]], (-1.0, 1.0))
    appearance_case(cases, "app_n2", (2, 8, 5, 6), [[1, 1, 5, 4], [0, 2, 3, 5]], (-1.0, 2.0))
    out = os.path.join(os.path.dirname(__file__), "golden", "guidance.safetensors")
    cases.save(out, "tests/reference/guidance.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
