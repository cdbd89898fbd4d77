"""Fixtures for the restricted .pt reader (core/io/torch_pt.c).

Writes, under tests/reference/golden/pt/:
  head.pt           torch.save of a fake readout head in the official layout
                    ({"config": {...}, "aggregation_network": state_dict,
                    "step": int}) with f32, f16 and bf16 tensors, a tensor that
                    is a strided, offset view into a larger storage, two
                    tensors sharing one storage and a nested dict;
  head.safetensors  the same tensors as f32 ("<flat name>"), for exact checks;
  evil_reduce.pt    a valid archive whose pickle calls os.system via GLOBAL +
                    REDUCE (never loaded by torch here);
  evil_build.pt     a pickle that uses BUILD on a list (state_dicts use BUILD
                    only to set OrderedDict._metadata);
  evil_reconstruct.pt  an ordinary object (copyreg._reconstructor + BUILD);
  evil_global.pt    a pickle that only names an unknown global.
Run from the repo root: /usr/bin/python3 tests/reference/torch_pt.py
"""
import collections
import io
import os
import pickle
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import save_safetensors, metadata  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "golden", "pt")
SEED = 0


def head():
    torch.manual_seed(SEED)
    sd = collections.OrderedDict()
    sd["mixing_weights"] = torch.ones(3)
    sd["bottleneck_layers.0.conv1.weight"] = torch.randn(4, 3, 1, 1)
    sd["bottleneck_layers.0.conv1.norm.weight"] = torch.randn(4).half()
    sd["bottleneck_layers.0.conv1.norm.bias"] = torch.randn(4).bfloat16()
    big = torch.randn(6, 7)
    sd["bottleneck_layers.0.conv2.weight"] = big[1:5:2, 2:7:2]   # offset + strides
    sd["bottleneck_layers.0.emb_layers.weight"] = big.t()         # transposed view
    sd["bottleneck_layers.0.emb_layers.bias"] = big[3]            # same storage again
    sd["output_head.0.weight"] = torch.randn(2, 2, 3, 3)
    sd["output_head.0.bias"] = torch.tensor(-0.0)                 # 0-dim
    sd["empty"] = torch.zeros(0, 5)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])  # as state_dict() sets it
    config = {
        "model_id": "runwayml/stable-diffusion-v1-5", "projection_dim": 384,
        "dims": [1280, 640, 320], "save_timestep": [0], "num_timesteps": 1000,
        "aggregation_kwargs": {"use_output_head": True, "output_head_channels": 3,
                               "bottleneck_sequential": False},
        "dataset_args": {"control_range": (-1, 1), "sparse_loss": False},
        "lr": 1e-3, "prompt": "", "negative_prompt": "caf\u00e9 \U0001F600",
        "big_int": 2**40, "neg": -7, "none": None,
    }
    return {"config": config, "aggregation_network": sd, "step": 5000,
            "extra": {"nested": {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}}}


def flat(prefix, obj, out):
    for k, v in obj.items():
        name = prefix + k
        if isinstance(v, torch.Tensor):
            out[name] = v.float().contiguous()
        elif isinstance(v, dict):
            flat(name + ".", v, out)
    return out


def rewrite_pickle(src, dst, pkl):
    """Copies archive @src to @dst with data.pkl replaced by @pkl (stored)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = pkl if info.filename.endswith("/data.pkl") else zin.read(info.filename)
            zout.writestr(info.filename, data)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class Thing:
    pass


def main():
    os.makedirs(OUT, exist_ok=True)
    h = head()
    torch.save(h, os.path.join(OUT, "head.pt"))
    save_safetensors(os.path.join(OUT, "head.safetensors"), flat("", h, {}),
                     metadata("tests/reference/torch_pt.py", SEED))
    small = os.path.join(OUT, "small.pt")
    torch.save({"a": torch.ones(2)}, small)
    rewrite_pickle(small, os.path.join(OUT, "evil_reduce.pt"), pickle.dumps({"x": Evil()}, protocol=2))
    t = Thing()
    t.a = 1
    rewrite_pickle(small, os.path.join(OUT, "evil_reconstruct.pt"), pickle.dumps({"x": t}, protocol=2))
    # {"x": [] with BUILD({})}: EMPTY_DICT BINUNICODE 'x' EMPTY_LIST EMPTY_DICT BUILD SETITEM STOP
    rewrite_pickle(small, os.path.join(OUT, "evil_build.pt"),
                   b"\x80\x02}X\x01\x00\x00\x00x]}bs.")
    # GLOBAL __main__.Thing alone (no REDUCE): refused at the GLOBAL itself.
    rewrite_pickle(small, os.path.join(OUT, "evil_global.pt"),
                   b"\x80\x02c__main__\nThing\nq\x00.")
    # Loads back with torch (sanity check of the official structure).
    back = torch.load(os.path.join(OUT, "head.pt"))
    assert torch.equal(back["aggregation_network"]["bottleneck_layers.0.conv2.weight"],
                       h["aggregation_network"]["bottleneck_layers.0.conv2.weight"])
    os.remove(small)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()
