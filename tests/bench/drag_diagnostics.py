"""Why the demo model does not move objects (issue 5): two experiments in
plain PyTorch, on the shipped demo model and heads (or others), with the
reference UNet and heads of tests/reference.

  localize  How well the correspondence head finds a dragged point: each
            scene and the same scene with its top object cut and pasted by
            the drag (its old place inpainted) are DDIM-inverted and
            denoised (25 steps, CFG 1); at every third step, the argmax of the
            cosine similarity between the source point's readout in the scene
            and the moved scene's readouts, in cells from where it should be,
            and the margin of that best match over the source cell.
  guide     A drag edit with the sampler of the fast preset (25 steps,
            reference readouts cached, CFG 1, a fresh Adam of --lr per guided
            step, --recurrent steps each, guided share --ratio), with either
            --loss heads (Readout Guidance: correspondence + (Lmax-Lmin)^2
            appearance, readout_guidance_spec.md 4.3, on the cond branch) or
            --loss oracle (a pixel-space stand-in: 10 x MSE between the
            model's x0 prediction and the moved scene). Prints the centre
            error and background PSNR as tests/bench/bench_quality measures
            them, and the median; with the heads, also the correspondence
            similarities at the target and at the source from the first to
            the last guided step.

The drags are those of bench_quality in kind (the top object's centre moved
6-16 px in a seeded direction) but drawn with numpy, so not the same ones.
Needs python3-torch and python3-pil; run from the repository root after a
build (it calls `readout demo-scene` and `readout probe text`):

  /usr/bin/python3 tests/bench/drag_diagnostics.py localize [--seeds 1000-1005]
  /usr/bin/python3 tests/bench/drag_diagnostics.py guide --loss heads|oracle [--recurrent N] [--ratio A,B]
                   [--lr W] [--appearance-scale S] [--model DIR] [--heads DIR] [--out DIR] [--build DIR]
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import head as reference_head  # noqa: E402
import unet as reference_unet  # noqa: E402
from ddim import schedule  # noqa: E402

STEPS = 25
ALPHAS = schedule().double()


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, v in header.items():
        a, b = v["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dtypes[v["dtype"]]).reshape(v["shape"]).copy())
    return tensors, meta


def frozen(module):
    module.float().eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class Demo:
    """The demo model (UNet, space-to-depth latent, text by the C engine) and two heads."""

    def __init__(self, readout, model_dir, heads_dir, tmp):
        self.readout, self.model_dir, self.tmp = readout, model_dir, tmp
        cfg = json.load(open(os.path.join(model_dir, "unet", "config.json")))
        self.unet = reference_unet.UNet2DConditionModel(cfg)
        weights, _ = load_safetensors(os.path.join(model_dir, "unet", "diffusion_pytorch_model.safetensors"))
        self.unet.load_state_dict({k: v.float() for k, v in weights.items()})
        frozen(self.unet)
        self.corr = self.load_head(os.path.join(heads_dir, "correspondence.safetensors"))
        self.app = self.load_head(os.path.join(heads_dir, "appearance.safetensors"))

    @staticmethod
    def load_head(path):
        weights, meta = load_safetensors(path)
        c = json.loads(meta["readout.head_config"])
        net = reference_head.Aggregation(c["dims"], c["projection_dim"], c["emb_dim"], c["norm_groups"],
                                         c["use_output_head"], c["output_channels"], c["output_act"],
                                         c["bottleneck_sequential"])
        net.load_state_dict(weights)
        return frozen(net)

    def text(self, prompt):
        out = os.path.join(self.tmp, "text.safetensors")
        subprocess.run([self.readout, "probe", "text", "--model", self.model_dir, "--prompt", prompt,
                        "--outputs", out], check=True, capture_output=True)
        return load_safetensors(out)[0]["last_hidden_state"].float()

    def scene(self, seed):
        png, labels, meta = (os.path.join(self.tmp, n) for n in ("scene.png", "labels.png", "scene.json"))
        subprocess.run([self.readout, "demo-scene", "--seed", str(seed), "--out", png, "--labels", labels,
                        "--meta", meta], check=True, capture_output=True)
        return np.array(Image.open(png).convert("RGB")), np.array(Image.open(labels)), json.load(open(meta))

    def eps(self, z, t, ctx):
        return self.unet(z, torch.tensor([float(t)]), ctx.expand(z.shape[0], -1, -1))

    def head_emb(self, t):  # --corrected-timestep heads: the embedding of 999 - t
        e = reference_unet.get_timestep_embedding(torch.tensor([999.0 - t]), self.unet.cfg["block_out_channels"][0],
                                                  True, 0.0).float()
        return self.unet.time_embedding(e)

    @staticmethod
    def readout_map(head, feats, emb=None):
        return head(torch.cat([F.interpolate(f, size=(32, 32), mode="bilinear", align_corners=False)
                               for f in feats], 1), emb)


def to_latent(img):
    return F.pixel_unshuffle(torch.from_numpy(img).float().permute(2, 0, 1)[None] / 127.5 - 1, 2)


def to_image(z):
    x = F.pixel_shuffle(z, 2)[0].permute(1, 2, 0)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()


def alpha(t):
    return ALPHAS[t] if t >= 0 else ALPHAS[0]


def ddim_step(z, eps, t, t_next):
    a, a_next = alpha(t), alpha(t_next)
    x0 = (z - eps * (1 - a).sqrt()) / a.sqrt()
    return (a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps).float()


def timesteps():
    return [i * (1000 // STEPS) + 1 for i in range(STEPS)][::-1]


def invert(m, z, ctx):
    ts = timesteps()[::-1]
    with torch.no_grad():
        for t_prev, t in zip([-1] + ts[:-1], ts):
            z = ddim_step(z, m.eps(z, t_prev, ctx)[0], t_prev, t)
    return z


def denoise_features(m, z, ctx):
    """The features of every step of the unguided DDIM trajectory from z."""
    ts, out = timesteps(), []
    with torch.no_grad():
        for i, t in enumerate(ts):
            eps, feats = m.eps(z, t, ctx)
            out.append(feats)
            z = ddim_step(z, eps, t, ts[i + 1] if i + 1 < STEPS else -1)
    return out


def inpaint(img, hole, iters=300):
    out = img.astype(float)
    out[hole] = out[~hole].mean(0)
    for _ in range(iters):
        p = np.pad(out, ((1, 1), (1, 1), (0, 0)), mode="edge")
        out[hole] = ((p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]) / 4)[hole]
    return out


def moved_scene(img, labels, label, dx, dy):
    """The object cut and pasted by (dx, dy), its old place inpainted."""
    hole = labels == label
    out = inpaint(img, hole)
    ys, xs = np.nonzero(hole)
    ok = (ys + dy >= 0) & (xs + dx >= 0) & (ys + dy < 64) & (xs + dx < 64)
    out[ys[ok] + dy, xs[ok] + dx] = img[ys[ok], xs[ok]]
    return out.round().clip(0, 255).astype(np.uint8)


def seeded_drag(seed, meta):
    """The top object's centre moved 6-16 px in a seeded direction, kept 4 px inside."""
    rng = np.random.default_rng(seed)
    k = len(meta["objects"]) - 1
    cx, cy = meta["objects"][k]["center"]
    for _ in range(50):
        length, angle = rng.uniform(6, 16), rng.uniform(0, 2 * math.pi)
        tx, ty = cx + length * math.cos(angle), cy + length * math.sin(angle)
        if 4 <= tx < 60 and 4 <= ty < 60:
            break
    return k + 1, (cx, cy, tx, ty), meta["objects"][k]["bbox"]


