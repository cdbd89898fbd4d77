"""Reference for the UNet (tests/models/unet/test_unet.c): diffusers'
UNet2DConditionModel written again in plain PyTorch (diffusers is not in
Debian 12), with the module structure of diffusers so that its state_dict
names are diffusers' names (the golden file doubles as a naming check).

It follows diffusers models/unets/unet_2d_condition.py, unet_2d_blocks.py
(CrossAttnDownBlock2D, DownBlock2D, UNetMidBlock2DCrossAttn,
CrossAttnUpBlock2D, UpBlock2D), resnet.py (ResnetBlock2D), downsampling.py /
upsampling.py, transformers/transformer_2d.py, attention.py
(BasicTransformerBlock, FeedForward), activations.py (GEGLU),
attention_processor.py (Attention) and embeddings.py (get_timestep_embedding,
TimestepEmbedding). Channel bookkeeping uses diffusers' formulas, not a skip
stack, so it is an independent check of the C code's.

Computes in float64 from float16 weights and float32 inputs. Writes
tests/reference/golden/unet.safetensors: per case, "<case>.weights.<name>"
(F16, diffusers names), the inputs, eps, features.K (conv2 outputs of the
up-block resnets before the residual add), and the gradients of
<cot, eps> and of sum_K <cot_K, features.K> with respect to the sample and
encoder_hidden_states; the config as JSON in the metadata "<case>.config".

Run from the repository root: /usr/bin/python3 tests/reference/unet.py
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases, metadata, save_safetensors  # noqa: E402

SEED = 20261121


# ---- building blocks (diffusers names) -------------------------------------

def get_timestep_embedding(t, dim, flip_sin_to_cos, shift, max_period=10000):
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float64) / (half - shift)
    emb = t[:, None].double() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1 = nn.Linear(cin, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.dropout = nn.Dropout(0.0)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None
        self.feature = None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        self.feature = h  # the decoder feature: conv2's output before the residual add
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Attention(nn.Module):
    def __init__(self, dim, heads, dim_head, cross_dim=None):
        super().__init__()
        inner = heads * dim_head
        kv = cross_dim if cross_dim is not None else dim
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(kv, inner, bias=False)
        self.to_v = nn.Linear(kv, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim), nn.Dropout(0.0)])

    def forward(self, x, context=None):
        context = x if context is None else context
        B, T, _ = x.shape
        S = context.shape[1]
        H = self.heads
        q = self.to_q(x).view(B, T, H, -1).transpose(1, 2)        # (B, H, T, D)
        k = self.to_k(context).view(B, S, H, -1).transpose(1, 2)  # (B, H, S, D)
        v = self.to_v(context).view(B, S, H, -1).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        a = torch.softmax(scores, dim=-1) @ v                    # (B, H, T, D)
        a = a.transpose(1, 2).reshape(B, T, -1)
        return self.to_out[1](self.to_out[0](a))


class GEGLU(nn.Module):
    def __init__(self, din, dout):
        super().__init__()
        self.proj = nn.Linear(din, dout * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, cross_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, heads, dim_head)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, heads, dim_head, cross_dim)
        self.norm3 = nn.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    def __init__(self, heads, dim_head, cin, depth, cross_dim, groups, linear):
        super().__init__()
        inner = heads * dim_head
        self.linear = linear
        self.norm = nn.GroupNorm(groups, cin, eps=1e-6)
        self.proj_in = nn.Linear(cin, inner) if linear else nn.Conv2d(cin, inner, 1)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner, heads, dim_head, cross_dim) for _ in range(depth)])
        self.proj_out = nn.Linear(inner, cin) if linear else nn.Conv2d(inner, cin, 1)

    def forward(self, x, context):
        B, C, H, W = x.shape
        residual = x
        h = self.norm(x)
        if not self.linear:
            h = self.proj_in(h)
            inner = h.shape[1]
            h = h.permute(0, 2, 3, 1).reshape(B, H * W, inner)
        else:
            h = h.permute(0, 2, 3, 1).reshape(B, H * W, C)
            h = self.proj_in(h)
        for blk in self.transformer_blocks:
            h = blk(h, context)
        if not self.linear:
            h = h.reshape(B, H, W, -1).permute(0, 3, 1, 2)
            h = self.proj_out(h)
        else:
            h = self.proj_out(h)
            h = h.reshape(B, H, W, -1).permute(0, 3, 1, 2)
        return h + residual


class DownBlock(nn.Module):  # CrossAttnDownBlock2D (attn) or DownBlock2D
    def __init__(self, cin, cout, temb, n, attn, heads, depth, cross, groups, eps, linear, add_down):
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups, eps) for i in range(n)])
        if attn:
            self.attentions = nn.ModuleList(
                [Transformer2DModel(heads, cout // heads, cout, depth, cross, groups, linear) for _ in range(n)])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if add_down else None

    def forward(self, h, temb, ctx):
        out = ()
        for i, r in enumerate(self.resnets):
            h = r(h, temb)
            if self.attentions is not None:
                h = self.attentions[i](h, ctx)
            out += (h,)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            out += (h,)
        return h, out


class UpBlock(nn.Module):  # CrossAttnUpBlock2D (attn) or UpBlock2D
    def __init__(self, cin, cout, prev, temb, n, attn, heads, depth, cross, groups, eps, linear, add_up):
        super().__init__()
        res = []
        for i in range(n):
            skip = cin if i == n - 1 else cout
            rin = prev if i == 0 else cout
            res.append(ResnetBlock2D(rin + skip, cout, temb, groups, eps))
        self.resnets = nn.ModuleList(res)
        if attn:
            self.attentions = nn.ModuleList(
                [Transformer2DModel(heads, cout // heads, cout, depth, cross, groups, linear) for _ in range(n)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if add_up else None

    def forward(self, h, skips, temb, ctx, features):
        for i, r in enumerate(self.resnets):
            s = skips[-1]
            skips = skips[:-1]
            h = torch.cat([h, s], dim=1)
            h = r(h, temb)
            features.append(r.feature)
            if self.attentions is not None:
                h = self.attentions[i](h, ctx)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class MidBlock(nn.Module):  # UNetMidBlock2DCrossAttn
    def __init__(self, c, temb, heads, depth, cross, groups, eps, linear):
        super().__init__()
        self.attentions = nn.ModuleList([Transformer2DModel(heads, c // heads, c, depth, cross, groups, linear)])
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb, groups, eps) for _ in range(2)])

    def forward(self, h, temb, ctx):
        h = self.resnets[0](h, temb)
        h = self.attentions[0](h, ctx)
        return self.resnets[1](h, temb)


def per_level(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        boc = cfg["block_out_channels"]
        L = len(boc)
        self.cfg = cfg
        groups, eps = cfg["norm_num_groups"], cfg["norm_eps"]
        cross, linear = cfg["cross_attention_dim"], cfg.get("use_linear_projection", False)
        heads = per_level(cfg["attention_head_dim"], L)
        layers = per_level(cfg["layers_per_block"], L)
        depth = per_level(cfg.get("transformer_layers_per_block", 1), L)
        temb = boc[0] * 4
        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], temb)
        self.down_blocks = nn.ModuleList([])
        self.up_blocks = nn.ModuleList([])
        out = boc[0]
        for i, kind in enumerate(cfg["down_block_types"]):
            cin, out = out, boc[i]
            self.down_blocks.append(DownBlock(cin, out, temb, layers[i], kind == "CrossAttnDownBlock2D", heads[i],
                                              depth[i], cross, groups, eps, linear, i != L - 1))
        self.mid_block = MidBlock(boc[-1], temb, heads[-1], depth[-1], cross, groups, eps, linear)
        rboc, rheads, rlayers, rdepth = boc[::-1], heads[::-1], layers[::-1], depth[::-1]
        out = rboc[0]
        for i, kind in enumerate(cfg["up_block_types"]):
            prev, out = out, rboc[i]
            cin = rboc[min(i + 1, L - 1)]
            self.up_blocks.append(UpBlock(cin, out, prev, temb, rlayers[i] + 1, kind == "CrossAttnUpBlock2D",
                                          rheads[i], rdepth[i], cross, groups, eps, linear, i != L - 1))
        self.conv_norm_out = nn.GroupNorm(groups, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, ctx):
        cfg = self.cfg
        t = timestep.expand(sample.shape[0]) if timestep.shape[0] == 1 else timestep
        temb = get_timestep_embedding(t, cfg["block_out_channels"][0], cfg["flip_sin_to_cos"], cfg["freq_shift"])
        temb = self.time_embedding(temb.to(sample.dtype))
        h = self.conv_in(sample)
        skips = (h,)
        for b in self.down_blocks:
            h, res = b(h, temb, ctx)
            skips += res
        h = self.mid_block(h, temb, ctx)
        features = []
        for b in self.up_blocks:
            n = len(b.resnets)
            res, skips = skips[-n:], skips[:-n]
            h = b(h, res, temb, ctx, features)
        eps = self.conv_out(F.silu(self.conv_norm_out(h)))
        return eps, features


# ---- cases ------------------------------------------------------------------

def init_weights(model, gen):
    """Random weights with O(1) activations, rounded to float16."""
    sd = {}
    for name, p in model.named_parameters():
        if name.endswith(".weight") and p.dim() >= 2:
            fan_in = p[0].numel()
            v = torch.randn(p.shape, generator=gen) / math.sqrt(fan_in)
        elif "norm" in name and name.endswith(".weight"):
            v = 1 + 0.1 * torch.randn(p.shape, generator=gen)
        else:
            v = 0.1 * torch.randn(p.shape, generator=gen)
        v = v.half()
        sd[name] = v
        with torch.no_grad():
            p.copy_(v.double())
    return sd


def make_case(cases, meta, case, cfg, batch, size, tokens, timesteps, feature_cots, gen):
    torch.manual_seed(SEED)
    model = UNet2DConditionModel(cfg).double()
    for p in model.parameters():
        p.requires_grad_(False)
    weights = init_weights(model, gen)
    sample = torch.randn(batch, cfg["in_channels"], size, size, generator=gen)
    t = torch.tensor(timesteps, dtype=torch.float32)
    ctx = torch.randn(batch, tokens, cfg["cross_attention_dim"], generator=gen)

    def run():
        x = sample.double().requires_grad_(True)
        c = ctx.double().requires_grad_(True)
        eps, feats = model(x, t.double(), c)
        return x, c, eps, feats

    x, c, eps, feats = run()
    named = {f"weights.{k}": v for k, v in weights.items()}
    named.update(sample=sample, timestep=t, encoder_hidden_states=ctx, eps=eps.float())
    for k, f in enumerate(feats):
        named[f"features.{k}"] = f.float()
    # <cot, eps>
    cot_eps = torch.randn(eps.shape, generator=gen)
    gx, gc = torch.autograd.grad(eps, [x, c], cot_eps.double())
    named.update({"cotangent.eps": cot_eps, "grad_eps.sample": gx.float(),
                  "grad_eps.encoder_hidden_states": gc.float()})
    # sum_K <cot_K, features.K>
    x, c, eps, feats = run()
    outs, cots = [], []
    for k in feature_cots:
        cot = torch.randn(feats[k].shape, generator=gen)
        named[f"cotangent.features.{k}"] = cot
        outs.append(feats[k])
        cots.append(cot.double())
    gx, gc = torch.autograd.grad(outs, [x, c], cots)
    named.update({"grad_features.sample": gx.float(), "grad_features.encoder_hidden_states": gc.float()})
    cases.add(case, **named)
    meta[f"{case}.config"] = json.dumps(cfg)
    meta[f"{case}.n_features"] = len(feats)
    print(case, {k: tuple(v.shape) for k, v in named.items() if not k.startswith("weights.")})
    print(case, "parameters", sum(v.numel() for v in weights.values()))


def main():
    gen = torch.Generator().manual_seed(SEED)
    cases = Cases()
    meta = metadata("tests/reference/unet.py", SEED)
    # SD1.5's structure, narrow: attention at level 0 only (CrossAttn down / up
    # blocks), a channel-changing resnet with conv_shortcut, a downsampler and
    # an upsampler, 1x1-conv proj_in/proj_out, 16x16 latent, batch 2.
    small = {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.21.4",
        "act_fn": "silu", "attention_head_dim": 2, "block_out_channels": [16, 32],
        "center_input_sample": False, "cross_attention_dim": 24,
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "downsample_padding": 1,
        "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 1,
        "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 8, "out_channels": 4,
        "sample_size": 16, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "use_linear_projection": False, "upcast_attention": False, "dual_cross_attention": False,
        "class_embed_type": None, "num_class_embeds": None, "only_cross_attention": False,
        "resnet_time_scale_shift": "default",
    }
    make_case(cases, meta, "small", small, batch=2, size=16, tokens=5, timesteps=[801.0, 51.0],
              feature_cots=[0, 3], gen=gen)
    # SD2/SDXL-style options: linear proj_in/proj_out, per-level heads, two
    # transformer blocks at level 0, per-level resnet counts, attention
    # everywhere, sin-first embedding with freq_shift 1, one timestep for the batch.
    lin = {
        "_class_name": "UNet2DConditionModel", "attention_head_dim": [2, 4], "block_out_channels": [8, 16],
        "cross_attention_dim": 12, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "flip_sin_to_cos": False, "freq_shift": 1, "in_channels": 4, "layers_per_block": [1, 2],
        "norm_eps": 1e-05, "norm_num_groups": 4, "out_channels": 3,
        "transformer_layers_per_block": [2, 1],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "use_linear_projection": True,
    }
    make_case(cases, meta, "lin", lin, batch=2, size=8, tokens=3, timesteps=[500.0],
              feature_cots=[1, 4], gen=gen)
    out = os.path.join(os.path.dirname(__file__), "golden", "unet.safetensors")
    save_safetensors(out, cases.tensors, meta)
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
