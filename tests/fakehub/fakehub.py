#!/usr/bin/env python3
"""A fake Hugging Face Hub for hfmodels' tests and demo (Python 3.9+ standard library only).

It speaks the real Hub's download protocol (docs/hub-and-cache.md §1-4, §7.3) closely
enough that a client which passes against it also works against huggingface.co:

* a **Hub** listener: repo info, tree listing with `Link` pagination, paths-info, refs, commits,
  `/resolve/` (307 to `/api/resolve-cache/...` for regular files, 302 to the CDN for LFS files),
  `/raw/`, errors with `X-Error-Code`/`X-Error-Message`, gating and tokens, rate-limit headers;
* a **CDN** listener on another port (another origin, so a client must drop `Authorization` on the
  redirect) that serves LFS bytes with `Range` support and its own, different `ETag`;
* a control API under `/_fake/` (request counters, moving refs, fault injection) that is not
  counted as traffic.

Repos come from a "world" JSON file (format in README.md next to this file).  Large generated
files are written once into a data directory and streamed from disk with sendfile, so a 1 GiB
file costs disk, not memory.

In-process use::

    with FakeHub("tests/fakehub/worlds/test.json") as hub:
        url = hub.endpoint                  # http://127.0.0.1:PORT
        hub.requests(); hub.reset_requests(); hub.move_ref("org/x", "main", "c2")

CLI::

    python3 fakehub.py --world worlds/test.json --port 0 --port-file /tmp/hub.port
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import secrets
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

# Bump when a generator's output changes, so data-dir caches are not reused by mistake.
GENERATOR_VERSION = 1

HEX40 = re.compile(r"^[0-9a-f]{40}$")
REPO_TYPES = {"model": "models", "dataset": "datasets", "space": "spaces"}
SEGMENT_TO_TYPE = {v: k for k, v in REPO_TYPES.items()}
LFS_EXTENSIONS = (".safetensors", ".gguf", ".bin")
LFS_SIZE_THRESHOLD = 10 * 1000 * 1000  # "size > 10 MB" (decimal, like git-lfs docs)
MEMORY_LIMIT = 1 << 20  # generated content above this goes to the data dir
CHUNK = 1 << 20
DEFAULT_PAGE_SIZE = 1000
EXPAND_PAGE_SIZE = 50  # the Hub lists only 50 entries per page with expand=true
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
DISABLED_MESSAGE = "Access to this resource is disabled."
RATE_WINDOW = 300
RATE_QUOTAS = {"api": 1000, "resolvers": 5000, "pages": 200}


def git_blob_sha1_header(size: int) -> bytes:
    return b"blob %d\0" % size


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(git_blob_sha1_header(len(data)) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def iso_date(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def truthy(value: Optional[str]) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------------------------
# Content and generators
# ---------------------------------------------------------------------------------------------


class Content:
    """The real bytes of one file: in memory (small) or a file on disk (large, generated)."""

    def __init__(self, data: Optional[bytes] = None, path: Optional[Path] = None, size: int = 0):
        self.data = data
        self.path = path
        self.size = len(data) if data is not None else size

    def iter_range(self, start: int, length: int, chunk: int = CHUNK) -> Iterator[bytes]:
        if self.data is not None:
            for off in range(start, start + length, chunk):
                yield self.data[off:min(off + chunk, start + length)]
            return
        assert self.path is not None
        with open(self.path, "rb") as f:
            f.seek(start)
            left = length
            while left > 0:
                b = f.read(min(chunk, left))
                if not b:
                    raise IOError(f"{self.path}: short read")
                left -= len(b)
                yield b

    def read_all(self) -> bytes:
        return b"".join(self.iter_range(0, self.size))


@dataclass
class Blob:
    content: Content
    size: int
    sha1: str  # git blob sha1 of the content
    sha256: str


class BlobStore:
    """Turns file specs into Blobs; large generated content is cached on disk by spec digest."""

    def __init__(self, data_dir: Optional[str]):
        if data_dir is None:
            data_dir = os.path.join(tempfile.gettempdir(), "hfmodels-fakehub-data")
        self.data_dir = Path(data_dir)

    @staticmethod
    def from_bytes(data: bytes) -> Blob:
        return Blob(Content(data=data), len(data), git_blob_sha1(data), hashlib.sha256(data).hexdigest())

    def generate(self, key_obj: Any, size: int, chunks: Callable[[], Iterable[bytes]]) -> Blob:
        """Produce a blob of `size` bytes from the `chunks` stream.  Small results stay in
        memory; large ones are generated once into the data dir (atomically, so parallel test
        processes sharing the dir are safe) and reused while the spec is unchanged."""
        if size <= MEMORY_LIMIT:
            data = b"".join(chunks())
            assert len(data) == size, (len(data), size)
            return self.from_bytes(data)
        key = hashlib.sha256(canonical_json([GENERATOR_VERSION, key_obj]).encode()).hexdigest()[:40]
        bin_path = self.data_dir / f"gen-{key}.bin"
        meta_path = self.data_dir / f"gen-{key}.json"
        try:
            meta = json.loads(meta_path.read_text())
            if meta["size"] == size and bin_path.stat().st_size == size:
                return Blob(Content(path=bin_path, size=size), size, meta["sha1"], meta["sha256"])
        except (OSError, ValueError, KeyError):
            pass
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sha1 = hashlib.sha1(git_blob_sha1_header(size))
        sha256 = hashlib.sha256()
        written = 0
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=f"gen-{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                for b in chunks():
                    sha1.update(b)
                    sha256.update(b)
                    f.write(b)
                    written += len(b)
            assert written == size, (written, size)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; let other users of a shared dir read it
            os.replace(tmp, bin_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        meta = {"size": size, "sha1": sha1.hexdigest(), "sha256": sha256.hexdigest()}
        tmp_meta = meta_path.with_suffix(f".{os.getpid()}.tmp")
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_meta, meta_path)
        return Blob(Content(path=bin_path, size=size), size, meta["sha1"], meta["sha256"])


def random_chunks(seed: str, size: int) -> Callable[[], Iterator[bytes]]:
    """Deterministic pseudo-random bytes (random.Random seeded with a str is stable across
    Python versions; chunks are multiples of 4 bytes so the stream does not depend on CHUNK)."""

    def gen() -> Iterator[bytes]:
        rng = random.Random(seed)
        left = size
        while left > 0:
            n = min(CHUNK, left)
            yield rng.randbytes(n) if n % 4 == 0 else rng.randbytes(n + 4 - n % 4)[:n]
            left -= n

    return gen


def float_bytes(rng: random.Random, count: int, fmt: str) -> bytes:
    """Small, finite little-endian floats (so a real loader sees sane weights)."""
    values = [rng.uniform(-0.1, 0.1) for _ in range(count)]
    if fmt == "bf16":  # bfloat16 is the upper half of a float32
        f32 = struct.pack(f"<{count}f", *values)
        return b"".join(f32[i + 2:i + 4] for i in range(0, len(f32), 4))
    return struct.pack(f"<{count}{fmt}", *values)


def tensor_data(seed: str, nbytes: int, float_fmt: Optional[str]) -> Callable[[], Iterator[bytes]]:
    """Data of one tensor.  Float tensors get small finite values (a block of up to 16384
    seeded values, repeated), so a real loader sees sane weights; others get random bytes."""
    if float_fmt is None:
        return random_chunks(seed, nbytes)
    elem = 4 if float_fmt == "f" else 2

    def gen() -> Iterator[bytes]:
        block = float_bytes(random.Random(seed), min(nbytes // elem, 16384), float_fmt)
        if not block:
            return
        full, rem = divmod(nbytes, len(block))
        reps = max(1, CHUNK // len(block))
        for i in range(0, full, reps):
            yield block * min(reps, full - i)
        if rem:
            yield block[:rem]

    return gen


SAFETENSORS_DTYPES = {  # dtype: (bytes per element, float format for generated data)
    "F64": (8, None), "F32": (4, "f"), "F16": (2, "e"), "BF16": (2, "bf16"), "I64": (8, None),
    "I32": (4, None), "I16": (2, None), "I8": (1, None), "U8": (1, None), "BOOL": (1, None),
}

DEFAULT_SAFETENSORS_TENSORS = {
    "model.embed_tokens.weight": {"dtype": "F32", "shape": [64, 16]},
    "model.layers.0.mlp.up_proj.weight": {"dtype": "F16", "shape": [32, 16]},
    "model.norm.weight": {"dtype": "F32", "shape": [16]},
    "lm_head.weight": {"dtype": "BF16", "shape": [64, 16]},
}


def safetensors_generator(spec: dict, seed: str) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """A valid .safetensors file: u64 LE header length, JSON header (tensor table, offsets into
    the data area, optional __metadata__), header padded with spaces to 8 bytes, then the data.
    `pad_to` adds a trailing U8 tensor so the file has exactly that size."""
    tensors = dict(spec.get("tensors") or DEFAULT_SAFETENSORS_TENSORS)
    metadata = spec.get("metadata", {"format": "pt"})
    layout: list[tuple[str, str, list[int], int]] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        elem, _ = SAFETENSORS_DTYPES[t["dtype"]]
        n = 1
        for d in t["shape"]:
            n *= d
        layout.append((name, t["dtype"], list(t["shape"]), n * elem))
        offset += n * elem
    data_size = offset

    def header_json(pad_elems: Optional[int]) -> bytes:
        hdr: dict[str, Any] = {}
        if metadata:
            hdr["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
        off = 0
        for name, dtype, shape, nbytes in layout:
            hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + nbytes]}
            off += nbytes
        if pad_elems is not None:
            hdr["zz_padding"] = {"dtype": "U8", "shape": [pad_elems], "data_offsets": [off, off + pad_elems]}
        return json.dumps(hdr, separators=(",", ":")).encode()

    pad_elems: Optional[int] = None
    if spec.get("pad_to"):
        target = int(spec["pad_to"])
        upper = len(header_json(target))  # the padding tensor's numbers have at most target's digits
        hlen = (upper + 7) // 8 * 8
        pad_elems = target - 8 - hlen - data_size
        if pad_elems < 0:
            raise ValueError(f"safetensors pad_to={target} is smaller than the tensors")
        raw = header_json(pad_elems)
    else:
        raw = header_json(None)
        hlen = (len(raw) + 7) // 8 * 8
    header = raw + b" " * (hlen - len(raw))
    total = 8 + hlen + data_size + (pad_elems or 0)

    def gen() -> Iterator[bytes]:
        yield struct.pack("<Q", hlen) + header
        for name, dtype, shape, nbytes in layout:
            yield from tensor_data(f"{seed}/{name}", nbytes, SAFETENSORS_DTYPES[dtype][1])()
        if pad_elems:
            yield from random_chunks(f"{seed}/padding", pad_elems)()

    return total, gen


# GGML tensor types: name -> (type id, block size in elements, bytes per block, float format)
GGML_TYPES = {
    "F32": (0, 1, 4, "f"), "F16": (1, 1, 2, "e"), "Q4_0": (2, 32, 18, None), "Q8_0": (8, 32, 34, None),
    "Q4_K": (12, 256, 144, None), "Q5_K": (13, 256, 176, None), "Q6_K": (14, 256, 210, None),
    "I8": (24, 1, 1, None), "BF16": (30, 1, 2, "bf16"),
}
# llama_ftype values for general.file_type, and the tensor type a quant mostly uses.
GGUF_FILE_TYPES = {
    "F32": (0, "F32"), "F16": (1, "F16"), "Q4_0": (2, "Q4_0"), "Q8_0": (7, "Q8_0"),
    "Q4_K_S": (14, "Q4_K"), "Q4_K_M": (15, "Q4_K"), "Q4_K": (15, "Q4_K"), "Q5_K_S": (16, "Q5_K"),
    "Q5_K_M": (17, "Q5_K"), "Q6_K": (18, "Q6_K"), "BF16": (32, "BF16"),
    # Tensors of these are written as Q4_K: only general.file_type names them.
    "Q2_K": (10, "Q4_K"), "Q3_K_M": (12, "Q4_K"), "IQ2_XXS": (19, "Q4_K"),
}
GGUF_VALUE_TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7,
                    "str": 8, "array": 9, "u64": 10, "i64": 11, "f64": 12}
GGUF_SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                       10: "<Q", 11: "<q", 12: "<d"}


def _gguf_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _gguf_typed(value: Any) -> tuple[int, Any]:
    """Infer a GGUF value type; {"type": "u64", "value": 5} forces one."""
    if isinstance(value, dict) and "type" in value:
        return GGUF_VALUE_TYPES[value["type"]], value["value"]
    if isinstance(value, bool):
        return 7, value
    if isinstance(value, int):
        return (4, value) if 0 <= value < 2**32 else (11, value)
    if isinstance(value, float):
        return 6, value
    if isinstance(value, str):
        return 8, value
    if isinstance(value, list):
        return 9, value
    raise ValueError(f"cannot encode {value!r} in GGUF")


def _gguf_value(vtype: int, value: Any) -> bytes:
    if vtype == 8:
        return _gguf_str(value)
    if vtype == 9:
        elems = [_gguf_typed(v) for v in value]
        etype = elems[0][0] if elems else 4
        return struct.pack("<IQ", etype, len(elems)) + b"".join(_gguf_value(etype, v) for _, v in elems)
    return struct.pack(GGUF_SCALAR_FORMATS[vtype], value)


def gguf_generator(spec: dict, seed: str) -> tuple[int, Callable[[], Iterator[bytes]]]:
    """A valid GGUF v3 file: "GGUF", u32 version 3, u64 tensor count, u64 KV count, the KV pairs,
    the tensor infos (name, dims, type, offset), zero padding to `general.alignment`, then the
    tensor data at aligned offsets.  `split` adds the split.* keys llama.cpp's gguf-split writes;
    `pad_to` appends an I8 tensor so the file has exactly that size."""
    arch = spec.get("architecture", "llama")
    file_type = spec.get("file_type", "F32")
    ftype_id, main_type = GGUF_FILE_TYPES[file_type]
    alignment = int(spec.get("alignment", 32))
    tensors = spec.get("tensors") or [
        {"name": "token_embd.weight", "shape": [256, 8], "type": main_type},
        {"name": "blk.0.attn_q.weight", "shape": [256, 4], "type": main_type},
        {"name": "output_norm.weight", "shape": [256], "type": "F32"},
    ]
    split = spec.get("split")
    kv: list[tuple[str, int, Any]] = []

    def add(key: str, value: Any) -> None:
        vtype, v = _gguf_typed(value)
        kv.append((key, vtype, v))

    first_shard = not split or int(split.get("no", 0)) == 0
    add("general.architecture", arch)
    if first_shard:
        add("general.name", spec.get("name", "fakehub tiny model"))
        add("general.file_type", {"type": "u32", "value": ftype_id})
        add("general.quantization_version", {"type": "u32", "value": 2})
        add("general.alignment", {"type": "u32", "value": alignment})
        add(f"{arch}.context_length", {"type": "u32", "value": 128})
        add(f"{arch}.embedding_length", {"type": "u32", "value": 256})
        add(f"{arch}.block_count", {"type": "u32", "value": 1})
        for k, v in (spec.get("metadata") or {}).items():
            add(k, v)
    elif alignment != 32:
        add("general.alignment", {"type": "u32", "value": alignment})
    if split:
        count = int(split["count"])
        add("split.no", {"type": "u16", "value": int(split.get("no", 0))})
        add("split.count", {"type": "u16", "value": count})
        add("split.tensors.count", {"type": "i32", "value": int(split.get("tensors_total", len(tensors) * count))})

    layout: list[tuple[str, list[int], str, int, int]] = []  # name, dims, type, offset, nbytes
    offset = 0

    def add_tensor(name: str, dims: list[int], ttype: str) -> None:
        nonlocal offset
        _, block, block_bytes, _ = GGML_TYPES[ttype]
        if dims[0] % block:
            raise ValueError(f"GGUF tensor {name}: ne[0]={dims[0]} is not a multiple of {block} for {ttype}")
        n = 1
        for d in dims:
            n *= d
        offset = (offset + alignment - 1) // alignment * alignment
        layout.append((name, dims, ttype, offset, n // block * block_bytes))
        offset += n // block * block_bytes

    for t in tensors:
        add_tensor(t["name"], list(t["shape"]), t.get("type", main_type))

    def header(extra: Optional[int]) -> bytes:
        items = list(layout)
        if extra is not None:
            off = (offset + alignment - 1) // alignment * alignment
            items.append(("zz.padding", [extra], "I8", off, extra))
        out = [b"GGUF", struct.pack("<IQQ", 3, len(items), len(kv))]
        for key, vtype, value in kv:
            out.append(_gguf_str(key) + struct.pack("<I", vtype) + _gguf_value(vtype, value))
        for name, dims, ttype, off, _ in items:
            out.append(_gguf_str(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
                       + struct.pack("<IQ", GGML_TYPES[ttype][0], off))
        raw = b"".join(out)
        return raw + b"\0" * ((-len(raw)) % alignment)

    pad: Optional[int] = None
    if spec.get("pad_to"):
        target = int(spec["pad_to"])
        hlen = len(header(1))  # dims are fixed-width u64: the header size does not depend on pad
        pad = target - hlen - (offset + alignment - 1) // alignment * alignment
        if pad <= 0:
            raise ValueError(f"GGUF pad_to={target} is too small")
    head = header(pad)
    total = len(head) + (offset if pad is None else (offset + alignment - 1) // alignment * alignment + pad)

    def gen() -> Iterator[bytes]:
        yield head
        pos = 0
        for name, dims, ttype, off, nbytes in layout:
            if off > pos:
                yield b"\0" * (off - pos)
            yield from tensor_data(f"{seed}/{name}", nbytes, GGML_TYPES[ttype][3])()
            pos = off + nbytes
        if pad is not None:
            off = (offset + alignment - 1) // alignment * alignment
            if off > pos:
                yield b"\0" * (off - pos)
            yield from random_chunks(f"{seed}/padding", pad)()

    return total, gen


def parse_safetensors(data: bytes) -> dict:
    """Check a safetensors file's structure; return its header.  Raises ValueError."""
    if len(data) < 8:
        raise ValueError("too short")
    (hlen,) = struct.unpack("<Q", data[:8])
    if 8 + hlen > len(data):
        raise ValueError("header length beyond end of file")
    header = json.loads(data[8:8 + hlen].decode())
    end = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        elem, _ = SAFETENSORS_DTYPES[t["dtype"]]
        n = 1
        for d in t["shape"]:
            n *= d
        a, b = t["data_offsets"]
        if b - a != n * elem:
            raise ValueError(f"{name}: data size {b - a} != {n}*{elem}")
        end = max(end, b)
    if 8 + hlen + end != len(data):
        raise ValueError(f"data area ends at {8 + hlen + end}, file has {len(data)} bytes")
    return header


