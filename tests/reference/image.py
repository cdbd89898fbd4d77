"""References for core/image (tests/image/test_image.c).

Writes
- tests/reference/golden/image.safetensors: PIL 9's Image.resize (BILINEAR,
  NEAREST) and convert("L") outputs for seeded images, as F32 (H, W, C)
  arrays of 0..255 values, and the expected 8-bit decoding of every seed PNG;
- tests/fuzz/corpus/png/*.png: small PNGs of every colour type, bit depth,
  transparency and interlace, written by the minimal encoder below (not by
  libpng, so that the C test checks libpng's decoding through our loader
  against an independent writer). They are the fuzzer's seeds too.

RGBA is resized band by band: PIL premultiplies alpha first, core/image does
not (see core/image/resize.c).

Run from the repository root: /usr/bin/python3 tests/reference/image.py
"""
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 1234
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def f32(a):
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    return torch.from_numpy(a.astype(np.float32))


def seeded_image(rng, h, w, c):
    """Smooth shapes plus noise, so that filters have edges and gradients to work on."""
    y, x = np.mgrid[0:h, 0:w]
    out = []
    for ch in range(c):
        fx, fy = rng.uniform(0.05, 0.6, 2)
        base = 127.5 + 100 * np.sin(fx * x + ch) * np.cos(fy * y - ch)
        base += rng.normal(0, 25, (h, w))
        out.append(base)
    return np.clip(np.rint(np.stack(out, -1)), 0, 255).astype(np.uint8)


def pil(a):
    return Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a, {1: "L", 3: "RGB", 4: "RGBA"}[a.shape[2]])


def resize_bands(a, size, resample):
    """PIL's resize of each band on its own (what core/image does for every mode)."""
    bands = [np.asarray(Image.fromarray(a[:, :, c], "L").resize(size, resample)) for c in range(a.shape[2])]
    return np.stack(bands, -1)


def resize_cases(cases, rng):
    # name, (h, w, c), (out_w, out_h), filter
    specs = [
        ("down_rgb", (61, 97, 3), (13, 7), Image.BILINEAR),
        ("mild_rgb", (61, 97, 3), (50, 40), Image.BILINEAR),
        ("up_grey", (5, 7, 1), (23, 17), Image.BILINEAR),
        ("mixed_rgba", (9, 31, 4), (12, 20), Image.BILINEAR),
        ("only_v", (15, 20, 3), (20, 31), Image.BILINEAR),
        ("only_h", (15, 20, 3), (41, 15), Image.BILINEAR),
        ("shrink_one", (33, 40, 1), (1, 1), Image.BILINEAR),
        ("near_down", (61, 97, 3), (13, 7), Image.NEAREST),
        ("near_up", (5, 7, 1), (23, 17), Image.NEAREST),
        ("near_odd", (30, 30, 4), (7, 11), Image.NEAREST),
        ("near_tenth", (10, 3, 1), (30, 100), Image.NEAREST),
    ]
    for name, (h, w, c), size, resample in specs:
        a = seeded_image(rng, h, w, c)
        if c == 4 and resample == Image.BILINEAR:
            out = resize_bands(a, size, resample)
        else:
            out = np.asarray(pil(a).resize(size, resample))
        cases.add(name, inp=f32(a), out=f32(out),
                  filter=torch.tensor([0 if resample == Image.BILINEAR else 1], dtype=torch.int64))
    for name, c in (("grey_rgb", 3), ("grey_rgba", 4)):
        a = seeded_image(rng, 9, 11, c)
        cases.add(name, inp=f32(a), out=f32(np.asarray(pil(a).convert("L"))))


# ---- a minimal PNG encoder ---------------------------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def scanlines(samples, depth):
    """(h, w, n) integer samples -> filtered (type 0) scanlines."""
    h, w, n = samples.shape
    out = b""
    for row in samples.reshape(h, w * n):
        if depth == 16:
            data = row.astype(">u2").tobytes()
        elif depth == 8:
            data = row.astype(np.uint8).tobytes()
        else:
            bits = np.unpackbits(row.astype(np.uint8)[:, None], axis=1)[:, 8 - depth:].reshape(-1)
            data = np.packbits(bits).tobytes()
        out += b"\0" + data
    return out


