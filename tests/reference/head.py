"""Reference for the readout heads (core/models/head/): the official
AggregationNetwork (readout_guidance_spec.md §1), written out here in plain
torch, and fixtures in the official .pt structure.

Writes:
  golden/heads/*.pt   torch.save({"config": {...}, "aggregation_network":
                      state_dict}) (zip format) with random non-trivial
                      weights (GroupNorm affine and mixing weights too):
    readout_tiny_spatial_pose.pt    spatial (output head 3 channels + tanh),
                                    P 16, num_norm_groups 4, dims of the
                                    "small" UNet of tests/reference/unet.py
                                    (32, 32, 16, 16: two layers without a
                                    shortcut conv as C == P), emb 64
    readout_tiny_drag_appearance.pt relative, P 128, default 32 groups,
                                    dims 48, 128, 24, emb 64
    dhf_correspondence.pt           DHF-style (bottleneck_sequential True,
                                    left to the constructor's default): keys
                                    bottleneck_layers.{l}.0.*, emb not passed
    bad_*.pt, tiny.pt, not_a_head.pt  small files for the strictness tests
  golden/head.safetensors  per case "<case>.": features.{l} (native sizes),
                      emb (when given), size (I64 out_h, out_w), out, dout
                      (a random cotangent), grad.features.{l}, grad.emb and,
                      for "spatial_emb", grad.<state_dict name> of a few
                      weights; metadata "<case>.head" = the fixture file.
                      float64 math from float32 inputs and weights.
Run from the repo root: /usr/bin/python3 tests/reference/head.py
"""
import collections
import copy
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases, metadata, save_safetensors  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
HEADS = os.path.join(GOLDEN, "heads")
SEED = 0


# ---- the module (spec §1.2, §1.6; dhf/aggregation_network.py) -------------

class ConvGN(nn.Conv2d):
    """Conv2d without bias followed by its own GroupNorm ("<name>.norm")."""

    def __init__(self, cin, cout, k, groups):
        super().__init__(cin, cout, k, padding=k // 2, bias=False)
        self.norm = nn.GroupNorm(groups, cout)

    def forward(self, x):
        return self.norm(F.conv2d(x, self.weight, None, 1, self.padding))


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, b, groups, emb_channels):
        super().__init__()
        # no shortcut conv when the channels already match (shortcut = x)
        self.shortcut = ConvGN(cin, cout, 1, groups) if cin != cout else None
        self.conv1 = ConvGN(cin, b, 1, groups)
        self.conv2 = ConvGN(b, b, 3, groups)
        self.conv3 = ConvGN(b, cout, 1, groups)
        self.emb_layers = nn.Linear(emb_channels, b)

    def forward(self, x, emb=None):
        out = F.relu(self.conv1(x))
        if emb is not None:
            if emb.shape[0] > out.shape[0]:
                emb = emb[:out.shape[0]]
            out = out + F.relu(self.emb_layers(emb))[:, :, None, None]
        out = F.relu(self.conv2(out))
        out = self.conv3(out)
        out = out + (self.shortcut(x) if self.shortcut is not None else x)
        return F.relu(out)


