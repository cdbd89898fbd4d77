"""PyTorch reference for the storage types: f16 and bf16 values (normal,
subnormal, infinite, extreme) and their exact f32 values, plus I32 and I64.
Run from the repository root: /usr/bin/python3 tests/reference/dtype.py"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from common import Cases  # noqa: E402

SEED = 20261128
torch.manual_seed(SEED)
cases = Cases()

special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1e-5, 5.96e-8, 3e-6, float("inf"), -float("inf"),
                        1e-40, 3.0e38, 0.1, 1 / 3])
x = torch.cat([special, torch.randn(50) * 10]).reshape(4, 16)
h = x.half()
b = x.bfloat16()
cases.add("f16", stored=h, value=h.float(), source=x)
cases.add("bf16", stored=b, value=b.float(), source=x)
cases.add("i32", stored=torch.tensor([[-7, 0, 2**31 - 1]], dtype=torch.int32))
cases.add("i64", stored=torch.tensor([-(2**40), 5], dtype=torch.int64))
cases.save(os.path.join(os.path.dirname(__file__), "golden", "dtype.safetensors"), "tests/reference/dtype.py", SEED)
