"""Golden tensors for the VAE (AutoencoderKL, SD1.5 "kl-f8") on small configs.

A second, independent implementation in plain torch (Debian 12 has no
diffusers). The module tree follows diffusers' AutoencoderKL exactly
(autoencoders/autoencoder_kl.py, autoencoders/vae.py, resnet.py,
downsampling.py, upsampling.py, attention_processor.py,
unet_2d_blocks.py), so state_dict() yields diffusers' tensor names, which
the golden file stores under "<case>.weights.": the C test loads them by
those names, so the file doubles as a naming check.

Computation is float64 from float32 weights and inputs. Per case:
  weights.*        the state dict (f32)
  image            (B, Cin, H, W) in [-1, 1]
  mean, logvar     encode(image); logvar clamped to [-30, 20]
  cot_mean, cot_logvar, dimage   d<cot_mean, mean> + <cot_logvar, logvar> / d image
  latent           (B, L, H/f, W/f), independent of image
  decoded          decode(latent)
  cot_decoded, dlatent           d<cot_decoded, decoded> / d latent
  s_mean, s_logvar, s_noise, s_out, s_cot, s_dmean, s_dlogvar, s_dnoise
                   sample = mean + exp(0.5 logvar) noise and its VJP
The metadata "<case>.config" holds the case's diffusers config.json.

Run from the repository root: /usr/bin/python3 tests/reference/vae.py
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from common import metadata, save_safetensors  # noqa: E402

SEED = 20240611
EPS = 1e-6  # every VAE GroupNorm (vae.py, unet_2d_blocks.py resnet_eps)


class ResnetBlock2D(nn.Module):
    """resnet.py ResnetBlock2D with temb_channels=None, output_scale_factor=1."""

    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=EPS, affine=True)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=EPS, affine=True)
        self.dropout = nn.Dropout(0.0)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1, 1, 0) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Attention(nn.Module):
    """attention_processor.py Attention as the VAE mid block builds it: one
    head of dim C, group_norm, q/k/v/out Linear with bias, residual."""

    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=EPS, affine=True)
        self.to_q = nn.Linear(c, c, bias=True)
        self.to_k = nn.Linear(c, c, bias=True)
        self.to_v = nn.Linear(c, c, bias=True)
        self.to_out = nn.ModuleList([nn.Linear(c, c, bias=True), nn.Dropout(0.0)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).view(b, c, h * w).transpose(1, 2)  # (B, HW, C)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        p = torch.softmax(q @ k.transpose(1, 2) * c ** -0.5, dim=-1)
        o = self.to_out[1](self.to_out[0](p @ v))
        return x + o.transpose(1, 2).reshape(b, c, h, w)


class UNetMidBlock2D(nn.Module):
    def __init__(self, c, groups, add_attention):
        super().__init__()
        self.add_attention = add_attention
        self.attentions = nn.ModuleList([Attention(c, groups)] if add_attention else [])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, groups), ResnetBlock2D(c, c, groups)])

    def forward(self, x):
        x = self.resnets[0](x)
        if self.add_attention:
            x = self.attentions[0](x)
        return self.resnets[1](x)


class Downsample2D(nn.Module):
    """downsampling.py Downsample2D(use_conv=True, padding=0): pad right and
    bottom by one, then conv3x3 stride 2 without padding."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownEncoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, add_downsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups) for i in range(layers)])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if add_downsample else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
        return x


class UpDecoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, add_upsample):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if i == 0 else cout, cout, groups) for i in range(layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_upsample else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class Encoder(nn.Module):
    """vae.py Encoder with double_z=True."""

    def __init__(self, cfg):
        super().__init__()
        boc, g = cfg["block_out_channels"], cfg["norm_num_groups"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, 1, 1)
        self.down_blocks = nn.ModuleList([])
        out_c = boc[0]
        for i, c in enumerate(boc):
            in_c, out_c = out_c, c
            self.down_blocks.append(DownEncoderBlock2D(in_c, out_c, cfg["layers_per_block"], g, i < len(boc) - 1))
        self.mid_block = UNetMidBlock2D(boc[-1], g, cfg["mid_block_add_attention"])
        self.conv_norm_out = nn.GroupNorm(g, boc[-1], eps=EPS)
        self.conv_out = nn.Conv2d(boc[-1], 2 * cfg["latent_channels"], 3, 1, 1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        x = self.mid_block(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Decoder(nn.Module):
    """vae.py Decoder: up blocks in reversed channel order, layers_per_block + 1 resnets each."""

    def __init__(self, cfg):
        super().__init__()
        boc, g = cfg["block_out_channels"], cfg["norm_num_groups"]
        self.conv_in = nn.Conv2d(cfg["latent_channels"], boc[-1], 3, 1, 1)
        self.mid_block = UNetMidBlock2D(boc[-1], g, cfg["mid_block_add_attention"])
        self.up_blocks = nn.ModuleList([])
        rev = list(reversed(boc))
        out_c = rev[0]
        for i, c in enumerate(rev):
            prev, out_c = out_c, c
            self.up_blocks.append(UpDecoderBlock2D(prev, out_c, cfg["layers_per_block"] + 1, g, i < len(boc) - 1))
        self.conv_norm_out = nn.GroupNorm(g, boc[0], eps=EPS)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, 1, 1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        lc = cfg["latent_channels"]
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * lc, 2 * lc, 1) if cfg["use_quant_conv"] else None
        self.post_quant_conv = nn.Conv2d(lc, lc, 1) if cfg["use_post_quant_conv"] else None

    def encode(self, x):
        m = self.encoder(x)
        if self.quant_conv is not None:
            m = self.quant_conv(m)
        mean, logvar = torch.chunk(m, 2, dim=1)  # DiagonalGaussianDistribution
        return mean, torch.clamp(logvar, -30.0, 20.0)

    def decode(self, z):
        if self.post_quant_conv is not None:
            z = self.post_quant_conv(z)
        return self.decoder(z)


def diffusers_config(c):
    """A diffusers vae/config.json for case config c."""
    n = len(c["block_out_channels"])
    out = {"_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0", "act_fn": "silu",
           "block_out_channels": c["block_out_channels"], "down_block_types": ["DownEncoderBlock2D"] * n,
           "up_block_types": ["UpDecoderBlock2D"] * n, "in_channels": c["in_channels"],
           "out_channels": c["out_channels"], "latent_channels": c["latent_channels"],
           "layers_per_block": c["layers_per_block"], "norm_num_groups": c["norm_num_groups"],
           "sample_size": 32, "scaling_factor": c["scaling_factor"], "force_upcast": True,
           "latents_mean": None, "latents_std": None, "shift_factor": None,
           "use_quant_conv": c["use_quant_conv"], "use_post_quant_conv": c["use_post_quant_conv"],
           "mid_block_add_attention": c["mid_block_add_attention"]}
    return json.dumps(out, indent=2)


CASES = {
    # three levels (index reversal in the decoder, two downsamplers), attention,
    # quant convs; quant_conv's bias pushes logvar channels 0 and 1 past the clamp
    "a": dict(block_out_channels=[8, 16, 24], layers_per_block=1, norm_num_groups=4, latent_channels=4,
              in_channels=3, out_channels=3, scaling_factor=0.18215, use_quant_conv=True,
              use_post_quant_conv=True, mid_block_add_attention=True, image=(2, 3, 16, 16), clamp=True),
    # two levels with two encoder / three decoder resnets each, group size 1 at
    # level 0, a non-square image, 3 latent and 2 output channels, and the
    # optional parts switched off
    "b": dict(block_out_channels=[8, 16], layers_per_block=2, norm_num_groups=8, latent_channels=3,
              in_channels=3, out_channels=2, scaling_factor=0.5, use_quant_conv=False,
              use_post_quant_conv=False, mid_block_add_attention=False, image=(1, 3, 8, 24), clamp=False),
}


def randomize(model):
    """Default init for convs/linears; norms get non-trivial affine terms.
    Everything rounded to f32, then held in f64."""
    for name, p in model.named_parameters():
        with torch.no_grad():
            if "norm" in name and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
            elif "norm" in name and name.endswith("bias"):
                p.uniform_(-0.3, 0.3)
            elif name.endswith("bias"):
                p.uniform_(-0.2, 0.2)
    model.float()
    model.double()


def run_case(name, c, tensors, meta):
    model = AutoencoderKL(c)
    randomize(model)
    if c["clamp"]:
        with torch.no_grad():
            lc = c["latent_channels"]
            model.quant_conv.bias[lc + 0] += 40.0  # logvar channel 0 above 20
            model.quant_conv.bias[lc + 1] -= 50.0  # logvar channel 1 below -30
    for k, v in model.state_dict().items():
        tensors[f"{name}.weights.{k}"] = v.float()

    f = 2 ** (len(c["block_out_channels"]) - 1)
    b, _, h, w = c["image"]
    lc = c["latent_channels"]

    def rnd(*shape, lo=-1.0, hi=1.0):
        return (torch.rand(*shape) * (hi - lo) + lo).float().double()

    image = rnd(b, c["in_channels"], h, w).requires_grad_(True)
    mean, logvar = model.encode(image)
    cot_mean, cot_logvar = rnd(*mean.shape), rnd(*logvar.shape)
    (dimage,) = torch.autograd.grad((mean * cot_mean).sum() + (logvar * cot_logvar).sum(), image)
    if c["clamp"]:
        assert (logvar[:, 0] == 20).all() and (logvar[:, 1] == -30).all()
        assert (logvar[:, 2:].abs() < 20).all()

    latent = rnd(b, lc, h // f, w // f, lo=-2.0, hi=2.0).requires_grad_(True)
    decoded = model.decode(latent)
    cot_decoded = rnd(*decoded.shape)
    (dlatent,) = torch.autograd.grad((decoded * cot_decoded).sum(), latent)

    s_mean = rnd(b, lc, h // f, w // f, lo=-2.0, hi=2.0).requires_grad_(True)
    s_logvar = rnd(b, lc, h // f, w // f, lo=-3.0, hi=3.0).requires_grad_(True)
    s_noise = torch.randn(b, lc, h // f, w // f).float().double().requires_grad_(True)
    s_out = s_mean + torch.exp(0.5 * s_logvar) * s_noise
    s_cot = rnd(*s_out.shape)
    s_dmean, s_dlogvar, s_dnoise = torch.autograd.grad((s_out * s_cot).sum(), (s_mean, s_logvar, s_noise))

    for k, v in dict(image=image, mean=mean, logvar=logvar, cot_mean=cot_mean, cot_logvar=cot_logvar,
                     dimage=dimage, latent=latent, decoded=decoded, cot_decoded=cot_decoded, dlatent=dlatent,
                     s_mean=s_mean, s_logvar=s_logvar, s_noise=s_noise, s_out=s_out, s_cot=s_cot,
                     s_dmean=s_dmean, s_dlogvar=s_dlogvar, s_dnoise=s_dnoise).items():
        tensors[f"{name}.{k}"] = v.detach().float()
    meta[f"{name}.config"] = diffusers_config(c)
    print(f"case {name}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"mean {tuple(mean.shape)}, decoded {tuple(decoded.shape)}")


def main():
    torch.manual_seed(SEED)
    tensors, meta = {}, metadata("tests/reference/vae.py", SEED)
    for name, c in CASES.items():
        run_case(name, c, tensors, meta)
    path = os.path.join(os.path.dirname(__file__), "golden", "vae.safetensors")
    save_safetensors(path, tensors, meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
