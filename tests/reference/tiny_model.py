"""A tiny random-weight Stable Diffusion model in diffusers layout, for the
pipeline tests: tests/data/tiny-sd/ with model_index.json, unet/, vae/,
text_encoder/ (config.json + safetensors, diffusers / transformers names) and
tokenizer/ (a small CLIP-layout BPE vocabulary).

The modules are the plain-torch references of tests/reference/{unet,vae,clip}.py
with small configs; weights are random with O(1) activations. The model
generates nothing meaningful: the tests check the machinery (shapes, the
guidance lowering its loss, inversion round trips), not pictures.

Run from the repository root: /usr/bin/python3 tests/reference/tiny_model.py
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import save_safetensors  # noqa: E402
import clip as clip_ref  # noqa: E402
import tokenizer as tok_ref  # noqa: E402
import unet as unet_ref  # noqa: E402
import vae as vae_ref  # noqa: E402

SEED = 20261126
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "tiny-sd")

UNET = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.21.4", "act_fn": "silu",
    "attention_head_dim": 2, "block_out_channels": [32, 64], "center_input_sample": False,
    "cross_attention_dim": 32, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 1, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 8,
    "out_channels": 4, "sample_size": 16, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "use_linear_projection": False,
}
VAE = dict(block_out_channels=[16, 32], layers_per_block=1, norm_num_groups=8, latent_channels=4,
           in_channels=3, out_channels=3, scaling_factor=0.18215, use_quant_conv=True,
           use_post_quant_conv=True, mid_block_add_attention=True)
WORDS = ["a", "red", "blue", "green", "ball", "box", "star", "cat", "on", "the", "photo", "of", "sky"]


def vocabulary():
    """CLIP's layout: 256 byte characters, the same with </w>, merges, then the
    two special tokens."""
    chars = list(tok_ref.bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars]
    merges = []
    for w in WORDS:  # merge each word left to right into one token
        parts = list(w[:-1]) + [w[-1] + "</w>"]
        while len(parts) > 1:
            pair = (parts[0], parts[1])
            merged = pair[0] + pair[1]
            if pair not in merges:
                merges.append(pair)
                vocab.append(merged)
            parts = [merged] + parts[2:]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(vocab)}, merges


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))


def save(folder, filename, model, config):
    os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    sd = {k: v.half() for k, v in model.state_dict().items()}  # half the size; loaded as F32
    save_safetensors(os.path.join(OUT, folder, filename), sd, {"format": "pt"})
    with open(os.path.join(OUT, folder, "config.json"), "w") as f:
        f.write(config if isinstance(config, str) else json.dumps(config, indent=2))
    return sum(v.numel() for v in sd.values())


def main():
    gen = torch.Generator().manual_seed(SEED)
    vocab, merges = vocabulary()
    clip_cfg = dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=64, max_position_embeddings=77, hidden_act="quick_gelu",
                    layer_norm_eps=1e-5)
    unet = unet_ref.UNet2DConditionModel(UNET)
    randomize(unet, gen)
    with torch.no_grad():  # eps of a trained model's size (about unit variance), so that DDIM inverts well
        unet.conv_out.weight.mul_(0.1)
        unet.time_embedding.linear_1.weight.mul_(0.05)  # and varies slowly with t, as a trained model's does
    n = save("unet", "diffusion_pytorch_model.safetensors", unet, UNET)
    vae = vae_ref.AutoencoderKL(VAE)
    randomize(vae, gen)
    n += save("vae", "diffusion_pytorch_model.safetensors", vae, vae_ref.diffusers_config(VAE))
    text = clip_ref.CLIPTextModel(clip_cfg)
    randomize(text, gen)
    n += save("text_encoder", "model.safetensors", text,
              dict(clip_cfg, architectures=["CLIPTextModel"], model_type="clip_text_model",
                   bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"]))
    os.makedirs(os.path.join(OUT, "tokenizer"), exist_ok=True)
    with open(os.path.join(OUT, "tokenizer", "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(OUT, "tokenizer", "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    with open(os.path.join(OUT, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.21.4",
                   "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"]}, f, indent=2)
    print(f"wrote {OUT}: {n} parameters, vocabulary {len(vocab)}")


if __name__ == "__main__":
    main()
