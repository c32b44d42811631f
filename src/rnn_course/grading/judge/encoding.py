"""What a learner's code returned, as plain JSON: the kernel writes it, the grader reads it back.

The grader rebuilds fresh tensors from numbers, so nothing the kernel sends can run code, pose as a tensor,
or answer a comparison; an unknown kind of value arrives as its type name only. A tensor travels as its raw
bytes in base64: exact, and one string (not thousands of JSON numbers) for the kernel and the grader to
carry and check.
"""

from __future__ import annotations

import base64
import dataclasses
import math

import torch
from torch.nn.utils.rnn import PackedSequence

RESULT_MIME = "application/vnd.rnn-course.result+json"  # how a test cell's output carries a result
MAX_NUMBERS = 200_000  # per value; far above any check's output
DTYPES = {
    str(dtype): dtype
    for dtype in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int16,
        torch.int8,
        torch.uint8,
        torch.bool,
        torch.complex64,
        torch.complex128,
    )
}


@dataclasses.dataclass(frozen=True)
class Raised:
    """The learner's code raised instead of returning."""

    ename: str
    evalue: str


@dataclasses.dataclass(frozen=True)
class Opaque:
    """A value that is not one of the kinds below; only its type name is known."""

    type_name: str


def _number(value):
    return value if math.isfinite(value) else str(value)  # JSON has no NaN or inf


def encode(value) -> dict:
    kind = type(value)
    if kind is Raised:
        return {"t": "raised", "ename": value.ename, "evalue": value.evalue[:2000]}
    if kind is torch.Tensor:
        if value.numel() > MAX_NUMBERS or str(value.dtype) not in DTYPES or value.is_complex():
            return {"t": "opaque", "type": f"Tensor of {value.dtype} with {value.numel()} numbers"}
        flat = value.detach().cpu().contiguous().reshape(-1)  # (N,)
        raw = flat.view(torch.uint8).numpy().tobytes()  # (N * element size,) little-endian, as in memory
        return {"t": "tensor", "dtype": str(value.dtype), "shape": list(value.shape), "bytes": _b64(raw)}
    if kind is PackedSequence:
        return {"t": "packed", "fields": [encode(field) for field in value]}
    if kind in (tuple, list):
        return {"t": "tuple", "items": [encode(item) for item in value]}
    if kind is dict:
        return {"t": "dict", "items": {str(key): encode(item) for key, item in value.items()}}
    if kind in (int, bool, str) or value is None:
        return {"t": "py", "v": value}
    if kind is float:
        return {"t": "py", "v": _number(value)}
    return {"t": "opaque", "type": kind.__name__}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _tensor(data: dict) -> torch.Tensor:
    """A fresh tensor from encode's bytes; ValueError unless dtype, shape and length agree."""
    dtype, shape = DTYPES[data["dtype"]], [int(size) for size in data["shape"]]
    count = math.prod(shape)
    if any(size < 0 for size in shape) or count > MAX_NUMBERS:
        raise ValueError("a tensor of a shape no check returns")
    raw = base64.b64decode(data["bytes"], validate=True)
    if len(raw) != count * dtype.itemsize:
        raise ValueError("a tensor whose bytes do not fill its shape")
    if not raw:
        flat = torch.empty(0, dtype=dtype)  # (0,)
    elif dtype is torch.bool:  # any byte but 0 is True; never a bool tensor holding 2..255
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) != 0  # (N,)
    else:
        flat = torch.frombuffer(bytearray(raw), dtype=dtype)  # (N,)
    return flat.reshape(shape)  # (*shape)


def decode(data):
    """Rebuild a value from `encode`'s output; anything malformed becomes Opaque."""
    try:
        kind = data["t"]
        if kind == "raised":
            return Raised(str(data["ename"]), str(data["evalue"]))
        if kind == "tensor":
            return _tensor(data)
        if kind == "packed":
            return PackedSequence(*(decode(field) for field in data["fields"]))
        if kind == "tuple":
            return tuple(decode(item) for item in data["items"])
        if kind == "dict":
            return {str(key): decode(item) for key, item in data["items"].items()}
        if kind == "py":
            value = data["v"]
            return float(value) if value in ("nan", "inf", "-inf") else value
        return Opaque(str(data.get("type", "unknown")))
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError):  # binascii.Error is a ValueError
        return Opaque("a malformed result")
