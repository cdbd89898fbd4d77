"""Golden tensors for the readout-head trainer's losses
(tests/train/test_head_train.c, core/train/head_train_loss.c): the official
training losses and their gradients.

- spatial: readout_training/train_spatial.py's loss (sparse_loss: 1/2 MSE
  over the elements whose target is control_range[0] + 1/2 MSE over the
  others; plain MSE without background, or for depth);
- cross entropy: F.cross_entropy (mean);
- InfoNCE: DHF's correspondence_utils.compute_clip_loss (flatten to
  (HW, C), L2-normalise without eps, logit_scale = 1/0.07, CE of the source
  rows against the target indices and back, averaged);
- triplet: readout_training/train_appearance.py's hinge (DreamSim style,
  the random target bit cancels): sum_b max(0, 0.5 + d(a, p) - d(a, n)),
  d = mean over pixels of 1 - F.cosine_similarity over channels;
- point indices: dataset.py's normalisation then DHF's points_to_idxs
  (np.clip, np.round).

Float64 math from float32 inputs, fixed seeds.
Run from the repository root: /usr/bin/python3 tests/reference/head_train.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import Cases  # noqa: E402

SEED = 0


def loss_spatial(pred, target, sparse, control_range):
    if sparse:
        bg = target == control_range[0]
        if bg.sum() == 0 or bg.sum() == bg.numel():
            return F.mse_loss(pred, target)
        return 0.5 * F.mse_loss(pred[bg], target[bg]) + 0.5 * F.mse_loss(pred[~bg], target[~bg])
    return F.mse_loss(pred, target)


def flatten_feats(f):  # (C, H, W) -> (HW, C)
    return f.reshape(f.shape[0], -1).permute(1, 0)


def normalize_feats(f):
    return f / torch.linalg.norm(f, dim=-1)[:, None]


def compute_clip_loss(f1, f2, source_idx, target_idx, temperature=0.07):
    f1 = normalize_feats(flatten_feats(f1[0]))
    f2 = normalize_feats(flatten_feats(f2[0]))
    scale = 1.0 / temperature
    sim_1_to_2 = scale * f1 @ f2.T
    sim_2_to_1 = scale * f2 @ f1.T
    l12 = F.cross_entropy(sim_1_to_2[source_idx, :], target_idx)
    l21 = F.cross_entropy(sim_2_to_1[target_idx, :], source_idx)
    return (l12 + l21) / 2


def triplet(a, p, n, margin=0.5):
    dp = (1 - F.cosine_similarity(a, p, dim=1)).flatten(1).mean(1)
    dn = (1 - F.cosine_similarity(a, n, dim=1)).flatten(1).mean(1)
    return torch.clamp(margin + dp - dn, min=0).sum()


def point_index(x, y, res, gh, gw):
    p = np.array([[x, y]], dtype=np.float32)
    p = np.clip(p / np.float32(res - 1), 0, 1)  # dataset.py: / (res - 1), clip
    p = p[:, ::-1] * np.array([gh, gw], dtype=np.float32)  # (y, x) * output size
    py = np.clip(p[:, 0], 0, gh - 1)
    px = np.clip(p[:, 1], 0, gw - 1)
    return int(gw * np.round(py)[0] + np.round(px)[0])


def with_grad(*xs):
    return [x.double().requires_grad_(True) for x in xs]


def main():
    torch.manual_seed(SEED)
    cases = Cases()

    # spatial: targets in (-0.5, 0.5) with background, and depth-like without
    pred = torch.rand(2, 3, 4, 5) - 0.5
    target = torch.where(torch.rand(2, 3, 4, 5) < 0.6, torch.tensor(-0.5), torch.rand(2, 3, 4, 5) - 0.5)
    for name, sparse, t in [("spatial_sparse", True, target), ("spatial_plain", False, target),
                            ("spatial_allbg", True, torch.full_like(target, -0.5))]:
        (p,) = with_grad(pred)
        loss = loss_spatial(p, t.double(), sparse, (-0.5, 0.5))
        loss.backward()
        cases.add(name, pred=pred, target=t, loss=loss.reshape(1), dpred=p.grad)

    # cross entropy
    logits = torch.randn(5, 7) * 3
    classes = torch.tensor([0, 6, 3, 3, 1])
    (lg,) = with_grad(logits)
    loss = F.cross_entropy(lg, classes)
    loss.backward()
    cases.add("ce", logits=logits, targets=classes, loss=loss.reshape(1), dlogits=lg.grad)

    # InfoNCE on non-negative readouts (the heads end in a ReLU), 6 matches on a 4x5 grid
    src = torch.relu(torch.randn(1, 8, 4, 5))
    tgt = torch.relu(torch.randn(1, 8, 4, 5)) + 0.01
    src = src + 0.01
    src_idx = torch.tensor([0, 3, 7, 7, 12, 19])
    tgt_idx = torch.tensor([1, 3, 8, 2, 12, 18])
    s, t = with_grad(src, tgt)
    loss = compute_clip_loss(s, t, src_idx, tgt_idx)
    loss.backward()
    cases.add("infonce", src=src, tgt=tgt, src_idx=src_idx, tgt_idx=tgt_idx, loss=loss.reshape(1), dsrc=s.grad,
              dtgt=t.grad)

    # triplet: sample 0 violates the margin, sample 1 (negative far away) does not
    a = torch.relu(torch.randn(2, 8, 4, 4)) + 0.01
    pos = torch.relu(torch.randn(2, 8, 4, 4)) + 0.01  # sample 0: an unrelated positive ...
    neg = a + 0.1 * torch.randn(2, 8, 4, 4)  # ... and a negative close to the anchor
    neg[1] = -a[1]  # sample 1: cosine -1, d(a, n) = 2, hinge inactive
    pos[1] = a[1]
    aa, pp, nn = with_grad(a, pos, neg)
    loss = triplet(aa, pp, nn)
    loss.backward()
    cases.add("triplet", anchor=a, positive=pos, negative=neg, loss=loss.reshape(1), danchor=aa.grad,
              dpositive=pp.grad, dnegative=nn.grad)

    # point indices
    pts = [(0, 0, 64, 32, 32), (63, 63, 64, 32, 32), (2, 40, 64, 32, 32), (31.5, 17.2, 64, 32, 32),
           (-4, 70, 64, 32, 32), (100.0, 7.98, 512, 64, 64), (511, 255.5, 512, 64, 64), (15.75, 15.75, 64, 32, 32)]
    cases.add("points", xy=torch.tensor([[p[0], p[1], p[2], p[3], p[4]] for p in pts], dtype=torch.float32),
              index=torch.tensor([point_index(*p) for p in pts], dtype=torch.int64))

    out = os.path.join(os.path.dirname(__file__), "golden", "head_train.safetensors")
    cases.save(out, "tests/reference/head_train.py", SEED)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