# ---- bench_quality's measures ---------------------------------------------------

def patch_score(src, labels, label, img, dx, dy):
    ys, xs = np.nonzero(labels == label)
    inside = (ys + dy >= 0) & (xs + dx >= 0) & (ys + dy < 64) & (xs + dx < 64)
    s = np.full(len(ys), 3 * 255.0 ** 2)
    d = src[ys[inside], xs[inside]].astype(float) - img[ys[inside] + dy, xs[inside] + dx].astype(float)
    s[inside] = (d ** 2).sum(1)
    return s.sum() / (3 * len(ys))


def measure(src, labels, label, out, pts, box):
    best, found = min((patch_score(src, labels, label, out, dx, dy), (dx, dy))
                      for dy in range(-24, 25) for dx in range(-24, 25))
    tdx, tdy = pts[2] - pts[0], pts[3] - pts[1]
    yy, xx = np.mgrid[0:64, 0:64]
    keep = np.ones((64, 64), bool)
    for ox, oy in ((0, 0), (tdx, tdy)):
        keep &= ~((xx >= box[0] + ox) & (xx < box[2] + ox) & (yy >= box[1] + oy) & (yy < box[3] + oy))
    mse = ((src[keep].astype(float) - out[keep].astype(float)) ** 2).mean()
    return math.hypot(found[0] - tdx, found[1] - tdy), (99.0 if mse == 0 else 10 * math.log10(255 ** 2 / mse)), found


