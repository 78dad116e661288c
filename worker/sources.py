"""Catalog sources: stream (id, path-or-URL) items from a directory tree or a
manifest (CSV, JSONL, Parquet), validating each against the allowed roots.

Everything is a generator: a million-item catalog is never held in memory.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from models.errors import CatalogError

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")


class SubmitError(CatalogError):
    """The catalog cannot be submitted as given (path outside roots, bad URL...)."""


@dataclass(frozen=True)
class Item:
    id: str
    path: str  # a resolved local path or an http(s) URL


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def forbidden_address(ip: str) -> bool:
    a = ipaddress.ip_address(ip)
    return bool(
        a.is_private
        or a.is_loopback
        or a.is_link_local
        or a.is_multicast
        or a.is_reserved
        or a.is_unspecified
    )


def internal_address(host: str, port: int | None = None) -> str | None:
    """The first private/loopback/link-local address `host` resolves to, if any.
    Raises `socket.gaierror` when it does not resolve."""
    for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
        if forbidden_address(str(info[4][0])):
            return str(info[4][0])
    return None


def check_url(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and hosts that resolve to internal addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubmitError(f"unsupported URL {url!r}: only http(s) with a host")
    if allow_private:
        return
    try:
        bad = internal_address(parts.hostname, parts.port or 80)
    except socket.gaierror:
        return  # unresolvable now: fetching will fail and yield an error row
    if bad:
        raise SubmitError(
            f"URL {url!r} resolves to {bad}, a private/loopback/link-local "
            "address (set CATALOG_ALLOW_PRIVATE_URLS=1 to allow)"
        )


class PathGuard:
    """Resolve local paths (symlinks included) and require them under a root.

    Parent directories are resolved once and cached, so checking a million
    paths costs one `lstat` each, not one per path component.
    """

    def __init__(self, roots: list[Path], allow_private_urls: bool) -> None:
        self.roots = [Path(os.path.realpath(r)) for r in roots]
        self.allow_private_urls = allow_private_urls
        self._dirs: dict[str, str] = {}
        self._hosts: set[str] = set()

    def _under_roots(self, real: str) -> bool:
        return any(real == str(r) or real.startswith(str(r).rstrip("/") + "/") for r in self.roots)

    def check(self, raw: str, base: Path) -> str:
        if is_url(raw):
            host = urlsplit(raw).hostname or ""
            if host not in self._hosts:
                check_url(raw, self.allow_private_urls)
                self._hosts.add(host)
            return raw
        p = raw if os.path.isabs(raw) else os.path.join(base, raw)
        parent, name = os.path.split(os.path.normpath(p))
        real_parent = self._dirs.get(parent)
        if real_parent is None:
            real_parent = self._dirs[parent] = os.path.realpath(parent)
        real = os.path.join(real_parent, name)
        if os.path.islink(real):
            real = os.path.realpath(real)
        if not self._under_roots(real):
            roots = ":".join(str(r) for r in self.roots)
            raise SubmitError(
                f"path {raw!r} resolves to {real}, outside the allowed roots ({roots}); "
                "set CATALOG_ALLOWED_ROOTS to allow it"
            )
        return real


def default_roots(catalog: Path, configured: str) -> list[Path]:
    if configured:
        return [Path(r) for r in configured.split(":") if r]
    folder = catalog if catalog.is_dir() else catalog.parent
    return [Path.cwd(), folder]


# In a folder catalog, a file is an item if its name says image or its first
# bytes do; anything else (LICENSE, README.md, .DS_Store...) is skipped and
# counted, never silently. A text file *named* .jpg is an item: it becomes an
# error row. Manifests list items explicitly: every row is one.
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".dib", ".tif",
        ".tiff", ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".jp2", ".j2k", ".tga", ".heic",
        ".heif", ".avif", ".psd",
    }
)  # fmt: skip
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00")


def looks_like_image(path: str, name: str) -> bool:
    if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return True  # unreadable: let the worker report it as an error row
    return (
        head.startswith(_MAGIC)
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or (head[4:8] == b"ftyp")
    )


@dataclass
class Skipped:
    """Files a folder walk left out as not images (count + a few examples)."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, rel: str) -> None:
        self.count += 1
        if len(self.examples) < 5:
            self.examples.append(rel)


def iter_items(catalog: Path, guard: PathGuard, skipped: Skipped | None = None) -> Iterator[Item]:
    """Items of a directory tree (id = relative path) or of a manifest."""
    catalog = Path(os.path.abspath(catalog))
    if catalog.is_dir():
        yield from _walk(catalog, guard, skipped if skipped is not None else Skipped())
    elif catalog.suffix.lower() in MANIFEST_SUFFIXES:
        yield from _manifest(catalog, guard)
    elif catalog.exists():
        raise SubmitError(
            f"{catalog} is neither a folder nor a manifest ({', '.join(MANIFEST_SUFFIXES)})"
        )
    else:
        raise SubmitError(f"{catalog} does not exist")


def _walk(root: Path, guard: PathGuard, skipped: Skipped) -> Iterator[Item]:
    """Depth-first, entries sorted by name within each directory (so the order
    is stable, like `find | sort`); one listing per open directory level is
    held, never the whole tree."""

    def listing(d: str) -> Iterator[os.DirEntry[str]]:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        return iter(entries)

    stack = [listing(str(root))]
    while stack:
        e = next(stack[-1], None)
        if e is None:
            stack.pop()
            continue
        if e.name.startswith("."):
            continue
        if e.is_dir(follow_symlinks=False):
            stack.append(listing(e.path))
        elif e.is_file() or e.is_symlink():
            rel = os.path.relpath(e.path, root)
            if looks_like_image(e.path, e.name):
                yield Item(rel, guard.check(e.path, root))
            else:
                skipped.add(rel)


def _rows(manifest: Path) -> Iterator[dict[str, object]]:
    suffix = manifest.suffix.lower()
    if suffix == ".csv":
        with manifest.open(newline="") as f:
            yield from csv.DictReader(f)
    elif suffix in (".jsonl", ".ndjson"):
        with manifest.open() as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise SubmitError(f"{manifest}:{n}: not JSON ({e.msg})") from None
    else:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(manifest)
        for batch in pf.iter_batches(batch_size=10_000, columns=["id", "path"]):
            yield from batch.to_pylist()


def _manifest(manifest: Path, guard: PathGuard) -> Iterator[Item]:
    base = manifest.parent
    for n, row in enumerate(_rows(manifest), 1):
        if "path" not in row or row["path"] in (None, ""):
            raise SubmitError(f"{manifest}: row {n} has no 'path' (columns: id, path)")
        raw = str(row["path"])
        item_id = str(row.get("id") or raw)
        yield Item(item_id, guard.check(raw, base))
