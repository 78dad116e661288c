"""The model store: `<root>/<name>/<version>/` immutable version folders and a
`champion` pointer per name, switched atomically.

Atomicity comes from the filesystem: a version is assembled in a temporary
folder and `rename`d into place (fails if the version exists, so versions are
never overwritten), and the champion pointer is a small file replaced with
`os.replace` (readers see the old or the new content, never neither).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.card import ModelCard
from models.errors import CatalogError

CHAMPION = "champion"
HISTORY = "decisions.jsonl"
SUMS = "SHA256SUMS"


class StoreError(CatalogError):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_sums(folder: Path) -> None:
    """`SHA256SUMS` in `sha256sum` format for every file in `folder`."""
    lines = [
        f"{sha256_file(p)}  {p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != SUMS
    ]
    (folder / SUMS).write_text("\n".join(lines) + "\n")


def verify_file(path: Path) -> None:
    """Check `path` against the `SHA256SUMS` beside it; raise if it differs."""
    sums = path.parent / SUMS
    if not sums.is_file():
        raise StoreError(f"no {SUMS} beside {path}: refusing an unverifiable model")
    expected = {}
    for line in sums.read_text().splitlines():
        digest, _, name = line.partition("  ")
        expected[name.strip()] = digest.strip()
    if path.name not in expected:
        raise StoreError(f"{path.name} is not listed in {sums}")
    actual = sha256_file(path)
    if actual != expected[path.name]:
        raise StoreError(
            f"checksum mismatch for {path}: expected {expected[path.name][:12]}..., "
            f"got {actual[:12]}... (file modified or corrupt; refusing to load)"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def validate_name(name: str) -> None:
    if not name or "/" in name or name.startswith(".") or ":" in name or name == CHAMPION:
        raise StoreError(f"invalid model name {name!r} (no '/', ':' or leading '.')")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    path: Path  # the version folder (or the folder of a bare .onnx file)
    file: Path | None = None  # set when the model is a bare .onnx path

    @property
    def onnx(self) -> Path:
        return self.file if self.file is not None else self.path / "model.onnx"

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    def card(self) -> ModelCard:
        return ModelCard.from_json((self.path / "card.json").read_text())


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # --- versions -------------------------------------------------------
    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def versions(self, name: str) -> list[str]:
        d = self.root / name
        if not d.is_dir():
            return []
        vs = [p.name for p in d.iterdir() if p.is_dir() and p.name.isdigit()]
        return sorted(vs, key=int)

    def next_version(self, name: str) -> str:
        existing = self.versions(name)
        return str(int(existing[-1]) + 1 if existing else 1)

    def add_version(self, name: str, version: str, files: dict[str, Path]) -> ModelRef:
        """Copy `files` (dest name -> source) into the new immutable `name/version`.

        Fails if that version exists (versions are never overwritten): callers
        take `next_version`, embed it in the card, then add.
        """
        validate_name(name)
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=base, prefix=".staging-"))
        try:
            for dest, src in files.items():
                shutil.copy2(src, staging / dest)
            write_sums(staging)
            try:
                os.rename(staging, base / version)  # atomic; fails if taken
            except OSError:
                raise StoreError(
                    f"version {name}:{version} already exists (a concurrent export?); "
                    "versions are immutable: export again to get the next one"
                ) from None
            return ModelRef(name, version, base / version)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def get(self, name: str, version: str) -> ModelRef:
        p = self.root / name / version
        if not (p / "card.json").is_file():
            known = ", ".join(self.versions(name)) or "none"
            raise StoreError(f"no model {name}:{version} in {self.root} (versions: {known})")
        return ModelRef(name, version, p)

    # --- champion -------------------------------------------------------
    def _pointer(self, name: str) -> dict[str, Any] | None:
        """The champion pointer: {"version": "3", "previous": ["2", "1"]}.

        One small file holds both the champion and the stack that rollback
        needs, so a single atomic replace switches both: a crash leaves the
        old pointer or the new one, never neither and never a mix.
        """
        ptr = self.root / name / CHAMPION
        if not ptr.is_file():
            return None
        data: dict[str, Any] = json.loads(ptr.read_text())
        return data

    def champion(self, name: str) -> ModelRef | None:
        data = self._pointer(name)
        return self.get(name, str(data["version"])) if data else None

    def _switch(self, name: str, version: str, previous: list[str]) -> None:
        self.get(name, version)  # must exist
        payload = {"version": version, "previous": previous[-20:], "at": _now()}
        _atomic_write(self.root / name / CHAMPION, json.dumps(payload) + "\n")

    def promote(
        self,
        name: str,
        version: str,
        reason: str = "operator",
        figures: dict[str, Any] | None = None,
    ) -> str | None:
        """Switch the champion to `version`, then log the decision. Returns the
        version it replaced. The pointer is the truth; the log is the audit."""
        ptr = self._pointer(name)
        before = str(ptr["version"]) if ptr else None
        stack = [*(ptr["previous"] if ptr else []), *([before] if before else [])]
        self._switch(name, version, stack)
        self.record(
            name,
            {
                "action": "promote",
                "from": before,
                "to": version,
                "reason": reason,
                "figures": figures or {},
            },
        )
        return before

    def rollback(self, name: str) -> tuple[str, str]:
        """Back to the champion before the current one. Returns (from, to)."""
        ptr = self._pointer(name)
        if ptr is None:
            raise StoreError(f"{name} has no champion to roll back from")
        current, stack = str(ptr["version"]), list(ptr["previous"])
        if not stack:
            raise StoreError(f"{name}:{current} has no earlier champion to roll back to")
        previous = stack.pop()
        self._switch(name, previous, stack)
        self.record(
            name,
            {"action": "rollback", "from": current, "to": previous, "reason": "operator rollback"},
        )
        return current, previous

    def record(self, name: str, event: dict[str, Any]) -> None:
        """Append a decision (promotion, refusal, rollback) to the name's log."""
        event = {"at": _now(), **event}
        with (self.root / name / HISTORY).open("a") as f:
            f.write(json.dumps(event) + "\n")

    def history(self, name: str) -> list[dict[str, Any]]:
        p = self.root / name / HISTORY
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    # --- resolution -----------------------------------------------------
    def resolve(self, spec: str) -> ModelRef:
        """`NAME` (its champion), `NAME:VERSION`, or a path to an .onnx file."""
        p = Path(spec)
        if spec.endswith(".onnx") or p.is_file():
            if not p.is_file():
                raise StoreError(f"model file {spec} does not exist")
            return ModelRef(p.stem, "file", p.parent.resolve(), p.resolve())
        name, _, version = spec.partition(":")
        if version:
            return self.get(name, version)
        champ = self.champion(name)
        if champ is None:
            versions = self.versions(name)
            if not versions:
                known = ", ".join(self.names()) or "none"
                raise StoreError(f"unknown model {name!r} in {self.root} (models: {known})")
            raise StoreError(
                f"model {name!r} has no champion yet; "
                f"promote one: catalog models promote {name}:{versions[-1]}"
            )
        return champ