# ---- the experiments -------------------------------------------------------------

def localize(m, seeds):
    ts = timesteps()
    for seed in seeds:
        img, labels, meta = m.scene(seed)
        ctx = m.text(meta["caption"])
        label, pts, _ = seeded_drag(seed, meta)
        dx, dy = round(pts[2] - pts[0]), round(pts[3] - pts[1])
        moved = moved_scene(img, labels, label, dx, dy)
        src_cell = (int(pts[1] / 2), int(pts[0] / 2))
        want = (int((pts[1] + dy) / 2), int((pts[0] + dx) / 2))
        f_src, f_moved = (denoise_features(m, invert(m, to_latent(x), ctx), ctx) for x in (img, moved))
        cols = []
        for i in range(0, STEPS, 3):
            with torch.no_grad():
                a = F.normalize(m.readout_map(m.corr, f_src[i])[0], dim=0)
                b = F.normalize(m.readout_map(m.corr, f_moved[i])[0], dim=0)
            sim = torch.einsum("c,chw->hw", a[:, src_cell[0], src_cell[1]], b)
            y, x = divmod(int(sim.argmax()), 32)
            cols.append(f"t{ts[i]}: {math.hypot(y - want[0], x - want[1]):.1f} cells "
                        f"(+{float(sim.max() - sim[src_cell]):.2f})")
        print(f"{seed} drag ({dx:+d}, {dy:+d}) px: " + ", ".join(cols), flush=True)


def correspondence_loss(gt, obs, pair):
    """readout_guidance_spec.md 4.3: -S(p1, p2)/2 + S(p1, p1)/2 with S = (cos + 1)/2; also
    (S(p1, p2), S(p1, p1)) as numbers."""
    a = F.normalize(gt[0].flatten(1), dim=0)
    b = F.normalize(obs[0].flatten(1), dim=0)
    i1, i2 = int(pair[0]) * 32 + int(pair[1]), int(pair[2]) * 32 + int(pair[3])
    at_target, at_source = ((a[:, i1] @ b[:, j] + 1) / 2 for j in (i2, i1))
    return -0.5 * at_target + 0.5 * at_source, (float(at_target), float(at_source))


def appearance_loss(gt, obs, lmin, lmax):
    return (lmax - lmin) ** 2 * (1 - F.cosine_similarity(obs, gt, dim=1, eps=1e-8)).mean()