def encode_png(samples, color, depth, interlace=False, palette=None, trns=None, extra=b""):
    h, w, _ = samples.shape
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 1 if interlace else 0)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += scanlines(sub, depth)
    else:
        raw = scanlines(samples, depth)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
    if palette is not None:
        png += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        png += chunk(b"tRNS", trns)
    return png + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def seed_pngs(cases, rng):
    """The seeds and what core/image must decode them to (8 bits, 1, 3 or 4 channels)."""
    corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", "png")
    os.makedirs(corpus, exist_ok=True)
    seeds = {}
    # grey of 1, 2, 4 bits: the sample's bits repeated to fill 8 (v * 255 / (2^d - 1))
    for depth, h, w, inter in ((1, 5, 11, False), (2, 9, 7, True), (4, 4, 6, False)):
        g = rng.integers(0, 1 << depth, (h, w, 1))
        seeds[f"grey{depth}{'_adam7' if inter else ''}"] = (encode_png(g, 0, depth, inter),
                                                           g * 255 // ((1 << depth) - 1))
    g = rng.integers(0, 65536, (6, 5, 1))
    seeds["grey16"] = (encode_png(g, 0, 16), g >> 8)
    # grey with a transparent value -> RGBA
    g = rng.integers(0, 16, (5, 6, 1))
    alpha = np.where(g == 3, 0, 255)
    seeds["grey4_trns"] = (encode_png(g, 0, 4, trns=struct.pack(">H", 3)),
                           np.concatenate([g * 17] * 3 + [alpha], -1))
    rgb = rng.integers(0, 256, (9, 10, 3))
    seeds["rgb8_adam7"] = (encode_png(rgb, 2, 8, True, extra=chunk(b"tEXt", b"Comment\0seed")), rgb)
    rgb = rng.integers(0, 65536, (3, 4, 3))
    seeds["rgb16"] = (encode_png(rgb, 2, 16, extra=chunk(b"gAMA", struct.pack(">I", 45455))), rgb >> 8)
    rgb = rng.integers(0, 256, (4, 4, 3))
    rgb[0, 0] = (10, 20, 30)
    mask = np.all(rgb == (10, 20, 30), -1)
    seeds["rgb8_trns"] = (encode_png(rgb, 2, 8, trns=struct.pack(">HHH", 10, 20, 30)),
                          np.concatenate([rgb, np.where(mask, 0, 255)[:, :, None]], -1))
    ga = rng.integers(0, 256, (5, 5, 2))
    seeds["ga8"] = (encode_png(ga, 4, 8), np.concatenate([ga[:, :, :1]] * 3 + [ga[:, :, 1:]], -1))
    rgba = rng.integers(0, 65536, (7, 3, 4))
    seeds["rgba16_adam7"] = (encode_png(rgba, 6, 16, True), rgba >> 8)
    pal = rng.integers(0, 256, (4, 3))
    idx = rng.integers(0, 4, (6, 9, 1))
    seeds["palette2"] = (encode_png(idx, 3, 2, palette=pal), pal[idx[:, :, 0]])
    pal = rng.integers(0, 256, (200, 3))
    trns = rng.integers(0, 256, 50)  # entries past the tRNS list are opaque
    idx = rng.integers(0, 200, (8, 8, 1))
    full_alpha = np.concatenate([trns, np.full(150, 255)])
    seeds["palette8_trns_adam7"] = (encode_png(idx, 3, 8, True, palette=pal, trns=trns.astype(np.uint8).tobytes()),
                                    np.concatenate([pal[idx[:, :, 0]], full_alpha[idx[:, :, 0]][:, :, None]], -1))
    for name, (data, expected) in seeds.items():
        with open(os.path.join(corpus, name + ".png"), "wb") as f:
            f.write(data)
        cases.add("seed_" + name, out=f32(expected))
        # PIL agrees on what it can show in 8 bits (it keeps 16-bit grey as I;16)
        if name not in ("grey16", "rgb16", "rgba16_adam7", "grey4_trns", "rgb8_trns"):
            im = Image.open(os.path.join(corpus, name + ".png"))
            im = im.convert({1: "L", 3: "RGB", 4: "RGBA"}[expected.shape[2]])
            assert np.array_equal(np.asarray(im).reshape(expected.shape), expected), name


def main():
    rng = np.random.default_rng(SEED)
    cases = Cases()
    resize_cases(cases, rng)
    seed_pngs(cases, rng)
    path = os.path.normpath(os.path.join(ROOT, "tests", "reference", "golden", "image.safetensors"))
    cases.save(path, "tests/reference/image.py", SEED)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases.tensors)} tensors)")


if __name__ == "__main__":
    main()
