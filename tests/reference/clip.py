"""Golden tensors for the CLIP text encoder (tests/models/clip/test_clip.c).

A second, independent implementation of transformers' CLIPTextModel (4.x,
models/clip/modeling_clip.py) in plain torch: the modules are named as
transformers names them, so the state_dict names are exactly those of a
diffusers text_encoder/model.safetensors, "text_model.embeddings.position_ids"
buffer included (older files hold it; the engine ignores it). The golden file
then doubles as a naming check.

A small config (hidden 32, 2 layers, 4 heads, intermediate 64, vocab 100,
77 positions) with random weights, all computed in float64 from the float32
values that are saved:
  weights.<name>                       the state_dict
  main.input_ids / main.last_hidden_state    batch 2, 77 tokens, quick_gelu
  short.input_ids / short.last_hidden_state  batch 1, 9 tokens (positions 0..8)
  gelu.last_hidden_state               main.input_ids with hidden_act "gelu"

Run from the repository root: /usr/bin/python3 tests/reference/clip.py
"""
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20240612
CONFIG = dict(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=64, max_position_embeddings=77, hidden_act="quick_gelu",
              layer_norm_eps=1e-5)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)))

    def forward(self, input_ids):
        t = input_ids.shape[-1]
        return self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:, :t])


class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.head_dim = c["hidden_size"] // self.heads
        self.scale = self.head_dim ** -0.5
        width = c["hidden_size"]
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.q_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, h, causal_mask):
        b, t, width = h.shape

        def heads(x):  # (B, T, C) -> (B*H, T, D)
            return x.view(b, t, self.heads, self.head_dim).transpose(1, 2).reshape(b * self.heads, t, self.head_dim)

        q = heads(self.q_proj(h) * self.scale)
        k = heads(self.k_proj(h))
        v = heads(self.v_proj(h))
        w = torch.bmm(q, k.transpose(1, 2)).view(b, self.heads, t, t) + causal_mask
        w = w.view(b * self.heads, t, t).softmax(dim=-1)
        o = torch.bmm(w, v).view(b, self.heads, t, self.head_dim).transpose(1, 2).reshape(b, t, width)
        return self.out_proj(o)


class CLIPMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.act = {"quick_gelu": quick_gelu, "gelu": gelu}[c["hidden_act"]]
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x, causal_mask):
        x = x + self.self_attn(self.layer_norm1(x), causal_mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, causal_mask):
        for layer in self.layers:
            x = layer(x, causal_mask)
        return x


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, input_ids):
        x = self.embeddings(input_ids)
        t = input_ids.shape[-1]
        # transformers' _build_causal_attention_mask: the dtype's lowest value above the diagonal
        mask = torch.full((t, t), torch.finfo(x.dtype).min, dtype=x.dtype).triu(1)[None, None]
        return self.final_layer_norm(self.encoder(x, mask))


class CLIPTextModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.text_model = CLIPTextTransformer(c)

    def forward(self, input_ids):
        return self.text_model(input_ids)  # last_hidden_state


def randomize(model):
    """Values well away from the defaults, so that every bias and norm matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn(p.shape))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape))
            elif "embedding" in name:
                p.copy_(torch.randn(p.shape))
            else:
                p.copy_(torch.randn(p.shape) / math.sqrt(p.shape[1]))


def main():
    torch.manual_seed(SEED)
    cases = Cases()
    model = CLIPTextModel(CONFIG)
    randomize(model)
    state = model.state_dict()  # float32, as saved
    cases.add("weights", **{name: t.clone() for name, t in state.items()})

    vocab = CONFIG["vocab_size"]
    # start token, content, end token, padding with the end token, as the tokenizer frames prompts
    ids = torch.randint(1, vocab - 2, (2, 77))
    ids[:, 0] = vocab - 2
    ids[0, 12:] = vocab - 1
    ids[1, 40:] = vocab - 1
    short = torch.randint(0, vocab, (1, 9))
    short[0, 0], short[0, 8] = 0, vocab - 1  # the first and the last row of the table

    model64 = CLIPTextModel(CONFIG).double()
    model64.load_state_dict(state)
    with torch.no_grad():
        cases.add("main", input_ids=ids, last_hidden_state=model64(ids))
        cases.add("short", input_ids=short, last_hidden_state=model64(short))
        gelu_model = CLIPTextModel(dict(CONFIG, hidden_act="gelu")).double()
        gelu_model.load_state_dict(state)
        cases.add("gelu", last_hidden_state=gelu_model(ids))

    out = os.path.join(os.path.dirname(__file__), "golden", "clip.safetensors")
    cases.save(out, "tests/reference/clip.py", SEED)
    print("wrote", out)


if __name__ == "__main__":
    main()