def drag(m, img, ctx, pts, loss, target, recurrent, ratio, lr, appearance_scale):
    """The edited picture, and the correspondence similarities (at the target, at the source)
    before each guided update."""
    ts = timesteps()
    z_start = invert(m, to_latent(img), ctx)
    with torch.no_grad():
        ref = [(m.readout_map(m.corr, f), m.readout_map(m.app, f, m.head_emb(t)))
               for f, t in zip(denoise_features(m, z_start, ctx), ts)]
    pair = (pts[1] / 2, pts[0] / 2, pts[3] / 2, pts[2] / 2)
    z, similarities = z_start, []
    for i, t in enumerate(ts):
        if int(ratio[0] * STEPS) <= i < int(ratio[1] * STEPS):
            leaf = z.clone().requires_grad_(True)
            adam = torch.optim.Adam([leaf], lr=lr)  # fresh every step: its first step is lr * sign(grad)
            for _ in range(recurrent):
                eps, feats = m.eps(leaf, t, ctx)
                if loss == "oracle":
                    x0 = (leaf - (1 - alpha(t)).sqrt().float() * eps) / alpha(t).sqrt().float()
                    total = 10 * ((x0 - target) ** 2).mean()
                else:
                    total, sims = correspondence_loss(ref[i][0], m.readout_map(m.corr, feats), pair)
                    similarities.append(sims)
                    if appearance_scale:
                        total = total + appearance_scale * appearance_loss(
                            ref[i][1], m.readout_map(m.app, feats, m.head_emb(t)), float(leaf.min()),
                            float(leaf.max()))
                adam.zero_grad()
                total.backward()
                adam.step()
            z = leaf.detach()
        with torch.no_grad():
            z = ddim_step(z, m.eps(z, t, ctx)[0], t, ts[i + 1] if i + 1 < STEPS else -1)
    return to_image(z), similarities


def guide(m, seeds, args):
    ratio = tuple(float(v) for v in args.ratio.split(","))
    errors, psnrs = [], []
    for seed in seeds:
        img, labels, meta = m.scene(seed)
        ctx = m.text(meta["caption"])
        label, pts, box = seeded_drag(seed, meta)
        target = to_latent(moved_scene(img, labels, label, round(pts[2] - pts[0]), round(pts[3] - pts[1])))
        out, sims = drag(m, img, ctx, pts, args.loss, target, args.recurrent, ratio, args.lr, args.appearance_scale)
        err, psnr, found = measure(img, labels, label, out, pts, box)
        errors.append(err)
        psnrs.append(psnr)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            Image.fromarray(np.concatenate([img, out], 1)).save(os.path.join(args.out, f"{seed}.png"))
        print(f"{seed} centre error {err:5.2f} px (no-op {math.hypot(pts[2] - pts[0], pts[3] - pts[1]):5.2f}), "
              f"background PSNR {psnr:5.2f} dB, found at {found}" +
              (f"; similarity at the target {sims[0][0]:.2f} -> {sims[-1][0]:.2f}, "
               f"at the source {sims[0][1]:.2f} -> {sims[-1][1]:.2f}" if sims else ""), flush=True)
    print(f"median centre error {np.median(errors):.2f} px, median background PSNR {np.median(psnrs):.2f} dB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["localize", "guide"])
    ap.add_argument("--seeds", default="1000-1005", help="first-last scene seeds")
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "demo", "model"))
    ap.add_argument("--heads", default=os.path.join(ROOT, "data", "demo", "heads"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--loss", choices=["heads", "oracle"], default="heads")
    ap.add_argument("--recurrent", type=int, default=1)
    ap.add_argument("--ratio", default="0,0.5")
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--appearance-scale", type=float, default=1.0, help="0: the correspondence term alone")
    ap.add_argument("--out", help="write source | result pictures here")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    first, last = (int(v) for v in args.seeds.split("-"))
    with tempfile.TemporaryDirectory() as tmp:
        m = Demo(os.path.join(args.build, "core", "readout"), args.model, args.heads, tmp)
        if args.what == "localize":
            localize(m, range(first, last + 1))
        else:
            guide(m, range(first, last + 1), args)


if __name__ == "__main__":
    main()
