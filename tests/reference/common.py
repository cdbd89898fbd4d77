"""Shared helpers for the PyTorch reference scripts: a minimal safetensors
writer (the safetensors package is not in Debian 12) and seeded inputs."""
import json
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32",
          torch.float16: "F16", torch.bfloat16: "BF16"}


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float64:
            t = t.float()
        if t.dtype in (torch.float16, torch.bfloat16):
            data = t.view(torch.int16).numpy().tobytes()  # numpy has no bfloat16
        else:
            data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def metadata(script, seed):
    return {"generator": script, "command": " ".join(sys.argv), "seed": seed,
            "torch": torch.__version__}


class Cases:
    """Collects named tensors case by case: cases.add("c1", inp=x, out=y)."""

    def __init__(self):
        self.tensors = {}

    def add(self, case, **named):
        for k, v in named.items():
            self.tensors[f"{case}.{k}"] = v

    def save(self, path, script, seed):
        save_safetensors(path, self.tensors, metadata(script, seed))