class Aggregation(nn.Module):
    def __init__(self, dims, projection_dim, emb_channels, num_norm_groups=32, use_output_head=False,
                 output_head_channels=3, output_head_act=True, bottleneck_sequential=True):
        super().__init__()
        self.dims = dims
        self.bottleneck_layers = nn.ModuleList()
        for c in dims:
            block = Bottleneck(c, projection_dim, projection_dim // 4, num_norm_groups, emb_channels)
            self.bottleneck_layers.append(nn.Sequential(block) if bottleneck_sequential else block)
        self.mixing_weights = nn.Parameter(torch.ones(len(dims)))
        self.use_output_head = use_output_head
        if use_output_head:
            layers = [nn.Conv2d(projection_dim, 128, 3, padding=1), nn.SiLU(),
                      nn.Conv2d(128, 32, 3, padding=1), nn.SiLU(),
                      nn.Conv2d(32, output_head_channels, 1)]
            if output_head_act:
                layers.append(nn.Tanh())
            self.output_head = nn.Sequential(*layers)

    def forward(self, batch, emb=None):
        mixing = torch.softmax(self.mixing_weights, dim=0)
        out, start = None, 0
        for i, c in enumerate(self.dims):
            block = self.bottleneck_layers[i]
            feats = batch[:, start:start + c]
            start += c
            # the official code passes emb only to blocks not wrapped in nn.Sequential
            y = block(feats) if isinstance(block, nn.Sequential) else block(feats, emb)
            y = mixing[i] * y
            out = y if out is None else out + y
        return self.output_head(out) if self.use_output_head else out


def randomize(net, gen):
    """Non-trivial weights everywhere: convs and linears kept at a scale where
    activations neither vanish nor saturate, GN affine around (1, 0), mixing
    weights spread."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name == "mixing_weights":
                p.copy_(torch.randn(p.shape, generator=gen))
            elif name.endswith("norm.weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            elif name.endswith("norm.bias") or name.endswith(".bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                scale = 1.5 if name.startswith("bottleneck_layers") else 0.7  # tanh not saturated
                p.copy_(torch.randn(p.shape, generator=gen) * (scale / fan_in ** 0.5))


# ---- fixtures -------------------------------------------------------------

def official_config(model_id, dims, projection_dim, aggregation_kwargs, dataset_args, run_id):
    """The fields the official training scripts write (spec §7)."""
    return {
        "model_id": model_id, "diffusion_mode": "generation", "num_timesteps": 1000, "save_timestep": [0],
        "prompt": "", "negative_prompt": "", "guidance_scale": -1, "projection_dim": projection_dim,
        "aggregation_kwargs": aggregation_kwargs, "weight_decay": 0, "max_steps": 5000,
        "val_every_n_steps": 1000, "lr": 1e-3, "batch_size": 8, "dataset_args": dataset_args,
        "output_resolution": 8, "load_resolution": 64, "id": run_id, "dims": list(dims),
        "wandb_kwargs": {"project": "readout"}, "results_folder": "results",
    }


def make_head(gen, dims, projection_dim, emb_channels, kwargs):
    net = Aggregation(dims, projection_dim, emb_channels, **kwargs)
    randomize(net, gen)
    return net


def save_pt(name, config, state_dict):
    path = os.path.join(HEADS, name)
    torch.save({"config": config, "aggregation_network": state_dict}, path)
    return path


HEAD_SPECS = {
    # spatial, for the "small" UNet of tests/reference/unet.py (features 32, 32, 16, 16; temb 64)
    "readout_tiny_spatial_pose.pt": dict(
        dims=[32, 32, 16, 16], projection_dim=16, emb=64,
        kwargs={"use_output_head": True, "output_head_channels": 3, "bottleneck_sequential": False,
                "output_head_act": True, "num_norm_groups": 4},
        model_id="tests/reference/unet.py:small",
        dataset_args={"control_type": "pose", "sparse_loss": True, "control_range": (-0.5, 0.5)}),
    # relative, the default 32 groups (not in the config)
    "readout_tiny_drag_appearance.pt": dict(
        dims=[48, 128, 24], projection_dim=128, emb=64,
        kwargs={"use_output_head": False, "bottleneck_sequential": False},
        model_id="tests/tiny-appearance-base",
        dataset_args={"sdedit_select": "strength-0.5_gs-3.5", "objectives": ["rs"]}),
    # DHF style: bottleneck_sequential absent -> the constructor's default True
    "dhf_correspondence.pt": dict(
        dims=[40, 20], projection_dim=128, emb=64, kwargs={"use_output_head": False},
        model_id="tests/tiny-dhf-base", dataset_args={"min_dist": 1, "max_dist": 24}),
}


def write_heads(gen):
    nets = {}
    for name, s in HEAD_SPECS.items():
        net = make_head(gen, s["dims"], s["projection_dim"], s["emb"], s["kwargs"])
        config = official_config(s["model_id"], s["dims"], s["projection_dim"], s["kwargs"], s["dataset_args"],
                                 name[:-3])
        path = save_pt(name, config, net.state_dict())
        back = torch.load(path)
        assert all(torch.equal(back["aggregation_network"][k], v) for k, v in net.state_dict().items())
        nets[name] = net
    return nets


def write_bad(gen):
    """One-layer relative heads (P 16, 4 groups, dims [8], emb 8), each broken in one way."""
    kw = {"use_output_head": False, "bottleneck_sequential": False, "num_norm_groups": 4}
    net = make_head(gen, [8], 16, 8, kw)
    sd = net.state_dict()
    cfg = official_config("tests/tiny", [8], 16, kw, {}, "tiny")

    def variant(name, config=None, state=None, **edits):
        c = copy.deepcopy(cfg if config is None else config)
        s = collections.OrderedDict(sd if state is None else state)
        for k, v in edits.items():
            k = k.replace("__", ".")
            if v is None:
                del s[k]
            else:
                s[k] = v
        save_pt(name, c, s)

    variant("tiny.pt")
    variant("bad_missing.pt", bottleneck_layers__0__conv2__norm__bias=None)
    variant("bad_extra.pt", bottleneck_layers__0__conv4__weight=torch.zeros(4, 4, 1, 1))
    variant("bad_shape.pt", bottleneck_layers__0__conv1__weight=torch.zeros(4, 7, 1, 1))
    variant("bad_mixing.pt", mixing_weights=torch.ones(2))
    two = copy.deepcopy(cfg)
    two["save_timestep"] = [0, 500]
    variant("bad_timesteps.pt", config=two, mixing_weights=torch.ones(2))
    nodims = copy.deepcopy(cfg)
    del nodims["dims"]
    variant("bad_nodims.pt", config=nodims)
    seq = collections.OrderedDict((k.replace("bottleneck_layers.0.", "bottleneck_layers.0.0."), v)
                                  for k, v in sd.items())
    variant("bad_sequential.pt", state=seq)  # the config says bottleneck_sequential False
    torch.save(sd, os.path.join(HEADS, "not_a_head.pt"))  # a bare state_dict


# ---- golden cases ---------------------------------------------------------

def run_case(cases, meta, case, net, head, shapes, out_size, emb_batch, gen, param_grads=()):
    """Features of @shapes (B, C_l, h_l, w_l), emb (emb_batch, E) or none."""
    feats = [torch.randn(s, generator=gen) for s in shapes]
    E = None
    for k, v in net.state_dict().items():
        if k.endswith("emb_layers.weight"):
            E = v.shape[1]
    emb = torch.randn(emb_batch, E, generator=gen) if emb_batch else None
    net64 = copy.deepcopy(net).double()
    f64 = [f.double().requires_grad_(True) for f in feats]
    e64 = emb.double().requires_grad_(True) if emb is not None else None
    H, W = out_size
    resized = [f if f.shape[2:] == (H, W) else
               F.interpolate(f, size=(H, W), mode="bilinear", align_corners=False) for f in f64]
    out = net64(torch.cat(resized, dim=1), e64)
    dout = torch.randn(out.shape, generator=gen)
    out.backward(dout.double())
    named = {"size": torch.tensor([H, W], dtype=torch.int64), "out": out.float(), "dout": dout}
    for i, (f, g) in enumerate(zip(feats, f64)):
        named[f"features.{i}"] = f
        named[f"grad.features.{i}"] = g.grad.float()
    if emb is not None:
        named["emb"] = emb
        # zero where the blocks do not take emb (DHF style)
        named["grad.emb"] = e64.grad.float() if e64.grad is not None else torch.zeros_like(emb)
    params = dict(net64.named_parameters())
    for p in param_grads:
        named[f"grad.{p}"] = params[p].grad.float()
    cases.add(case, **named)
    meta[f"{case}.head"] = head
    print(case, tuple(out.shape), "|out| max %.3f mean %.3f" % (out.abs().max().item(), out.abs().mean().item()))


def main():
    os.makedirs(HEADS, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    nets = write_heads(gen)
    write_bad(gen)
    cases = Cases()
    meta = metadata("tests/reference/head.py", SEED)
    sp, rel, dhf = (nets[n] for n in HEAD_SPECS)
    sp_name, rel_name, dhf_name = HEAD_SPECS
    # the small UNet's features of a 16x16 latent: 8x8 (32 ch) twice, 16x16 (16 ch) twice
    run_case(cases, meta, "spatial_emb", sp, sp_name, [(2, 32, 8, 8), (2, 32, 8, 8), (2, 16, 16, 16),
             (2, 16, 16, 16)], (16, 16), 2, gen,
             param_grads=["mixing_weights", "bottleneck_layers.0.conv1.weight",
                          "bottleneck_layers.3.emb_layers.weight", "output_head.0.weight"])
    # non-square, every feature resized (down and up), no emb
    run_case(cases, meta, "spatial_noemb", sp, sp_name, [(1, 32, 3, 4), (1, 32, 5, 3), (1, 16, 9, 7),
             (1, 16, 12, 10)], (7, 6), 0, gen)
    # one emb row for the batch (broadcast)
    run_case(cases, meta, "relative_emb1", rel, rel_name, [(2, 48, 3, 3), (2, 128, 6, 6), (2, 24, 8, 8)],
             (8, 8), 1, gen)
    # more emb rows than features: the official code keeps the first B
    run_case(cases, meta, "relative_trunc", rel, rel_name, [(2, 48, 2, 2), (2, 128, 4, 4), (2, 24, 6, 6)],
             (6, 6), 3, gen)
    run_case(cases, meta, "relative_noemb", rel, rel_name, [(1, 48, 4, 5), (1, 128, 6, 8), (1, 24, 6, 8)],
             (6, 8), 0, gen)
    # DHF style: emb given but not passed to the blocks
    run_case(cases, meta, "dhf_emb", dhf, dhf_name, [(2, 40, 3, 3), (2, 20, 6, 6)], (6, 6), 2, gen)
    out = os.path.join(GOLDEN, "head.safetensors")
    save_safetensors(out, cases.tensors, meta)
    for f in sorted(os.listdir(HEADS)):
        print(f, os.path.getsize(os.path.join(HEADS, f)))
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