def parse_gguf(data: bytes) -> dict:
    """Check a GGUF v3 file's structure; return {"version", "metadata", "tensors"}.  Raises ValueError."""
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        vals = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return vals[0]

    def string() -> str:
        nonlocal pos
        n = take("<Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    def value(vtype: int) -> Any:
        if vtype == 8:
            return string()
        if vtype == 9:
            etype, n = take("<I"), take("<Q")
            return [value(etype) for _ in range(n)]
        return take(GGUF_SCALAR_FORMATS[vtype])

    if data[:4] != b"GGUF":
        raise ValueError("bad magic")
    pos = 4
    version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    if version != 3:
        raise ValueError(f"version {version}")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("<I"))
    alignment = meta.get("general.alignment", 32)
    by_id = {v[0]: (k, v) for k, v in GGML_TYPES.items()}
    tensors = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        tname, (_, block, block_bytes, _) = by_id[take("<I")]
        off = take("<Q")
        if off % alignment:
            raise ValueError(f"{name}: offset {off} not aligned")
        n = 1
        for d in dims:
            n *= d
        tensors.append({"name": name, "dims": dims, "type": tname, "offset": off, "size": n // block * block_bytes})
    data_start = (pos + alignment - 1) // alignment * alignment
    for t in tensors:
        if data_start + t["offset"] + t["size"] > len(data):
            raise ValueError(f"{t['name']}: data beyond end of file")
    return {"version": version, "metadata": meta, "tensors": tensors, "data_start": data_start}


# ---------------------------------------------------------------------------------------------
# World model: World / Repo / Commit / FileEntry
# ---------------------------------------------------------------------------------------------


@dataclass
class FileEntry:
    path: str
    blob: Blob
    lfs: bool
    pointer: Optional[bytes] = None  # LFS pointer text (the git blob the repo really stores)
    pointer_sha1: Optional[str] = None

    @property
    def size(self) -> int:
        return self.blob.size

    @property
    def sha256(self) -> str:
        return self.blob.sha256

    @property
    def oid(self) -> str:
        """Tree `oid` / siblings `blobId`: the git blob sha1 of what git stores (the pointer for LFS)."""
        return self.pointer_sha1 if self.lfs else self.blob.sha1  # type: ignore[return-value]

    @property
    def etag(self) -> str:
        """What the Hub advertises and the cache names the blob after."""
        return self.blob.sha256 if self.lfs else self.blob.sha1

    def git_blob(self) -> Content:
        return Content(data=self.pointer) if self.lfs else self.blob.content

    def describe(self) -> dict:
        d = {"path": self.path, "size": self.size, "sha256": self.sha256, "git_sha1": self.blob.sha1,
             "oid": self.oid, "etag": self.etag, "lfs": self.lfs}
        if self.lfs:
            d["pointer_size"] = len(self.pointer or b"")
        return d


@dataclass
class Commit:
    name: str
    id: str
    title: str
    date: str
    index: int  # position in the repo's history, for "most recent" comparisons
    parent: Optional["Commit"]
    files: dict[str, FileEntry]
    last_change: dict[str, "Commit"] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def info(self) -> dict:
        return {"id": self.id, "title": self.title, "date": self.date}


class Repo:
    def __init__(self, world: "World", spec: dict):
        self.type = spec.get("type", "model")
        if self.type not in REPO_TYPES:
            raise ValueError(f"repo {spec.get('id')}: unknown type {self.type}")
        self.id: str = spec["id"]
        self.private = bool(spec.get("private", False))
        gated = spec.get("gated", False)
        self.gated = "auto" if gated is True else (gated or False)
        self.gated_api = bool(spec.get("gated_api", False))
        self.disabled = bool(spec.get("disabled", False))
        self.tokens = set(spec.get("tokens", []))
        # Real Hub: model cards stay readable on gated repos so users can read the terms.
        self.ungated_files = set(spec.get("ungated_files", ["README.md", ".gitattributes"]))
        self.aliases = list(spec.get("aliases", []))
        self.page_size = spec.get("page_size")
        self.default_branch = spec.get("default_branch", "main")
        self.extra_info = dict(spec.get("info", {}))
        self.object_id = hashlib.sha1(f"{self.type}/{self.id}".encode()).hexdigest()[:24]
        self.commits: dict[str, Commit] = {}
        self.commits_by_id: dict[str, Commit] = {}
        commit_specs = spec.get("commits")
        if commit_specs is None:
            commit_specs = [{"name": "initial", "files": spec.get("files", {})}]
        for i, cspec in enumerate(commit_specs):
            self._add_commit(world, i, cspec)
        self.branches: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.prs: dict[str, str] = {}
        last = list(self.commits.values())[-1].id
        for name, ref in (spec.get("branches") or {self.default_branch: last}).items():
            self.branches[name] = self.commit_ref(ref).id
        for name, ref in (spec.get("tags") or {}).items():
            self.tags[name] = self.commit_ref(ref).id
        for num, ref in (spec.get("pull_requests") or {}).items():
            self.prs[str(num)] = self.commit_ref(ref).id
        if self.default_branch not in self.branches:
            raise ValueError(f"repo {self.id}: default branch {self.default_branch} has no target")

    @property
    def api_segment(self) -> str:
        return REPO_TYPES[self.type]

    @property
    def url_prefix(self) -> str:
        return "" if self.type == "model" else f"{REPO_TYPES[self.type]}/"

    def commit_ref(self, ref: str) -> Commit:
        """A commit by world name or 40-hex id (used by the world file and the control API)."""
        c = self.commits.get(ref) or self.commits_by_id.get(ref)
        if c is None:
            raise KeyError(f"repo {self.id}: no commit named {ref!r}")
        return c

    def _add_commit(self, world: "World", index: int, spec: dict) -> None:
        name = spec.get("name", f"c{index + 1}")
        parent = self.commit_ref(spec["parent"]) if spec.get("parent") else None
        files: dict[str, FileEntry] = dict(parent.files) if parent else {}
        file_specs: dict[str, Any] = dict(spec.get("files", {}))
        for g in spec.get("generate", []):  # many small files from a pattern
            for i in range(int(g["count"])):
                file_spec = {"text": g.get("text", "{i}\n").format(i=i)}
                if "lfs" in g:
                    file_spec["lfs"] = g["lfs"]
                file_specs[g["pattern"].format(i=i)] = file_spec
        for path, fspec in file_specs.items():
            if fspec is None:
                files.pop(path, None)
                continue
            validate_repo_path(path)
            files[path] = world.make_file(self, path, fspec)
        files = dict(sorted(files.items()))
        date = spec.get("date") or iso_date(1704067200 + 86400 * index)  # 2024-01-01 + index days
        cid = spec.get("id") or hashlib.sha1(canonical_json({
            "repo": f"{self.type}/{self.id}", "name": name, "parent": parent.id if parent else None,
            "files": [[p, f.oid] for p, f in files.items()], "date": date}).encode()).hexdigest()
        if not HEX40.match(cid):
            raise ValueError(f"repo {self.id}: commit id {cid!r} is not 40 lowercase hex")
        commit = Commit(name, cid, spec.get("title", f"Commit {name}"), date, index, parent, files)
        for path, f in files.items():
            prev = parent.files.get(path) if parent else None
            commit.last_change[path] = parent.last_change[path] if prev is not None and prev.oid == f.oid and parent else commit
            parts = path.split("/")
            for i in range(1, len(parts)):
                commit.dirs.add("/".join(parts[:i]))
        self.commits[name] = commit
        self.commits_by_id[cid] = commit

    def resolve(self, rev: str) -> Optional[Commit]:
        """Revision (already percent-decoded) -> commit: 40-hex id, HEAD, branch, tag, refs/...."""
        if HEX40.match(rev):
            return self.commits_by_id.get(rev)
        if rev == "HEAD":
            rev = self.default_branch
        target = None
        if rev.startswith("refs/heads/"):
            target = self.branches.get(rev[len("refs/heads/"):])
        elif rev.startswith("refs/tags/"):
            target = self.tags.get(rev[len("refs/tags/"):])
        elif rev.startswith("refs/pr/"):
            target = self.prs.get(rev[len("refs/pr/"):])
        else:
            target = self.branches.get(rev) or self.tags.get(rev)
        return self.commits_by_id.get(target) if target else None

    def describe(self) -> dict:
        return {
            "type": self.type, "id": self.id, "private": self.private, "gated": self.gated,
            "default_branch": self.default_branch,
            "branches": dict(self.branches), "tags": dict(self.tags),
            "pull_requests": {f"refs/pr/{k}": v for k, v in self.prs.items()},
            "commits": {c.name: {"id": c.id, "title": c.title, "date": c.date,
                                 "files": {p: f.describe() for p, f in c.files.items()}}
                        for c in self.commits.values()},
        }


def validate_repo_path(path: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid repo path {path!r}")


class World:
    """All repos, plus the settings that are not per repo."""

    def __init__(self, spec: dict, store: BlobStore):
        self.store = store
        self.lock = threading.RLock()  # guards refs (moved at run time)
        self.page_size = int(spec.get("page_size", DEFAULT_PAGE_SIZE))
        tokens = spec.get("tokens")
        self.known_tokens: Optional[set[str]] = set(tokens) if tokens is not None else None
        self.repos: dict[tuple[str, str], Repo] = {}
        self.by_lower: dict[tuple[str, str], Repo] = {}
        self.aliases: dict[tuple[str, str], Repo] = {}
        self.blobs_by_sha256: dict[str, Blob] = {}
        for rspec in spec.get("repos", []):
            repo = Repo(self, rspec)
            key = (repo.type, repo.id)
            if key in self.repos:
                raise ValueError(f"duplicate repo {repo.type} {repo.id}")
            self.repos[key] = repo
            self.by_lower[(repo.type, repo.id.lower())] = repo
            for alias in repo.aliases:
                self.aliases[(repo.type, alias.lower())] = repo
            if self.known_tokens is not None:
                self.known_tokens |= repo.tokens

    @classmethod
    def load(cls, world: Any, data_dir: Optional[str] = None) -> "World":
        if isinstance(world, (str, Path)):
            spec = json.loads(Path(world).read_text(encoding="utf-8"))
        else:
            spec = world
        return cls(spec, BlobStore(data_dir))

    def make_file(self, repo: Repo, path: str, spec: Any) -> FileEntry:
        if isinstance(spec, str):
            spec = {"text": spec}
        seed = str(spec.get("seed", f"{repo.type}/{repo.id}/{path}"))
        if "text" in spec:
            blob = self.store.from_bytes(spec["text"].encode("utf-8"))
        elif "json" in spec:
            blob = self.store.from_bytes((json.dumps(spec["json"], indent=2, ensure_ascii=False) + "\n").encode())
        elif "base64" in spec:
            blob = self.store.from_bytes(base64.b64decode(spec["base64"]))
        elif "random" in spec:
            size = int(spec["random"])
            blob = self.store.generate(["random", seed, size], size, random_chunks(seed, size))
        elif "safetensors" in spec:
            size, gen = safetensors_generator(spec["safetensors"], seed)
            blob = self.store.generate(["safetensors", seed, spec["safetensors"]], size, gen)
        elif "gguf" in spec:
            size, gen = gguf_generator(spec["gguf"], seed)
            blob = self.store.generate(["gguf", seed, spec["gguf"]], size, gen)
        else:
            raise ValueError(f"repo {repo.id}: file {path}: no content (text/json/base64/random/safetensors/gguf)")
        lfs = spec.get("lfs")
        if lfs is None:
            lfs = path.endswith(LFS_EXTENSIONS) or blob.size > LFS_SIZE_THRESHOLD
        entry = FileEntry(path, blob, bool(lfs))
        if entry.lfs:
            entry.pointer = lfs_pointer(blob.sha256, blob.size)
            entry.pointer_sha1 = git_blob_sha1(entry.pointer)
            self.blobs_by_sha256[blob.sha256] = blob
        return entry

    def find(self, rtype: str, repo_id: str) -> tuple[Optional[Repo], bool]:
        """(repo, canonical): canonical is False when found by other casing or an old name,
        which the real Hub answers with a redirect to the canonical id."""
        repo = self.repos.get((rtype, repo_id))
        if repo:
            return repo, True
        repo = self.by_lower.get((rtype, repo_id.lower())) or self.aliases.get((rtype, repo_id.lower()))
        return repo, False

    def get(self, repo_id: str, rtype: str = "model") -> Repo:
        repo = self.repos.get((rtype, repo_id))
        if repo is None:
            raise KeyError(f"no {rtype} repo {repo_id}")
        return repo

    def token_valid(self, token: str) -> bool:
        if self.known_tokens is not None:
            return token in self.known_tokens
        return bool(re.fullmatch(r"hf_[A-Za-z0-9_]+", token))

    def move_ref(self, repo_id: str, ref: str, commit: Optional[str], kind: str = "branch",
                 rtype: str = "model") -> Optional[str]:
        """Point branch/tag/pr `ref` at `commit` (a world commit name or 40-hex id); None deletes."""
        repo = self.get(repo_id, rtype)
        table = {"branch": repo.branches, "tag": repo.tags, "pr": repo.prs}[kind]
        if kind == "pr" and ref.startswith("refs/pr/"):
            ref = ref[len("refs/pr/"):]
        with self.lock:
            if commit is None:
                table.pop(ref, None)
                return None
            cid = repo.commit_ref(commit).id
            table[ref] = cid
            return cid


# ---------------------------------------------------------------------------------------------
# Faults (hook for failure tests)
# ---------------------------------------------------------------------------------------------


@dataclass
class FaultRule:
    """One fault: fires on requests whose decoded URL (path + query) contains `match`, on
    `listener` ("hub", "cdn" or "any"), `times` times (-1: forever).  Actions:
      status   answer `status` (e.g. 500, 503, 429) instead; `retry_after` adds Retry-After
               (and RateLimit r=0;t=N on 429)
      latency  wait `seconds` before answering
      bandwidth  send the body at `bytes_per_sec`
      cut      send `after` body bytes, then close the connection (Content-Length stays full)
      corrupt  flip one byte at file offset `offset` (default: first byte sent)
      stall    send `after` body bytes, then hang for `seconds` (default 3600), then close
      drop     close the connection without any answer
      replace_body  answer `status` (default 200) with `body` (text, repeated `repeat` times) or
               `body_base64` instead, as `content_type`, plus `headers`: a hostile or malformed
               Hub answer. `{authorization}` in `body` or a header value becomes the request's
               Authorization header: a server that echoes what it was sent
      ignore_range  answer as if the request had no Range header (a full 200), like a CDN that
               ignores Range when the request also offers gzip
    """
    action: str
    match: str = ""
    listener: str = "any"
    method: Optional[str] = None
    times: int = 1
    status: int = 503
    retry_after: Optional[float] = None
    seconds: float = 0.0
    bytes_per_sec: int = 0
    after: int = 0
    offset: Optional[int] = None
    body: Optional[str] = None
    body_base64: Optional[str] = None
    repeat: int = 1
    content_type: str = "application/json; charset=utf-8"
    headers: Optional[dict] = None
    fired: int = 0

    ACTIONS = ("status", "latency", "bandwidth", "cut", "corrupt", "stall", "drop", "replace_body",
               "ignore_range")

    @classmethod
    def from_json(cls, d: dict) -> "FaultRule":
        d = dict(d)
        action = d.pop("action", None) or d.pop("fault", None)
        if action not in cls.ACTIONS:
            raise ValueError(f"fault action must be one of {cls.ACTIONS}, got {action!r}")
        if "stall" == action and "seconds" not in d:
            d["seconds"] = 3600.0
        if "replace_body" == action and "status" not in d:
            d["status"] = 200
        known = {f for f in cls.__dataclass_fields__ if f not in ("action", "fired")}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}")
        return cls(action=action, **d)

    def matches(self, listener: str, method: str, url: str) -> bool:
        return ((self.listener in ("any", listener)) and (self.method in (None, method))
                and self.match in url and self.times != 0)

    def to_json(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        if self.body is not None and len(self.body) * self.repeat > 4096:
            out["body"] = f"<{len(self.body) * self.repeat} characters>"
        return out

    def replacement(self, authorization: str = "") -> bytes:
        if self.body_base64 is not None:
            return base64.b64decode(self.body_base64) * self.repeat
        body = (self.body or "").replace("{authorization}", authorization)
        return body.encode("utf-8", "surrogatepass") * self.repeat

    def replacement_headers(self, authorization: str = "") -> list[tuple[str, str]]:
        return [(k, str(v).replace("{authorization}", authorization))
                for k, v in (self.headers or {}).items()]


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    content: Optional[Content] = None  # streamed body (file bytes) instead of `body`
    start: int = 0
    length: int = 0
    ratelimit_reset: Optional[float] = None  # set by a 429 fault: RateLimit says r=0;t=<this>

    def header(self, name: str, value: Any) -> "Response":
        self.headers.append((name, str(value)))
        return self


def json_response(status: int, obj: Any, weak_etag: bool = False) -> Response:
    body = json.dumps(obj, ensure_ascii=False).encode()
    r = Response(status, [("Content-Type", "application/json; charset=utf-8")], body)
    if weak_etag:  # the Hub's API answers carry weak ETags; they are not file identities
        r.header("ETag", f'W/"{len(body):x}-{hashlib.sha1(body).hexdigest()[:27]}"')
    return r


def hub_error(status: int, code: Optional[str], message: str, **headers: str) -> Response:
    r = json_response(status, {"error": message})
    if code:
        r.header("X-Error-Code", code)
    r.header("X-Error-Message", message)
    for k, v in headers.items():
        r.header(k.replace("_", "-"), v)
    return r


def not_found_page() -> Response:
    return json_response(404, {"error": "Sorry, we can't find the page you are looking for."})


def content_type_for(path: str) -> str:
    if path.endswith(".json"):
        return "application/json; charset=utf-8"
    if path.endswith((".md", ".txt", ".csv", ".gitattributes", ".py", ".yaml", ".yml")):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def content_disposition(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"inline; filename*=UTF-8''{urllib.parse.quote(name, safe='')}; filename=\"{ascii_name}\";"


def parse_range(header: Optional[str], size: int) -> tuple[str, int, int]:
    """-> ("full"|"partial"|"unsatisfiable", start, length).  Only single ranges are honoured;
    anything malformed or multi-range is ignored (a 200 with the full body), as RFC 9110 allows."""
    if not header:
        return "full", 0, size
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return "full", 0, size
    a, b = m.group(1), m.group(2)
    if a == "":  # suffix range: last N bytes
        n = int(b)
        if n == 0:
            return "unsatisfiable", 0, 0
        n = min(n, size)
        return "partial", size - n, n
    start = int(a)
    end = int(b) if b else size - 1
    if b and end < start:
        return "full", 0, size  # syntactically invalid: ignore
    if start >= size:
        return "unsatisfiable", 0, 0
    end = min(end, size - 1)
    return "partial", start, end - start + 1


def file_response(content: Content, range_header: Optional[str]) -> Response:
    kind, start, length = parse_range(range_header, content.size)
    if kind == "unsatisfiable":
        r = Response(416, [("Content-Range", f"bytes */{content.size}"), ("Content-Type", "text/plain")],
                     b"Requested Range Not Satisfiable")
        return r
    r = Response(206 if kind == "partial" else 200, [("Accept-Ranges", "bytes")], content=content,
                 start=start, length=length)
    if kind == "partial":
        r.header("Content-Range", f"bytes {start}-{start + length - 1}/{content.size}")
    return r


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], hub: "FakeHub", listener: str):
        self.hub = hub
        self.listener = listener
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a fault test, a killed process) is not a server bug.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    timeout = 120  # idle keep-alive connections are closed after this
    server: _Server

    def version_string(self) -> str:
        return "fakehub"

    # -- plumbing ---------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle holds the body
        # back until the client's delayed ACK (40 ms on Linux) of the headers, on every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, fmt: str, *args: Any) -> None:
        if self.server.hub.verbose:
            sys.stderr.write(f"fakehub[{self.server.listener}] {self.address_string()} {fmt % args}\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _dispatch(self, method: str) -> None:
        hub = self.server.hub
        listener = self.server.listener
        split = urllib.parse.urlsplit(self.path)
        self.raw_path = split.path
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        self.raw_query = split.query
        self.method = method
        self.body = self._read_body()
        if listener == "hub" and self.raw_path.startswith("/_fake/"):
            try:
                resp = hub._control(method, self.raw_path, self.body)
            except (ValueError, KeyError, TypeError) as e:
                resp = json_response(400, {"error": str(e)})
            self._send(resp, [], None)
            return
        record = hub._record(listener, method, self.raw_path, split.query, self.headers)
        rules = hub._take_faults(listener, method, urllib.parse.unquote(self.path))
        for rule in rules:
            if rule.action == "latency":
                hub._sleep(rule.seconds)
        if any(r.action == "drop" for r in rules):
            record["status"] = 0
            record["faults"].append("drop")
            self.close_connection = True
            self._hard_close()
            return
        if any(r.action == "ignore_range" for r in rules):
            del self.headers["Range"]
        status_rule = next((r for r in rules if r.action == "status"), None)
        body_rule = next((r for r in rules if r.action == "replace_body"), None)
        if status_rule is not None:
            resp = self._fault_status(status_rule)
        elif body_rule is not None:
            authorization = self.headers.get("Authorization") or ""
            resp = Response(body_rule.status,
                            [("Content-Type", body_rule.content_type)]
                            + body_rule.replacement_headers(authorization),
                            body_rule.replacement(authorization))
        else:
            try:
                resp = self._route_hub() if listener == "hub" else self._route_cdn()
            except Exception as e:  # a bug in the fake must not look like a network problem
                import traceback
                traceback.print_exc()
                resp = json_response(500, {"error": f"fakehub internal error: {e}"})
        record["faults"] = [r.action for r in rules]
        self._send(resp, rules, record)

    def _fault_status(self, rule: FaultRule) -> Response:
        msg = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
               503: "Service Unavailable", 504: "Gateway Timeout"}.get(rule.status, "Injected fault")
        resp = json_response(rule.status, {"error": msg})
        if rule.retry_after is not None:
            resp.header("Retry-After", f"{rule.retry_after:g}")
            if rule.status == 429:
                resp.ratelimit_reset = rule.retry_after
        return resp

    def _hard_close(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp: Response, rules: list[FaultRule], record: Optional[dict]) -> None:
        hub = self.server.hub
        listener = self.server.listener
        headers = list(resp.headers)
        names = {k.lower() for k, _ in headers}
        headers.append(("X-Request-Id", hub._request_id()))
        if listener == "hub" and not self.raw_path.startswith("/_fake/"):
            headers += hub._ratelimit_headers(self.raw_path, resp.ratelimit_reset)
            headers.append(("Access-Control-Expose-Headers",
                            "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,"
                            "Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag,X-Xet-Hash"))
        # Like the Hub, JSON answers are compressed for a client that accepts gzip (file bodies
        # never are: their bytes are what gets hashed).
        if (resp.content is None and resp.body and "content-encoding" not in names
                and any(k.lower() == "content-type" and "json" in v for k, v in headers)
                and "gzip" in (self.headers.get("Accept-Encoding") or "")):
            resp.body = gzip.compress(resp.body, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
        length = resp.length if resp.content is not None else len(resp.body)
        if "content-type" not in names:
            headers.append(("Content-Type", "application/octet-stream"))
        headers.append(("Content-Length", str(length)))
        self.send_response(resp.status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if record is not None:
            record["status"] = resp.status
        if self.method == "HEAD" or length == 0:
            return
        sent = 0
        try:
            if resp.content is None:
                sent = self._write_stream(iter([resp.body]), 0, rules, record)
            elif not any(r.action in ("bandwidth", "cut", "corrupt", "stall") for r in rules) \
                    and resp.content.path is not None:
                with open(resp.content.path, "rb") as f:
                    sent = self.connection.sendfile(f, resp.start, resp.length)
            else:
                sent = self._write_stream(resp.content.iter_range(resp.start, resp.length, 64 * 1024),
                                          resp.start, rules, record)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
            sent = record["bytes"] if record is not None else sent
        if record is not None:
            record["bytes"] = sent
        if sent < length:
            self.close_connection = True
            self._hard_close()

    def _write_stream(self, chunks: Iterator[bytes], file_offset: int, rules: list[FaultRule],
                      record: Optional[dict] = None) -> int:
        """Write body chunks, applying body faults.  Returns bytes sent; stops early on cut/stall.
        The request log's `bytes` follows as they go, so a client that hangs up mid-answer
        leaves the count of what was sent, not 0."""
        hub = self.server.hub
        bw = next((r.bytes_per_sec for r in rules if r.action == "bandwidth" and r.bytes_per_sec > 0), 0)
        cut = next((r for r in rules if r.action in ("cut", "stall")), None)
        corrupt = [r for r in rules if r.action == "corrupt"]
        sent = 0
        pos = file_offset
        t0 = time.monotonic()
        for chunk in chunks:
            if bw:
                chunk_iter = [chunk[i:i + max(1, bw // 20)] for i in range(0, len(chunk), max(1, bw // 20))]
            else:
                chunk_iter = [chunk]
            for piece in chunk_iter:
                for r in corrupt:
                    target = r.offset if r.offset is not None else file_offset
                    if pos <= target < pos + len(piece):
                        i = target - pos
                        piece = piece[:i] + bytes([piece[i] ^ 0xFF]) + piece[i + 1:]
                if cut is not None and sent + len(piece) >= cut.after:
                    piece = piece[:cut.after - sent]
                    if piece:
                        self.wfile.write(piece)
                        sent += len(piece)
                        if record is not None:
                            record["bytes"] = sent
                    if cut.action == "stall":
                        hub._sleep(cut.seconds)
                    return sent
                self.wfile.write(piece)
                sent += len(piece)
                pos += len(piece)
                if record is not None:
                    record["bytes"] = sent
                if bw:
                    ahead = sent / bw - (time.monotonic() - t0)
                    if ahead > 0:
                        hub._sleep(ahead)
        return sent

    # -- request helpers --------------------------------------------------------------------

    def q(self, name: str) -> Optional[str]:
        v = self.query.get(name)
        return v[0] if v else None

    def _token(self) -> tuple[Optional[str], bool]:
        """-> (token, well_formed).  No header is (None, True)."""
        h = self.headers.get("Authorization")
        if h is None:
            return None, True
        m = re.fullmatch(r"\s*Bearer\s+(\S+)\s*", h)
        if not m:
            return None, False
        return m.group(1), self.server.hub.world.token_valid(m.group(1))

    def _lookup(self, rtype: str, repo_id: str, file_path: Optional[str] = None,
                api: bool = True) -> tuple[Optional[Repo], Optional[Response]]:
        """Find the repo and check the caller may see it.  Returns (repo, error_response)."""
        world = self.server.hub.world
        token, ok = self._token()
        if not ok:
            return None, hub_error(401, None, INVALID_CREDENTIALS)
        repo, canonical = world.find(rtype, repo_id)
        allowed = repo is not None and (not repo.private or (token is not None and token in repo.tokens))
        if not allowed:
            # The Hub answers 401 for private, gated-and-hidden and nonexistent repos alike when
            # anonymous (so it does not reveal which exist); an authenticated caller gets 404.
            return None, hub_error(404 if token else 401, "RepoNotFound", "Repository not found")
        assert repo is not None
        if not canonical:
            return repo, None  # the caller redirects
        if repo.disabled:
            return None, hub_error(403, None, DISABLED_MESSAGE)
        needs_gate = repo.gated and (repo.gated_api if api else file_path not in repo.ungated_files)
        if needs_gate and (token is None or token not in repo.tokens):
            kind = "model" if repo.type == "model" else repo.type
            url = f"{self._base_url()}/{repo.url_prefix}{repo.id}"
            if token is None:
                return None, hub_error(401, "GatedRepo", f"Access to {kind} {repo.id} is restricted. You must have "
                                       "access to it and be authenticated to access it. Please log in.")
            return None, hub_error(403, "GatedRepo", f"Access to {kind} {repo.id} is restricted and you are not in "
                                   f"the authorized list. Visit {url} to ask for access.")
        return repo, None

    def _canonical_redirect(self, repo: Repo, prefix: str, rest_raw: list[str]) -> Response:
        """Renamed repo or other casing: the Hub answers a relative 307 to the canonical path."""
        loc = prefix + repo.id + ("/" + "/".join(rest_raw) if rest_raw else "")
        if self.raw_query:
            loc += "?" + self.raw_query
        return Response(307, [("Location", loc), ("Content-Type", "text/plain; charset=utf-8")],
                        f"Temporary Redirect. Redirecting to {loc}".encode())

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.hub.endpoint

    def _resolve_commit(self, repo: Repo, rev: str) -> tuple[Optional[Commit], Optional[Response]]:
        with self.server.hub.world.lock:
            commit = repo.resolve(rev)
        if commit is None:
            return None, hub_error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return commit, None

    @staticmethod
    def _split_repo(segs: list[str], keywords: tuple[str, ...], world: World, rtype: str) -> Optional[tuple[str, list[str]]]:
        """A repo id is `name` or `namespace/name`: find where it ends, preferring a split whose
        repo exists (for a correct RepoNotFound on unknown repos, fall back to the shape)."""
        cands = []
        if len(segs) >= 3 and segs[2] in keywords:
            cands.append(2)
        if len(segs) >= 2 and segs[1] in keywords:
            cands.append(1)
        for n in cands:
            rid = "/".join(urllib.parse.unquote(s) for s in segs[:n])
            if world.find(rtype, rid)[0] is not None:
                return rid, segs[n:]
        if cands:
            n = cands[0]
            return "/".join(urllib.parse.unquote(s) for s in segs[:n]), segs[n:]
        return None

    # -- Hub routes ---------------------------------------------------------------------------

    def _route_hub(self) -> Response:
        segs = self.raw_path.lstrip("/").split("/")
        if segs and segs[0] == "api":
            if len(segs) >= 2 and segs[1] == "resolve-cache":
                return self._resolve_cache(segs[2:])
            if len(segs) >= 2 and segs[1] == "whoami-v2":
                return self._whoami()
            if len(segs) >= 3 and segs[1] in SEGMENT_TO_TYPE:
                return self._api_repo(SEGMENT_TO_TYPE[segs[1]], segs[2:])
            return not_found_page()
        if segs and segs[0] in ("datasets", "spaces") and len(segs) > 2:
            return self._resolve(SEGMENT_TO_TYPE[segs[0]], segs[1:], f"/{segs[0]}/")
        return self._resolve("model", segs, "/")

    def _whoami(self) -> Response:
        token, ok = self._token()
        if token is None or not ok:
            return hub_error(401, None, INVALID_CREDENTIALS if not ok else "Invalid username or password.")
        name = "user-" + hashlib.sha1(token.encode()).hexdigest()[:8]
        return json_response(200, {"type": "user", "id": hashlib.sha1(token.encode()).hexdigest()[:24],
                                   "name": name, "fullname": name, "orgs": [],
                                   "auth": {"type": "access_token", "accessToken": {"role": "read"}}})

    def _api_repo(self, rtype: str, segs: list[str]) -> Response:
        world = self.server.hub.world
        split = self._split_repo(segs, ("revision", "tree", "paths-info", "refs", "commits"), world, rtype)
        if split is None:
            if len(segs) > 2:
                return not_found_page()
            repo_id, rest = "/".join(urllib.parse.unquote(s) for s in segs), []
        else:
            repo_id, rest = split
        repo, err = self._lookup(rtype, repo_id)
        if err:
            return err
        assert repo is not None
        if repo.id != repo_id:
            return self._canonical_redirect(repo, f"/api/{REPO_TYPES[rtype]}/", rest)
        action = rest[0] if rest else "revision"
        if action == "revision" and self.method in ("GET", "HEAD"):
            # (lenient: an unencoded "refs/pr/1" is unambiguous here, unlike in /resolve/)
            rev = "/".join(urllib.parse.unquote(s) for s in rest[1:]) if len(rest) > 1 else repo.default_branch
            return self._repo_info(repo, rev)
        if action == "tree" and self.method in ("GET", "HEAD") and len(rest) >= 2:
            return self._tree(repo, urllib.parse.unquote(rest[1]),
                              "/".join(urllib.parse.unquote(s) for s in rest[2:] if s))
        if action == "paths-info" and self.method == "POST" and len(rest) == 2:
            return self._paths_info(repo, urllib.parse.unquote(rest[1]))
        if action == "refs" and self.method in ("GET", "HEAD") and len(rest) == 1:
            return self._refs(repo)
        if action == "commits" and self.method in ("GET", "HEAD") and len(rest) == 2:
            return self._commits(repo, urllib.parse.unquote(rest[1]))
        return not_found_page()

    def _expand_list(self) -> list[str]:
        out = []
        for key in ("expand", "expand[]"):
            for v in self.query.get(key, []):
                out.extend(x for x in v.split(",") if x)
        return out

    @staticmethod
    def _card_data(commit) -> dict:
        """The Hub reads the model card's YAML header into `cardData` (only `license` here)."""
        readme = commit.files.get("README.md")
        if readme is None or readme.size > 65536:
            return {}
        text = readme.blob.content.read_all().decode("utf-8", "replace")
        if not text.startswith("---\n"):
            return {}
        header = text[4:text.find("\n---", 4)] if "\n---" in text[4:] else ""
        for line in header.splitlines():
            if line.startswith("license:"):
                return {"license": line[len("license:"):].strip()}
        return {}

    def _repo_info(self, repo: Repo, rev: str) -> Response:
        commit, err = self._resolve_commit(repo, rev)
        if err:
            return err
        assert commit is not None
        blobs = truthy(self.q("blobs"))
        siblings = []
        for f in commit.files.values():
            s: dict[str, Any] = {"rfilename": f.path}
            if blobs:
                s["size"] = f.size
                s["blobId"] = f.oid
                if f.lfs:
                    # Trap kept on purpose: here the hash key is `sha256`, in tree entries `oid`.
                    s["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": len(f.pointer or b"")}
            siblings.append(s)
        first = min(repo.commits.values(), key=lambda c: c.index)
        card = self._card_data(commit)
        full: dict[str, Any] = {
            "_id": repo.object_id, "id": repo.id,
            "author": repo.id.split("/")[0] if "/" in repo.id else None,
            "sha": commit.id, "lastModified": commit.date, "createdAt": first.date,
            "private": repo.private, "gated": repo.gated, "disabled": repo.disabled,
            "downloads": 0, "likes": 0, "tags": [],
            "cardData": card, "siblings": siblings, "spaces": [],
            "usedStorage": sum({f.etag: f.size for c in repo.commits.values() for f in c.files.values()}.values()),
        }
        if repo.type == "model":
            full["modelId"] = repo.id
            full["library_name"] = None
            full["pipeline_tag"] = None
        full.update(repo.extra_info)
        if card.get("license"):
            full["tags"] = list(full.get("tags", [])) + [f"license:{card['license']}"]
        if truthy(self.q("securityStatus")):
            full["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": []}
        expand = self._expand_list()
        if expand:
            # With expand, the Hub returns only the listed properties (plus the ids).
            full = {k: v for k, v in full.items() if k in ("_id", "id") or k in expand}
        return json_response(200, full, weak_etag=True)

    def _tree_entry(self, commit: Commit, path: str, expand: bool) -> dict:
        f = commit.files.get(path)
        if f is not None:
            d: dict[str, Any] = {"type": "file", "oid": f.oid, "size": f.size, "path": f.path}
            if f.lfs:
                d["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": len(f.pointer or b"")}
            if expand:
                d["lastCommit"] = commit.last_change[path].info()
                d["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False},
                                           "pickleImportScan": None}
            return d
        prefix = path + "/"
        under = [p for p in commit.files if p.startswith(prefix)]
        oid = hashlib.sha1(("tree\0" + "".join(f"{p}\0{commit.files[p].oid}" for p in under)).encode()).hexdigest()
        d = {"type": "directory", "oid": oid, "size": 0, "path": path}
        if expand:
            d["lastCommit"] = max((commit.last_change[p] for p in under), key=lambda c: c.index).info()
        return d

    def _listing(self, commit: Commit, folder: str, recursive: bool) -> Optional[list[str]]:
        """Paths under `folder` in git order (a folder sorts by name, then its content)."""
        if folder and folder not in commit.dirs:
            return None
        prefix = folder + "/" if folder else ""
        names = set()
        for p in list(commit.files) + sorted(commit.dirs):
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix):]
            if recursive or "/" not in rest:
                names.add(p)
        return sorted(names, key=lambda p: p.split("/"))

    def _tree(self, repo: Repo, rev: str, folder: str) -> Response:
        cursor = self.q("cursor")
        offset = 0
        if cursor:
            try:
                state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
                commit = repo.commits_by_id[state["c"]]
                offset = int(state["o"])
            except (ValueError, KeyError, TypeError):
                return hub_error(400, None, "Invalid cursor")
        else:
            commit, err = self._resolve_commit(repo, rev)
            if err:
                return err
        assert commit is not None
        recursive = truthy(self.q("recursive"))
        expand = truthy(self.q("expand"))
        paths = self._listing(commit, folder, recursive)
        if paths is None:
            if folder in commit.files:
                paths = [folder]
            else:
                return hub_error(404, "EntryNotFound", f"{folder} does not exist on \"{rev}\"",
                                 X_Repo_Commit=commit.id)
        page_size = int(self.server.hub.page_size or repo.page_size or self.server.hub.world.page_size)
        if expand:
            page_size = min(page_size, EXPAND_PAGE_SIZE)
        page = paths[offset:offset + page_size]
        resp = json_response(200, [self._tree_entry(commit, p, expand) for p in page])
        if offset + page_size < len(paths):
            token = base64.urlsafe_b64encode(json.dumps({"c": commit.id, "o": offset + page_size}).encode()).decode().rstrip("=")
            params = [(k, v) for k, v in urllib.parse.parse_qsl(self.raw_query, keep_blank_values=True) if k != "cursor"]
            params.append(("cursor", token))
            url = f"{self._base_url()}{self.raw_path}?{urllib.parse.urlencode(params)}"
            resp.header("Link", f'<{url}>; rel="next"')
        return resp

    def _paths_info(self, repo: Repo, rev: str) -> Response:
        commit, err = self._resolve_commit(repo, rev)
        if err:
            return err
        assert commit is not None
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                payload = json.loads(self.body or b"{}")
            except ValueError:
                return hub_error(400, None, "Invalid JSON body")
            paths = payload.get("paths", [])
            expand = payload.get("expand") in (True, "true", "1", 1)
        else:
            form = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            paths = form.get("paths", []) + form.get("paths[]", [])
            expand = truthy((form.get("expand") or [None])[0])
        if isinstance(paths, str):
            paths = [paths]
        out, seen = [], set()
        for p in paths:
            p = str(p).strip("/")
            if p in seen:
                continue
            seen.add(p)
            if p in commit.files or p in commit.dirs:  # missing paths are silently left out
                out.append(self._tree_entry(commit, p, expand))
        return json_response(200, out)

    def _refs(self, repo: Repo) -> Response:
        with self.server.hub.world.lock:
            body = {
                "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c} for n, c in sorted(repo.branches.items())],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c} for n, c in sorted(repo.tags.items())],
                "converts": [],
            }
            if truthy(self.q("include_prs")):
                body["pullRequests"] = [{"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}", "targetCommit": c}
                                        for n, c in sorted(repo.prs.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)]
            else:
                body["pullRequests"] = []
        return json_response(200, body)

    def _commits(self, repo: Repo, rev: str) -> Response:
        commit, err = self._resolve_commit(repo, rev)
        if err:
            return err
        out = []
        c = commit
        while c is not None:
            out.append({"id": c.id, "title": c.title, "message": "", "date": c.date,
                        "authors": [{"user": "fakehub"}]})
            c = c.parent
        return json_response(200, out)

    def _resolve(self, rtype: str, segs: list[str], prefix: str) -> Response:
        world = self.server.hub.world
        split = self._split_repo(segs, ("resolve", "raw"), world, rtype)
        if split is None or len(split[1]) < 3:
            return not_found_page()
        repo_id, rest = split
        kind, rev = rest[0], urllib.parse.unquote(rest[1])
        # The path is percent-decoded per segment: `%2F` never splits, `+` is not a space.
        path = "/".join(urllib.parse.unquote(s) for s in rest[2:])
        repo, err = self._lookup(rtype, repo_id, file_path=path, api=False)
        if err:
            return err
        assert repo is not None
        if repo.id != repo_id:
            return self._canonical_redirect(repo, prefix, rest)
        commit, err = self._resolve_commit(repo, rev)
        if err:
            return err
        assert commit is not None
        f = commit.files.get(path)
        if f is None:
            return hub_error(404, "EntryNotFound", "Entry not found", X_Repo_Commit=commit.id)
        if self.method not in ("GET", "HEAD"):
            return not_found_page()
        if kind == "raw":
            resp = file_response(f.git_blob(), self.headers.get("Range"))
            resp.header("ETag", f'"{f.oid}"').header("X-Repo-Commit", commit.id)
            resp.header("Content-Type", content_type_for(path))
            return resp
        if f.lfs:
            # LFS: an absolute, signed-looking redirect to another host (the CDN).  The blob
            # identity travels in X-Linked-Etag/X-Linked-Size; ETag here is the pointer's.
            loc = self.server.hub._cdn_url(repo, f)
            r = Response(302, [("Location", loc), ("Content-Type", "text/plain; charset=utf-8")],
                         f"Found. Redirecting to {loc}".encode())
            r.header("X-Repo-Commit", commit.id).header("X-Linked-Etag", f'"{f.sha256}"')
            r.header("X-Linked-Size", f.size).header("ETag", f'"{f.oid}"').header("Accept-Ranges", "bytes")
            r.header("Vary", "Origin, Accept")
            return r
        # Regular file: a relative 307 into /api/resolve-cache/, which carries no ETag and no
        # commit itself (clients must follow it to learn them).  The odd first query key is the
        # original resolve path, as the Hub sends it.
        orig = f"/{repo.url_prefix}{repo.id}/resolve/{rev}/{path}"
        loc = (f"/api/resolve-cache/{repo.api_segment}/{repo.id}/{commit.id}/"
               f"{urllib.parse.quote(path)}?{urllib.parse.quote(orig, safe='')}=&etag=%22{f.oid}%22")
        return Response(307, [("Location", loc), ("Content-Type", "text/plain; charset=utf-8"),
                              ("Vary", "Origin, Accept")],
                        f"Temporary Redirect. Redirecting to {loc}".encode())

    def _resolve_cache(self, segs: list[str]) -> Response:
        if not segs or segs[0] not in SEGMENT_TO_TYPE:
            return not_found_page()
        rtype = SEGMENT_TO_TYPE[segs[0]]
        segs = segs[1:]
        world = self.server.hub.world
        n = next((i for i in (1, 2) if len(segs) > i and HEX40.match(segs[i])
                  and world.find(rtype, "/".join(segs[:i]))[0] is not None), None)
        if n is None:
            n = 2 if len(segs) > 2 and HEX40.match(segs[2]) else 1
        repo_id = "/".join(urllib.parse.unquote(s) for s in segs[:n])
        if len(segs) < n + 2:
            return not_found_page()
        cid = segs[n]
        path = "/".join(urllib.parse.unquote(s) for s in segs[n + 1:])
        repo, err = self._lookup(rtype, repo_id, file_path=path, api=False)
        if err:
            return err
        assert repo is not None
        commit = repo.commits_by_id.get(cid)
        if commit is None:
            return hub_error(404, "RevisionNotFound", f"Invalid rev id: {cid}")
        f = commit.files.get(path)
        if f is None:
            return hub_error(404, "EntryNotFound", "Entry not found", X_Repo_Commit=commit.id)
        resp = file_response(f.blob.content, self.headers.get("Range"))
        resp.header("ETag", f'"{f.etag}"').header("X-Repo-Commit", commit.id)
        if resp.status != 416:
            resp.header("Content-Type", content_type_for(path)).header("Content-Disposition", content_disposition(path))
            resp.header("Cache-Control", "public, max-age=31536000, immutable")
        return resp

    # -- CDN route ----------------------------------------------------------------------------

    def _route_cdn(self) -> Response:
        hub = self.server.hub
        m = re.fullmatch(r"/repos/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}/([0-9a-f]{64})", self.raw_path)
        if not m or self.method not in ("GET", "HEAD"):
            return Response(403, [("Content-Type", "application/xml")],
                            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
                            b"<Message>Access Denied</Message></Error>")
        sha = m.group(1)
        expires = self.q("Expires") or ""
        if not hub._cdn_signature_ok(sha, expires, self.q("Signature") or ""):
            return Response(403, [("Content-Type", "text/plain")],
                            b"Invalid or expired signature (CloudFront: Access denied)")
        blob = hub.world.blobs_by_sha256.get(sha)
        if blob is None:
            return Response(404, [("Content-Type", "application/xml")],
                            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code></Error>")
        resp = file_response(blob.content, self.headers.get("Range"))
        # The CDN's ETag is its own (Xet-like) hash, deliberately NOT the sha256.
        resp.header("ETag", f'"{hashlib.sha256(b"xet:" + sha.encode()).hexdigest()}"')
        if resp.status != 416:
            resp.header("Content-Type", self.q("response-content-type") or "application/octet-stream")
            disp = self.q("response-content-disposition")
            if disp:
                resp.header("Content-Disposition", disp)
            resp.header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
            resp.header("Cache-Control", "public, max-age=604800, immutable, s-maxage=604800")
        return resp


# ---------------------------------------------------------------------------------------------
# The hub
# ---------------------------------------------------------------------------------------------


class FakeHub:
    """Two listeners (Hub + CDN) over a World.  Usable in-process or via the CLI below."""

    def __init__(self, world: Any, data_dir: Optional[str] = None, port: int = 0, cdn_port: int = 0,
                 page_size: Optional[int] = None, verbose: bool = False, host: str = "127.0.0.1",
                 cdn_base: Optional[str] = None):
        self.world = world if isinstance(world, World) else World.load(world, data_dir)
        self.host = host
        self.port = port
        self.cdn_port = cdn_port
        # LFS redirects point here instead of the built-in CDN listener (bench/: nginx serving
        # the same /repos/.../<sha256> paths from disk). Query parameters stay the same.
        self.cdn_base = cdn_base.rstrip("/") if cdn_base else None
        self.page_size = page_size  # overrides world and repo page sizes when set
        self.verbose = verbose
        self._secret = secrets.token_bytes(16)
        self._log_lock = threading.Lock()
        self._log: list[dict] = []
        self._faults: list[FaultRule] = []
        self._stop = threading.Event()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._t0 = time.time()
        self._rate_counts: dict[str, int] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "FakeHub":
        self._stop.clear()
        hub_srv = _Server((self.host, self.port), self, "hub")
        cdn_srv = _Server((self.host, self.cdn_port), self, "cdn")
        self._servers = [hub_srv, cdn_srv]
        self.port = hub_srv.server_address[1]
        self.cdn_port = cdn_srv.server_address[1]
        for srv in self._servers:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                 name=f"fakehub-{srv.listener}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes stalled/slow responses
        for srv in self._servers:
            srv.shutdown()
            with srv.conn_lock:
                conns = list(srv.connections)
            for c in conns:  # close kept-alive connections so no handler thread lingers
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://{self.host}:{self.cdn_port}"

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    # -- test helpers (in-process) ------------------------------------------------------------

    def requests(self) -> dict:
        """Counters and log of the requests served (control calls excluded)."""
        with self._log_lock:
            log = [dict(r) for r in self._log]
        listeners = {name: {"total": 0, "with_auth": 0} for name in ("hub", "cdn")}
        counts: dict[str, int] = {}
        for r in log:
            listeners[r["listener"]]["total"] += 1
            listeners[r["listener"]]["with_auth"] += int(r["auth"])
            key = f"{r['method']} {r['path']}"
            counts[key] = counts.get(key, 0) + 1
        return {"total": len(log), "listeners": listeners, "counts": counts, "requests": log}

    def reset_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def move_ref(self, repo: str, ref: str, commit: Optional[str], kind: str = "branch", type: str = "model") -> Optional[str]:
        return self.world.move_ref(repo, ref, commit, kind, type)

    def set_faults(self, rules: list[dict]) -> None:
        parsed = [FaultRule.from_json(r) for r in rules]
        with self._log_lock:
            self._faults = parsed

    def add_fault(self, rule: dict) -> None:
        parsed = FaultRule.from_json(rule)
        with self._log_lock:
            self._faults.append(parsed)

    def clear_faults(self) -> None:
        self.set_faults([])

    def faults(self) -> list[dict]:
        with self._log_lock:
            return [r.to_json() for r in self._faults]

    def repo(self, repo_id: str, type: str = "model") -> Repo:
        return self.world.get(repo_id, type)

    def commit_id(self, repo_id: str, rev: str, type: str = "model") -> str:
        """A world commit name, branch, tag or refs/pr/N -> its 40-hex id."""
        repo = self.repo(repo_id, type)
        if rev in repo.commits:
            return repo.commits[rev].id
        with self.world.lock:
            c = repo.resolve(rev)
        if c is None:
            raise KeyError(f"{repo_id}: unknown revision {rev}")
        return c.id

    def file(self, repo_id: str, path: str, rev: str = "main", type: str = "model") -> FileEntry:
        repo = self.repo(repo_id, type)
        return repo.commits_by_id[self.commit_id(repo_id, rev, type)].files[path]

    def resolve_url(self, repo_id: str, path: str, rev: str = "main", type: str = "model") -> str:
        prefix = "" if type == "model" else f"{REPO_TYPES[type]}/"
        return (f"{self.endpoint}/{prefix}{repo_id}/resolve/{urllib.parse.quote(rev, safe='')}/"
                f"{urllib.parse.quote(path)}")

    def describe(self) -> dict:
        with self.world.lock:
            return {"endpoint": self.endpoint, "cdn_endpoint": self.cdn_endpoint,
                    "repos": [r.describe() for r in self.world.repos.values()]}

    # -- internals used by the handler --------------------------------------------------------

    def _record(self, listener: str, method: str, path: str, query: str, headers: Any) -> dict:
        rec = {"listener": listener, "method": method, "path": path, "query": query,
               "auth": headers.get("Authorization") is not None, "range": headers.get("Range"),
               "accept_encoding": headers.get("Accept-Encoding"),
               "status": None, "bytes": 0, "faults": [], "time": time.time()}
        with self._log_lock:
            rec["seq"] = len(self._log) + 1
            self._log.append(rec)
        return rec

    def _take_faults(self, listener: str, method: str, url: str) -> list[FaultRule]:
        fired = []
        with self._log_lock:
            for r in self._faults:
                if r.matches(listener, method, url):
                    if r.times > 0:
                        r.times -= 1
                    r.fired += 1
                    fired.append(r)
            self._faults = [r for r in self._faults if r.times != 0]
        return fired

    def _request_id(self) -> str:
        return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"

    def _ratelimit_headers(self, path: str, exhausted: Optional[float]) -> list[tuple[str, str]]:
        """IETF draft-09 headers like the Hub's, on every answer, per bucket and 5-minute window."""
        if "/resolve/" in path or path.startswith("/api/resolve-cache/"):
            bucket = "resolvers"
        elif path.startswith("/api/"):
            bucket = "api"
        else:
            bucket = "pages"
        now = time.time()
        window = int((now - self._t0) // RATE_WINDOW)
        reset = int(RATE_WINDOW - (now - self._t0) % RATE_WINDOW)
        with self._log_lock:
            key = f"{bucket}:{window}"
            self._rate_counts[key] = self._rate_counts.get(key, 0) + 1
            used = self._rate_counts[key]
        quota = RATE_QUOTAS[bucket]
        remaining, t = (0, int(exhausted)) if exhausted is not None else (max(0, quota - used), reset)
        return [("RateLimit", f'"{bucket}";r={remaining};t={t}'),
                ("RateLimit-Policy", f'"fixed window";"{bucket}";q={quota};w={RATE_WINDOW}')]

    def _cdn_sign(self, sha: str, expires: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._secret, f"{sha}:{expires}".encode(), "sha256").digest()).decode().rstrip("=")

    def _cdn_signature_ok(self, sha: str, expires: str, signature: str) -> bool:
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._cdn_sign(sha, expires), signature)

    def _cdn_url(self, repo: Repo, f: FileEntry) -> str:
        """A signed-looking CloudFront-style URL, valid for an hour."""
        expires = str(int(time.time()) + 3600)
        rh = hashlib.sha256(f"{repo.type}/{repo.id}".encode()).hexdigest()
        name = f.path.rsplit("/", 1)[-1]
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
        disp = f"attachment; filename*=UTF-8''{urllib.parse.quote(name, safe='')}; filename=\"{ascii_name}\";"
        policy = base64.b64encode(json.dumps({"Statement": [{"Condition": {"DateLessThan": {"AWS:EpochTime": int(expires)}}}]}).encode()).decode()
        q = urllib.parse.urlencode([("response-content-disposition", disp),
                                    ("response-content-type", "application/octet-stream"),
                                    ("Expires", expires), ("Policy", policy),
                                    ("Signature", self._cdn_sign(f.sha256, expires)),
                                    ("Key-Pair-Id", "KFAKEHUB0000000")])
        return f"{self.cdn_base or self.cdn_endpoint}/repos/{rh[:2]}/{rh[2:4]}/{rh}/{f.sha256}?{q}"

    def _control(self, method: str, path: str, body: bytes) -> Response:
        payload = json.loads(body) if body.strip() else None
        if path == "/_fake/requests" and method == "GET":
            return json_response(200, self.requests())
        if path == "/_fake/reset" and method == "POST":
            self.reset_requests()
            return json_response(200, {"ok": True})
        if path == "/_fake/refs" and method == "POST":
            p = payload or {}
            cid = self.move_ref(p["repo"], p["ref"], p.get("commit"), p.get("kind", "branch"), p.get("type", "model"))
            return json_response(200, {"ok": True, "ref": p["ref"], "commit": cid})
        if path == "/_fake/faults":
            if method == "GET":
                return json_response(200, self.faults())
            if method == "DELETE":
                self.clear_faults()
                return json_response(200, {"ok": True})
            if method == "POST":
                if isinstance(payload, list):
                    self.set_faults(payload)
                elif isinstance(payload, dict):
                    self.add_fault(payload)
                else:
                    raise ValueError("body must be a fault rule or a list of rules")
                return json_response(200, self.faults())
        if path == "/_fake/world" and method == "GET":
            return json_response(200, self.describe())
        if path == "/_fake/health" and method == "GET":
            return json_response(200, {"ok": True, "endpoint": self.endpoint, "cdn_endpoint": self.cdn_endpoint})
        return json_response(404, {"error": f"unknown control call {method} {path}"})


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Fake Hugging Face Hub (Hub + CDN listeners on 127.0.0.1).")
    ap.add_argument("--world", required=True, help="world JSON file")
    ap.add_argument("--port", type=int, default=0, help="Hub port (0: ephemeral)")
    ap.add_argument("--cdn-port", type=int, default=0, help="CDN port (0: ephemeral)")
    ap.add_argument("--port-file", help="write the Hub endpoint URL here once listening")
    ap.add_argument("--data-dir", help="where generated large files are kept (default: $TMPDIR/hfmodels-fakehub-data)")
    ap.add_argument("--page-size", type=int, help="tree page size for every repo (default: world/1000)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("--cdn-base", help="redirect LFS downloads to this base URL instead of the built-in CDN "
                    "(an external server that serves /repos/<h>/<h>/<repo hash>/<sha256>; bench/ uses nginx)")
    args = ap.parse_args(argv)

    hub = FakeHub(args.world, data_dir=args.data_dir, port=args.port, cdn_port=args.cdn_port,
                  page_size=args.page_size, verbose=args.verbose, cdn_base=args.cdn_base)
    hub.start()
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.port_file:
        tmp = f"{args.port_file}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(hub.endpoint + "\n")
        os.replace(tmp, args.port_file)  # readers never see a half-written file
    print(f"fakehub: hub {hub.endpoint} cdn {hub.cdn_endpoint}", flush=True)
    while not done.wait(0.5):
        pass
    hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
